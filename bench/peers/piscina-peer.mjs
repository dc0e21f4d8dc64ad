#!/usr/bin/env node
// Piscina peer: worker_threads in one process, the strongest in-process Node pool we know of.
// Pool start-up is kept out of every figure but W6 by a warm-up that reaches every thread.
import { Piscina } from "piscina";
import { runPeer, notApplicable, timeProcess } from "../lib/cli.mjs";
import { W1S_WARM_TASKS, w4Durations, w5Bursts, w5Payload } from "../lib/workloads.mjs";

const TASK = new URL("./piscina-task.mjs", import.meta.url).href;
const SELF = new URL(import.meta.url).pathname;

function makePool(workers) {
  return new Piscina({ filename: TASK, minThreads: workers, maxThreads: workers, idleTimeout: 60_000 });
}

/** Warm-up: enough no-ops at once that every thread has loaded the task module. */
async function warm(pool, workers) {
  await Promise.all(Array.from({ length: workers * 4 }, () => pool.run(null, { name: "noop" })));
}

/** W1: one chunked map, timed from the split of the input to the assembled output. */
async function mapChunks(pool, xs, chunk) {
  const t0 = performance.now();
  const parts = [];
  for (let i = 0; i < xs.length; i += chunk) parts.push(pool.run(xs.slice(i, i + chunk), { name: "incChunk" }));
  const out = (await Promise.all(parts)).flat();
  const s = (performance.now() - t0) / 1000;
  if (out.length !== xs.length || out[xs.length - 1] !== xs.length) throw new Error("W1 result wrong");
  return s;
}

/** W5/W5p: the median rate of W5_BURSTS bursts after an untimed one; fresh arrays every burst (a moved array is detached). */
async function w5(pool, p, mode) {
  let checksum = 0;
  const { figure, rates } = await w5Bursts(p.tasks * p.mib, async () => {
    const arrays = Array.from({ length: p.tasks }, (_, k) => w5Payload(k));
    const t0 = performance.now();
    const sums = await Promise.all(arrays.map((a) => pool.run(mode === "move" ? Piscina.move(a) : a, { name: "checksumTask" })));
    const s = (performance.now() - t0) / 1000;
    checksum = sums.reduce((x, y) => x + y, 0);
    return s;
  });
  return { figure, rates, checksum };
}

async function run(workload, p) {
  if (workload === "W3") return notApplicable("tasks cannot submit tasks (no nested submit)");
  if (workload === "W6-child") {
    const pool = makePool(p.workers);
    // --warm: also wait until every thread has run a task, i.e. the pool was really usable.
    if (p.warm) await warm(pool, p.workers);
    await pool.destroy();
    return undefined;
  }
  if (workload === "W6") {
    const args = [SELF, "W6-child", "--workers", String(p.workers)];
    const s = await timeProcess(process.execPath, args);
    const warmS = await timeProcess(process.execPath, [...args, "--warm", "1"]);
    return { figure: s, unit: "s", detail: { note: "node process: new Piscina + destroy", withWarmUp_s: warmS } };
  }

  const pool = makePool(p.workers);
  await warm(pool, p.workers);
  try {
    switch (workload) {
      case "W1": {
        const xs = Array.from({ length: p.n }, (_, i) => i);
        // Per-item tasks would measure W1s again; chunking is how Piscina users do a big map.
        // Several chunk sizes, best one reported, as for ProcessPoolExecutor's chunksize.
        const chunks = p.chunk ? [p.chunk] : [10_000, 50_000, 250_000].filter((c) => c <= p.n).concat(p.n < 10_000 ? [Math.ceil(p.n / 4)] : []);
        const byChunk = {};
        await mapChunks(pool, xs.slice(0, 20_000), 1_000); // warm-up, so the first size isn't penalised
        for (const c of chunks) byChunk[c] = p.n / (await mapChunks(pool, xs, c));
        const best = Object.entries(byChunk).sort((a, b) => b[1] - a[1])[0];
        return { figure: best[1], unit: "items/s", detail: { n: p.n, bestChunk: Number(best[0]), byChunk, payload: "plain arrays (structured clone)" } };
      }
      case "W1s": {
        const burst = () => Promise.all(Array.from({ length: p.n }, () => pool.run(null, { name: "noop" })));
        // Steady state, as for every peer: bursts until W1S_WARM_TASKS no-ops have run.
        for (let done = 0; done < W1S_WARM_TASKS; done += p.n) await burst();
        const t0 = performance.now();
        await burst();
        const s = (performance.now() - t0) / 1000;
        return { figure: p.n / s, unit: "tasks/s", detail: { n: p.n, seconds: s } };
      }
      case "W1l": {
        const t0 = performance.now();
        for (let i = 0; i < p.n; i++) await pool.run(null, { name: "noop" });
        const s = (performance.now() - t0) / 1000;
        return { figure: (s * 1e6) / p.n, unit: "µs", detail: { n: p.n } };
      }
      case "W2": {
        if (!p.loops) throw new Error("W2 needs --loops (calibrated by the serial peer)");
        const t0 = performance.now();
        await Promise.all(Array.from({ length: p.tasks }, (_, i) => pool.run({ loops: p.loops, seed: i + 1 }, { name: "spinTask" })));
        const wall = (performance.now() - t0) / 1000;
        return speedup(wall, p);
      }
      case "W4": {
        const durs = w4Durations(p.tasks, p.seed);
        const sum = durs.reduce((a, b) => a + b, 0);
        const t0 = performance.now();
        await Promise.all(durs.map((d) => pool.run(d, { name: "busyTask" })));
        const wall = performance.now() - t0;
        const ideal = sum / p.workers;
        return { figure: wall / ideal, unit: "wall/ideal", detail: { tasks: p.tasks, sum_ms: sum, wall_ms: wall, ideal_ms: ideal } };
      }
      case "W5": {
        // Figure: zero-copy transfer (Piscina.move), the best Piscina can do; copy shown too.
        const moved = await w5(pool, p, "move");
        const copied = await w5(pool, p, "copy");
        return {
          figure: moved.figure,
          unit: "MiB/s",
          detail: { tasks: p.tasks, mode: "Piscina.move (transfer)", rates: moved.rates, copyMiBps: copied.figure, checksum: moved.checksum },
        };
      }
      case "W5p": {
        // Every array copied (structured clone), as our row sends every array across.
        const copied = await w5(pool, p, "copy");
        return { figure: copied.figure, unit: "MiB/s", detail: { tasks: p.tasks, mode: "copied (structured clone)", rates: copied.rates, checksum: copied.checksum } };
      }
      default:
        throw new Error(`unknown workload ${workload}`);
    }
  } finally {
    await pool.destroy();
  }
}

/** W2's figure is a speedup against the serial peer's time, which the harness passes in. */
function speedup(wall, p) {
  const detail = { tasks: p.tasks, loops: p.loops, wall_s: wall };
  if (!p.serialMs) return { figure: wall, unit: "s", detail: { ...detail, note: "no --serial-ms: wall time only" } };
  return { figure: p.serialMs / 1000 / wall, unit: "speedup", detail: { ...detail, serial_s: p.serialMs / 1000 } };
}

runPeer("piscina", run);
