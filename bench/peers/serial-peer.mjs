#!/usr/bin/env node
// Serial Node baseline: the same work as the pools, done in one thread with no task machinery.
// It gives W2 its denominator (serial time) and tells, for W1/W5, whether a pool is worth it at
// all. W3 here counts plain function calls, which are not tasks: the harness labels it as such.
import { runPeer, notApplicable, timeProcess } from "../lib/cli.mjs";
import { spin, calibrateSpin, w4Durations, busy, w5Payload, w5Bursts, checksum, fib, fibCalls, median } from "../lib/workloads.mjs";

async function run(workload, p) {
  switch (workload) {
    case "calibrate": {
      const loops = calibrateSpin(p.taskMs ?? 50);
      return { figure: loops, unit: "loops", detail: { taskMs: p.taskMs ?? 50 } };
    }
    case "W1": {
      const xs = Array.from({ length: p.n }, (_, i) => i);
      // One pass over 1M items is a few ms: take the median of several so one GC or the first
      // (unoptimised) pass doesn't decide the figure.
      const times = [];
      let out;
      for (let r = 0; r < 7; r++) {
        const t0 = performance.now();
        out = xs.map((x) => x + 1);
        times.push(performance.now() - t0);
      }
      if (out[p.n - 1] !== p.n) throw new Error("W1 result wrong");
      const s = median(times) / 1000;
      return { figure: p.n / s, unit: "items/s", detail: { n: p.n, seconds: s } };
    }
    case "W2": {
      const loops = p.loops ?? calibrateSpin(p.taskMs);
      const t0 = performance.now();
      let acc = 0;
      for (let i = 0; i < p.tasks; i++) acc ^= spin(loops, i + 1);
      const s = (performance.now() - t0) / 1000;
      return { figure: s, unit: "s", detail: { tasks: p.tasks, loops, serial_s: s, perTaskMs: (s * 1000) / p.tasks, xor: acc >>> 0 } };
    }
    case "W3": {
      // fib(20) is ~22k calls, well under a millisecond: repeat it for a measurable interval.
      const calls = fibCalls(p.n);
      let reps = 0;
      const t0 = performance.now();
      let el = 0;
      do {
        fib(p.n);
        reps++;
        el = performance.now() - t0;
      } while (el < 200);
      return { figure: (calls * reps) / (el / 1000), unit: "calls/s", detail: { n: p.n, calls, reps, note: "function calls, not tasks" } };
    }
    case "W4": {
      const durs = w4Durations(p.tasks, p.seed);
      const sum = durs.reduce((a, b) => a + b, 0);
      const t0 = performance.now();
      for (const d of durs) busy(d);
      const wall = performance.now() - t0;
      return { figure: wall / sum, unit: "wall/ideal", detail: { tasks: p.tasks, sum_ms: sum, wall_ms: wall, workers: 1 } };
    }
    case "W5": {
      let total = 0;
      const { figure, rates } = await w5Bursts(p.tasks * p.mib, async () => {
        const arrays = Array.from({ length: p.tasks }, (_, k) => w5Payload(k));
        const t0 = performance.now();
        total = 0;
        for (const a of arrays) total += checksum(a);
        return (performance.now() - t0) / 1000;
      });
      return { figure, unit: "MiB/s", detail: { tasks: p.tasks, checksum: total, rates } };
    }
    case "W6": {
      // No pool to start: the figure is the floor, a bare `node` that exits at once.
      const s = await timeProcess(process.execPath, ["-e", ""]);
      return { figure: s, unit: "s", detail: { note: "bare node start-to-exit (floor)" } };
    }
    case "W1s":
    case "W1l":
      return notApplicable("serial code has no tasks to submit");
    default:
      throw new Error(`unknown workload ${workload}`);
  }
}

runPeer("serial", run);
