// The command-line contract every peer shares:
//   <peer> <workload> [--n N] [--loops L] [--tasks T] [--workers W] [--serial-ms S] [--quick] [--json]
// and one output line {peer, workload, figure, unit, detail}. Keeping it in one place means the
// harness can treat serial, piscina, ours and (in Python) ppe/dask as interchangeable processes.
import { SIZES } from "./workloads.mjs";

/** Flags that take no value. */
const BOOLEAN = new Set(["json", "quick"]);

export function parseArgs(argv) {
  const [workload, ...rest] = argv;
  if (!workload || workload.startsWith("--")) throw new Error("usage: <workload> [--n N] [--loops L] [--json] ...");
  const flags = {};
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    if (!a.startsWith("--")) throw new Error(`unexpected argument ${a}`);
    const key = a.slice(2).replace(/-([a-z])/g, (_, c) => c.toUpperCase());
    if (BOOLEAN.has(key)) flags[key] = true;
    else {
      const v = rest[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      flags[key] = /^-?\d+(\.\d+)?$/.test(v) ? Number(v) : v;
    }
  }
  const base = SIZES[flags.quick ? "quick" : "full"][workload.replace(/-child$/, "")] ?? {};
  const params = { workers: 2, ...base, ...flags };
  return { workload, params };
}

/** Prints the result line. Without --json a human-readable line, for running a peer by hand. */
export function emit(peer, workload, params, result) {
  const line = { peer, workload, figure: result.figure, unit: result.unit, detail: result.detail ?? {} };
  if (params.json) process.stdout.write(JSON.stringify(line) + "\n");
  else {
    const fig = line.figure === null ? "n/a" : line.figure;
    process.stdout.write(`${peer} ${workload}: ${fig} ${line.unit}  ${JSON.stringify(line.detail)}\n`);
  }
}

export function notApplicable(reason) {
  return { figure: null, unit: "", detail: { na: reason } };
}

/**
 * Runs a peer's main: parse, run, print, and exit explicitly so a stray handle in a pool library
 * cannot keep the process (and so the harness) waiting.
 */
export async function runPeer(peer, run) {
  let parsed;
  try {
    parsed = parseArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`${peer}: ${e.message}\n`);
    process.exit(2);
  }
  const { workload, params } = parsed;
  try {
    const result = await run(workload, params);
    if (result !== undefined) emit(peer, workload, params, result);
    process.exit(0);
  } catch (e) {
    process.stderr.write(`${peer} ${workload}: ${e?.stack ?? e}\n`);
    process.exit(1);
  }
}

/**
 * W6 helper: wall seconds from spawn to exit of a fresh process. Measured from the outside because
 * start-up cost (runtime boot, module loading, worker spawn) is exactly what W6 is about.
 */
export async function timeProcess(cmd, args) {
  const { spawn } = await import("node:child_process");
  const t0 = performance.now();
  const code = await new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ["ignore", "ignore", "inherit"] });
    p.on("error", reject);
    p.on("exit", (c) => resolve(c));
  });
  const s = (performance.now() - t0) / 1000;
  if (code !== 0) throw new Error(`${cmd} ${args.join(" ")} exited with ${code}`);
  return s;
}
