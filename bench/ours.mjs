// Runner for our own pool: the "ours" column of `npm run bench`. Each call runs one workload as an
// ordinary scoop program (bench/workloads/job.ts) on a pool of `workers` workers started with the
// `scoop` launcher, exactly as a user would, and returns the figure that program measured.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const launcher = `${root}dist/cli/scoop.js`;

function run(args) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.setEncoding("utf8").on("data", (d) => (out += d));
    child.stderr.setEncoding("utf8").on("data", (d) => (err += d));
    child.on("exit", (code) => (code === 0 ? resolve(out) : reject(new Error(`scoop exited ${code}: ${err.trim().slice(-2000)}`))));
  });
}

export async function runOurs(workload, params) {
  if (!existsSync(launcher)) throw new Error("not implemented: dist/cli/scoop.js is missing (npm run build)");
  const n = String(params.workers ?? 2);
  if (workload === "W6") {
    const t0 = performance.now();
    await run([launcher, "-n", n, `${root}bench/workloads/empty.ts`]);
    return { figure: (performance.now() - t0) / 1000, unit: "s" };
  }
  const out =
    workload === "W5p"
      ? await run([`${root}bench/workloads/transfer.mjs`, JSON.stringify({ workers: Number(n), ...params })])
      : await run([launcher, "-n", n, `${root}bench/workloads/job.ts`, workload, JSON.stringify(params)]);
  const line = out.trim().split("\n").pop();
  return JSON.parse(line);
}
