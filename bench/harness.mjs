#!/usr/bin/env node
// `npm run bench`: runs every workload on every peer, R times each, each run in a fresh child
// process (so no peer inherits a warm pool, JIT or page cache state from another), takes medians
// and prints one table comparing our pool with serial Node, Piscina, ProcessPoolExecutor and Dask.
//
//   node bench/harness.mjs [--only W1,W3] [--runs N] [--quick] [--workers N]
//                          [--peers ours,serial,piscina,ppe,dask] [--out FILE] [--strict]
//
// Peers are processes speaking one contract (see bench/lib/cli.mjs): `<peer> <workload> [--n N]
// [--loops L] [--json] ...` -> one JSON line {peer, workload, figure, unit, detail}.
import { machineBusy } from "./lib/machine.mjs";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { SIZES, W5_BURSTS, median } from "./lib/workloads.mjs";

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, "..");

/** What our pool has to reach on this 2-core machine (with --workers 2). */
export const TARGETS = {
  W1: { op: ">=", value: 5_000_000, unit: "items/s" },
  W1s: { op: ">=", value: 50_000, unit: "tasks/s" },
  "W1s@2k": { op: ">=", value: 50_000, unit: "tasks/s" },
  "W1s@200k": { op: ">=", value: 50_000, unit: "tasks/s" },
  W1l: { op: "<=", value: 150, unit: "µs" },
  W2: { op: ">=", value: 1.9, unit: "speedup" },
  W3: { op: ">=", value: 30_000, unit: "tasks/s" },
  W4: { op: "<=", value: 1.03, unit: "wall/ideal" },
  W5: { op: ">=", value: 1_500, unit: "MiB/s" },
  W6: { op: "<=", value: 0.6, unit: "s" },
};

const ALL_PEERS = ["ours", "serial", "piscina", "ppe", "dask"];

/**
 * Table rows. `peers` lists who can run the workload at all (others show "n/a" without spawning
 * anything); `n` overrides the size for the "holds its rate" rows; `serialRatio` says whether
 * ours-vs-serial is a meaningful comparison (serial W3 counts calls, not tasks; serial W6 is a
 * bare runtime, not a pool).
 */
const ROWS = [
  { id: "W1", workload: "W1", title: (s) => `map x+1 over ${fmtInt(s.W1.n)} ints`, better: "higher", peers: ALL_PEERS, serialRatio: true },
  { id: "W1s", workload: "W1s", title: (s) => `${fmtInt(s.W1s.n)} no-op submits, awaited together`, better: "higher", peers: ["ours", "piscina", "ppe", "dask"] },
  // The same at 10x fewer and 10x more tasks: does the rate hold as N grows (SCOOP's did not)?
  // Dask is left out: 200k submits at its ~600/s would take minutes.
  { id: "W1s@2k", workload: "W1s", title: (s, n) => `  same, ${fmtInt(n)} submits`, better: "higher", peers: ["ours", "piscina", "ppe"], n: { full: 2_000, quick: 100 } },
  { id: "W1s@200k", workload: "W1s", title: (s, n) => `  same, ${fmtInt(n)} submits`, better: "higher", peers: ["ours", "piscina", "ppe"], n: { full: 200_000, quick: 2_000 } },
  { id: "W1l", workload: "W1l", title: (s) => `${fmtInt(s.W1l.n)} sequential submit->result`, better: "lower", peers: ["ours", "piscina", "ppe", "dask"] },
  { id: "W2", workload: "W2", title: (s) => `${s.W2.tasks} CPU tasks of ~${s.W2.taskMs} ms`, better: "higher", peers: ALL_PEERS },
  { id: "W3", workload: "W3", title: (s) => `nested fib(${s.W3.n}) tasks`, better: "higher", peers: ["ours", "serial", "dask"] },
  { id: "W4", workload: "W4", title: (s) => `${s.W4.tasks} tasks of 1-40 ms busy CPU`, better: "lower", peers: ALL_PEERS },
  { id: "W5", workload: "W5", title: (s) => `${s.W5.tasks} x 1 MiB Float64Array -> sum`, better: "higher", peers: ALL_PEERS, serialRatio: true },
  // W5 lets the scheduler keep arrays on the submitter when shipping them costs more than the task;
  // this row shows the rate when every array has to cross (a submit-only client; Piscina copying).
  { id: "W5p", workload: "W5p", title: (s) => `  same from a Pool client: every array crosses`, better: "higher", peers: ["ours", "piscina"], unit: "MiB/s", naReason: "shown in W5" },
  { id: "W6", workload: "W6", title: () => "pool start-to-exit", better: "lower", peers: ALL_PEERS },
];

const NA_REASON = {
  serial: "no tasks",
  piscina: "no nested submit",
  ppe: "no nested submit",
  dask: "too slow at this N",
};

// ------------------------------------------------------------------------------------ options

function parseOptions(argv) {
  const o = { runs: 3, quick: false, workers: 2, only: null, peers: ALL_PEERS, out: null, strict: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === "--quick") o.quick = true;
    else if (a === "--runs") o.runs = Number(val());
    else if (a === "--workers") o.workers = Number(val());
    else if (a === "--only") o.only = val().split(",").map((s) => s.trim());
    else if (a === "--peers") o.peers = val().split(",").map((s) => s.trim());
    else if (a === "--out") o.out = val();
    // --strict: exit 1 if any peer failed or timed out (not for "—" or n/a), for the smoke test.
    else if (a === "--strict") o.strict = true;
    else if (a === "--help" || a === "-h") {
      console.log("usage: node bench/harness.mjs [--only W1,W3] [--runs N] [--quick] [--workers N] [--peers ours,serial,piscina,ppe,dask] [--out FILE] [--strict]");
      process.exit(0);
    } else throw new Error(`unknown option ${a}`);
  }
  if (o.quick && !argv.includes("--runs")) o.runs = 1;
  for (const p of o.peers) if (!ALL_PEERS.includes(p)) throw new Error(`unknown peer ${p} (known: ${ALL_PEERS.join(", ")})`);
  // "ours" is always shown: it is what the table is for, and a placeholder costs nothing.
  if (!o.peers.includes("ours")) o.peers = ["ours", ...o.peers];
  if (!(o.runs >= 1)) throw new Error("--runs must be >= 1");
  return o;
}

// ------------------------------------------------------------------------------------ peers

function pythonHas(py, modules) {
  if (!existsSync(py) && !py.match(/^[a-z0-9.]+$/)) return false;
  const r = spawnSync(py, ["-c", `import ${modules}`], { stdio: "ignore", timeout: 30_000 });
  return r.status === 0;
}

/**
 * Which interpreter runs each Python peer. Dask must come from Debian's python3 (that is where
 * scripts/install-bench-deps.sh puts it); a pyenv python3 earlier on PATH usually lacks it.
 * ProcessPoolExecutor is stdlib, so any python3 does, preferably one with numpy for W5.
 */
function findPythons() {
  const notes = [];
  const debian = "/usr/bin/python3";
  let dask = null;
  if (pythonHas(debian, "distributed, numpy")) dask = debian;
  else notes.push(`dask skipped: ${debian} cannot import distributed (run scripts/install-bench-deps.sh)`);
  let ppe = null;
  for (const py of [debian, "python3"]) {
    if (pythonHas(py, "numpy")) {
      ppe = py;
      break;
    }
  }
  if (!ppe) {
    for (const py of [debian, "python3"]) if (pythonHas(py, "concurrent.futures")) ppe = py;
    if (ppe) notes.push(`ppe: ${ppe} has no numpy, W5 will fail for it`);
    else notes.push("ppe skipped: no python3 found");
  }
  return { ppe, dask, notes };
}

function peerCommands(py) {
  const node = process.execPath;
  const peer = (f) => join(HERE, "peers", f);
  return {
    ours: [node, [peer("ours-peer.mjs")]],
    serial: [node, [peer("serial-peer.mjs")]],
    piscina: [node, [peer("piscina-peer.mjs")]],
    ppe: py.ppe && [py.ppe, [peer("python_peer.py"), "ppe"]],
    dask: py.dask && [py.dask, [peer("python_peer.py"), "dask"]],
    pyserial: (py.ppe ?? py.dask) && [py.ppe ?? py.dask, [peer("python_peer.py"), "serial"]],
  };
}

/**
 * One run of one peer in a fresh process. Resolves to {ok, figure, unit, detail} or
 * {ok: false, status: "—" | "err" | "timeout", error}.
 */
function runPeerOnce(cmd, workload, flags, timeoutMs) {
  const [exe, pre] = cmd;
  const args = [...pre, workload, "--json", ...flags];
  return new Promise((resolve) => {
    const child = spawn(exe, args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, PYTHONUNBUFFERED: "1" } });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      resolve({ ok: false, status: "timeout", error: `no result after ${timeoutMs / 1000} s` });
    }, timeoutMs);
    child.on("error", (e) => {
      clearTimeout(timer);
      resolve({ ok: false, status: "err", error: String(e) });
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      const line = out.split("\n").filter((l) => l.startsWith("{")).pop();
      if (code === 0 && line) {
        try {
          const r = JSON.parse(line);
          return resolve({ ok: true, figure: r.figure, unit: r.unit, detail: r.detail ?? {} });
        } catch {
          /* fall through to the error below */
        }
      }
      resolve({ ok: false, status: code === 3 ? "—" : "err", error: errorSummary(err) || `exit code ${code}` });
    });
  });
}

/** The line of a failed peer's stderr that says what went wrong: a Python traceback ends with it,
 * a Node stack starts with it. */
function errorSummary(stderr) {
  const lines = stderr.trim().split("\n").filter((l) => l.trim());
  if (lines.length === 0) return "";
  return (stderr.includes("Traceback (most recent call last)") ? lines[lines.length - 1] : lines[0]).trim();
}

/** R runs; the figure is the median of the runs' figures, the detail that of the median run. */
async function runPeer(cmd, workload, flags, o, label) {
  const runs = [];
  for (let r = 0; r < o.runs; r++) {
    const res = await runPeerOnce(cmd, workload, flags, o.quick ? 60_000 : 240_000);
    if (!res.ok) {
      process.stderr.write(`  ${label}: ${res.status} ${res.status === "—" ? "(not implemented)" : res.error}\n`);
      return { status: res.status, error: res.error, runs };
    }
    runs.push(res);
    if (res.figure === null) break; // n/a: asking again won't change the answer
  }
  if (runs[0].figure === null) return { status: "n/a", error: runs[0].detail.na, runs };
  const figures = runs.map((r) => r.figure);
  const med = median(figures);
  const mid = runs.reduce((best, r) => (Math.abs(r.figure - med) < Math.abs(best.figure - med) ? r : best));
  process.stderr.write(`  ${label}: ${fmtNum(med)} ${runs[0].unit}  [${figures.map(fmtNum).join(", ")}]\n`);
  return { status: "ok", figure: med, unit: runs[0].unit, figures, detail: mid.detail };
}

const BUSY_WARN = 0.15;

// ------------------------------------------------------------------------------------ formatting

function fmtNum(x) {
  if (x === null || x === undefined || Number.isNaN(x)) return "—";
  const a = Math.abs(x);
  if (a >= 1e6) return `${(x / 1e6).toFixed(a >= 1e8 ? 0 : 2)}M`;
  if (a >= 1e4) return `${(x / 1e3).toFixed(1)}k`;
  if (a >= 100) return x.toFixed(0);
  if (a >= 10) return x.toFixed(1);
  return x.toFixed(a >= 1 ? 2 : 3);
}

function fmtInt(n) {
  return n.toLocaleString("en-US");
}

function fmtTarget(t) {
  return `${t.op === ">=" ? "≥" : "≤"} ${fmtNum(t.value)}`;
}

/** >1 means ours is better, whatever the direction of the figure. */
function ratio(row, ours, peer) {
  if (!(ours > 0) || !(peer > 0)) return null;
  return row.better === "higher" ? ours / peer : peer / ours;
}

function meets(t, v) {
  return t.op === ">=" ? v >= t.value : v <= t.value;
}

function renderTable(headers, rows) {
  const w = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) => "| " + cells.map((c, i) => (i < 2 ? String(c).padEnd(w[i]) : String(c).padStart(w[i]))).join(" | ") + " |";
  return [line(headers), "|" + w.map((x, i) => (i < 2 ? "-" : "-").repeat(x + 2)).join("|") + "|", ...rows.map(line)].join("\n");
}

/** The detail fields worth a footnote: whatever makes a peer's figure not like-for-like. */
function noteFor(row, cell, size) {
  const d = cell.detail ?? {};
  const parts = [];
  if (d.note !== undefined && row.workload !== "W2") parts.push(d.note);
  const standardN = row.n?.[size] ?? SIZES[size][row.workload].n;
  if (d.n !== undefined && d.n !== standardN) parts.push(`n=${fmtInt(d.n)}`);
  if (d.bestChunk !== undefined) parts.push(`best chunk ${fmtInt(d.bestChunk)}`);
  if (row.workload === "W2" && d.wall_s !== undefined) parts.push(`wall ${d.wall_s.toFixed(2)} s`);
  if (d.mode !== undefined) parts.push(d.mode);
  if (d.copyMiBps !== undefined) parts.push(`(copy instead: ${fmtNum(d.copyMiBps)} MiB/s)`);
  if (d.emptyWith_s !== undefined) parts.push(`(empty with-block, which starts no process: ${d.emptyWith_s.toFixed(3)} s)`);
  if (d.withWarmUp_s !== undefined) parts.push(`(waiting for a task on every thread: ${d.withWarmUp_s.toFixed(3)} s)`);
  return parts.length ? parts.join(" ") : null;
}

// ------------------------------------------------------------------------------------ main

async function main() {
  const o = parseOptions(process.argv.slice(2));
  const t0 = performance.now();
  const size = o.quick ? "quick" : "full";
  const py = findPythons();
  const cmds = peerCommands(py);
  const notes = [...py.notes];
  const peers = o.peers.filter((p) => cmds[p]);
  const rows = ROWS.filter((r) => !o.only || o.only.includes(r.id) || o.only.includes(r.workload));
  if (rows.length === 0) throw new Error(`--only matched no workload (known: ${ROWS.map((r) => r.id).join(", ")})`);
  const common = ["--workers", String(o.workers), ...(o.quick ? ["--quick"] : [])];
  process.stderr.write(`bench: ${size} sizes, ${o.runs} run(s) each, ${o.workers} workers, peers ${peers.join(",")}\n`);
  // Only 2 cores: anything else running skews every figure. Say so rather than print quiet lies.
  const busy = { start: await machineBusy(500), beforeRows: {} };

  // W2 needs, before any pool runs it: one JS loop count for every JS peer, its serial time, and
  // the same for Python (whose loop is calibrated separately: CPython is far slower than V8).
  const calibration = {};
  const w2Flags = {};
  if (rows.some((r) => r.workload === "W2")) {
    const taskMs = SIZES[size].W2.taskMs;
    const cal = await runPeerOnce(cmds.serial, "calibrate", ["--task-ms", String(taskMs)], 60_000);
    if (!cal.ok) throw new Error(`W2 calibration failed: ${cal.error}`);
    calibration.jsLoops = cal.figure;
    process.stderr.write(`W2 calibration: ${cal.figure} loops ≈ ${taskMs} ms in Node\n`);
    const ser = await runPeer(cmds.serial, "W2", [...common, "--loops", String(calibration.jsLoops)], o, "serial W2");
    if (ser.status !== "ok") throw new Error(`serial W2 failed: ${ser.error}`);
    calibration.jsSerialMs = ser.figure * 1000;
    calibration.jsSerialRun = ser;
    w2Flags.js = ["--loops", String(calibration.jsLoops), "--serial-ms", calibration.jsSerialMs.toFixed(1)];
    w2Flags.py = [...w2Flags.js.slice(0, 2)];
    if ((peers.includes("ppe") || peers.includes("dask")) && cmds.pyserial) {
      const pcal = await runPeerOnce(cmds.pyserial, "calibrate", ["--task-ms", String(taskMs)], 60_000);
      if (pcal.ok) {
        calibration.pyLoops = pcal.figure;
        process.stderr.write(`W2 calibration: ${pcal.figure} loops ≈ ${taskMs} ms in Python\n`);
        const pser = await runPeer(cmds.pyserial, "W2", [...common, "--py-loops", String(pcal.figure)], o, "python serial W2");
        if (pser.status === "ok") {
          calibration.pySerialMs = pser.figure * 1000;
          w2Flags.py.push("--py-loops", String(pcal.figure), "--serial-ms", calibration.pySerialMs.toFixed(1));
        }
      }
    }
  }

  const results = [];
  for (const row of rows) {
    const label = `${row.id} ${row.title(SIZES[size], row.n?.[size])}`;
    busy.beforeRows[row.id] = await machineBusy(200);
    process.stderr.write(`${label}\n`);
    const cells = {};
    for (const peer of peers) {
      if (!row.peers.includes(peer)) {
        cells[peer] = { status: "n/a", error: row.naReason ?? NA_REASON[peer] };
        continue;
      }
      if (row.workload === "W2" && peer === "serial") {
        cells.serial = calibration.jsSerialRun; // already measured, figure in seconds
        continue;
      }
      const flags = [...common];
      if (row.n) flags.push("--n", String(row.n[size]));
      if (row.workload === "W2") flags.push(...(peer === "ppe" || peer === "dask" ? w2Flags.py : w2Flags.js));
      const cell = await runPeer(cmds[peer], row.workload, flags, o, `${row.id} ${peer}`);
      // A W2 runner may report its wall time instead of a speedup: convert with the serial time.
      if (cell.status === "ok" && row.workload === "W2" && cell.unit === "s" && calibration.jsSerialMs) {
        cell.detail = { ...cell.detail, wall_s: cell.figure, serial_s: calibration.jsSerialMs / 1000 };
        cell.figure = calibration.jsSerialMs / 1000 / cell.figure;
        cell.figures = cell.figures.map((wall) => calibration.jsSerialMs / 1000 / wall);
        cell.unit = "speedup";
      }
      cells[peer] = cell;
    }
    results.push({ row, label, cells });
  }

  // ---- the table
  const others = peers.filter((p) => p !== "ours");
  const headers = ["workload", "unit", ...peers, "target", ...others.map((p) => `ours÷${p}`)];
  const body = [];
  const footnotes = [];
  for (const { row, label, cells } of results) {
    const target = TARGETS[row.id];
    const unit = row.workload === "W2" ? "speedup" : (target?.unit ?? row.unit);
    const line = [label, unit];
    const rowNotes = [];
    for (const p of peers) {
      const c = cells[p];
      if (c.status !== "ok") line.push(c.status === "n/a" ? "n/a" : c.status);
      else if (p === "serial" && row.workload === "W2") line.push(`1.00 (${c.figure.toFixed(2)} s)`);
      else if (p === "serial" && row.workload === "W3") line.push(`${fmtNum(c.figure)} calls/s`);
      else if (p === "serial" && row.workload === "W6") line.push(`${fmtNum(c.figure)} bare`);
      else line.push(fmtNum(c.figure));
      if (c.status === "ok" && p !== "serial") {
        const n = noteFor(row, c, size);
        if (n) rowNotes.push(`${p} ${n}`);
      }
      if (c.status === "err" || c.status === "timeout") footnotes.push(`${row.id} ${p}: ${c.status}: ${c.error}`);
    }
    for (const p of peers) {
      const f = cells[p].figures;
      const spread = f && f.length > 1 ? Math.max(...f) - Math.min(...f) : 0;
      // W6 figures are tens of ms, where a few ms of process-spawn jitter is normal, not noise.
      if (spread / cells[p].figure > 0.15 && !(row.workload === "W6" && spread < 0.02))
        footnotes.push(`${row.id} ${p}: runs spread ${f.map(fmtNum).join(", ")} (> 15%: noisy)`);
    }
    if (rowNotes.length) footnotes.push(`${row.id}: ${rowNotes.join("; ")}`);
    const ours = cells.ours?.status === "ok" ? cells.ours.figure : null;
    line.push(target === undefined ? "—" : fmtTarget(target) + (ours === null ? "" : meets(target, ours) ? " ✓" : " ✗"));
    for (const p of others) {
      const c = cells[p];
      const comparable = p !== "serial" || row.serialRatio;
      const r = comparable && c.status === "ok" ? ratio(row, ours, c.figure) : null;
      line.push(r === null ? "—" : `${r.toFixed(2)}×`);
      if (c.status === "ok") c.ratioOurs = r;
    }
    body.push(line);
  }

  const elapsed = (performance.now() - t0) / 1000;
  const table = renderTable(headers, body);
  const out = [];
  out.push(`scoop bench — ${new Date().toISOString()} — ${cpus().length} cores, node ${process.version}, ${o.workers} workers, median of ${o.runs} run(s)${o.quick ? ", QUICK sizes" : ""}`);
  out.push("ours÷X columns: >1 means ours is better (higher rates, or lower times/ratios, whichever the row measures)");
  out.push("");
  out.push(table);
  out.push("");
  out.push("Notes:");
  if (calibration.jsLoops) {
    out.push(`- W2: Node loop ${calibration.jsLoops} iterations/task (serial ${(calibration.jsSerialMs / 1000).toFixed(2)} s): ours & piscina speedups are vs serial Node.`);
    if (calibration.pyLoops)
      out.push(`- W2: ppe & dask run the same xorshift loop in Python, calibrated to the same ~${SIZES[size].W2.taskMs} ms (${calibration.pyLoops} iterations, serial ${(calibration.pySerialMs / 1000).toFixed(2)} s): their speedup is vs Python's own serial time.`);
  }
  const busiest = Math.max(busy.start ?? 0, ...Object.values(busy.beforeRows).map((b) => b ?? 0));
  if (busiest > BUSY_WARN)
    out.push(`- WARNING: other work used up to ${(busiest * 100).toFixed(0)}% of the machine's CPU between rows (idle ${(100 - busiest * 100).toFixed(0)}%): figures may be low and noisy`);
  const shown = new Set(rows.map((r) => r.id));
  if (shown.has("W3") && peers.includes("serial")) out.push("- W3 serial: plain recursive calls per second — function calls, not tasks; shown for scale only.");
  if (shown.has("W6") && peers.includes("serial")) out.push("- W6 serial: a bare `node -e ''` start-to-exit, the floor for any Node pool.");
  if (shown.has("W1s@2k") || shown.has("W1s@200k")) out.push("- W1s@2k / W1s@200k: the 'holds its rate' check; the same target as W1s applies at every N.");
  if (shown.has("W5") || shown.has("W5p")) out.push(`- W5 / W5p: in every run, every peer does one untimed burst, then ${W5_BURSTS} timed ones (fresh arrays each); the run's figure is their median rate.`);
  for (const n of notes) out.push(`- ${n}`);
  for (const f of footnotes) out.push(`- ${f}`);
  out.push("");
  out.push(`Whole bench: ${elapsed.toFixed(1)} s`);
  const text = out.join("\n");
  console.log(text);

  // ---- the JSON record
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  const file = o.out ?? join(HERE, "results", `${stamp}${o.quick ? "-quick" : ""}.json`);
  mkdirSync(dirname(file), { recursive: true });
  const pyVersion = (exe) => exe && spawnSync(exe, ["-c", "import sys; print(sys.version.split()[0])"], { encoding: "utf8" }).stdout.trim();
  const record = {
    date: new Date().toISOString(),
    machine: { cores: cpus().length, cpu: cpus()[0]?.model, node: process.version, pythonPpe: py.ppe && `${py.ppe} ${pyVersion(py.ppe)}`, pythonDask: py.dask && `${py.dask} ${pyVersion(py.dask)}` },
    options: o,
    elapsedSeconds: elapsed,
    otherCpuBusy: busy,
    targets: TARGETS,
    calibration: { jsLoops: calibration.jsLoops, jsSerialMs: calibration.jsSerialMs, pyLoops: calibration.pyLoops, pySerialMs: calibration.pySerialMs },
    rows: results.map(({ row, label, cells }) => ({ id: row.id, workload: row.workload, title: label, better: row.better, target: TARGETS[row.id], cells })),
    table: text,
  };
  writeFileSync(file, JSON.stringify(record, null, 2) + "\n");
  const rel = relative(process.cwd(), file);
  console.log(`Results: ${rel && !rel.startsWith("..") ? rel : file}`);
  const failed = results.flatMap(({ row, cells }) => Object.entries(cells).filter(([, c]) => c.status === "err" || c.status === "timeout").map(([p]) => `${row.id} ${p}`));
  if (o.strict && failed.length) {
    console.error(`bench: failed: ${failed.join(", ")}`);
    process.exit(1);
  }
}

main().catch((e) => {
  console.error(`bench: ${e.message}`);
  process.exit(1);
});
