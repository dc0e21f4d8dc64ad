// Workload definitions shared by every JavaScript peer (serial, piscina, ours) and the harness.
// The Python peer re-implements the same generators in bench/peers/python_peer.py; anything that
// must agree across languages (W4 durations, W5 payload contents) is plain 32-bit integer math so
// both sides produce bit-identical lists, and the peers report a checksum the harness compares.

/** Sizes per workload. `quick` keeps the smoke test of the test suite well under 30 s. */
export const SIZES = {
  full: {
    W1: { n: 1_000_000 },
    W1s: { n: 20_000 },
    W1l: { n: 2_000 },
    W2: { tasks: 64, taskMs: 50 },
    W3: { n: 20 },
    W4: { tasks: 200, seed: 42 },
    W5: { tasks: 64, mib: 1 },
    W5p: { tasks: 64, mib: 1 },
    W6: {},
  },
  quick: {
    W1: { n: 20_000 },
    W1s: { n: 500 },
    W1l: { n: 100 },
    W2: { tasks: 8, taskMs: 10 },
    W3: { n: 10 },
    W4: { tasks: 20, seed: 42 },
    W5: { tasks: 8, mib: 1 },
    W5p: { tasks: 8, mib: 1 },
    W6: {},
  },
};

/** The W2 busy loop: xorshift32, so the work is pure integer ALU with a result nothing can fold. */
export function spin(loops, seed) {
  let x = seed | 0 || 1;
  for (let i = 0; i < loops; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
  }
  return x >>> 0;
}

/**
 * Finds the loop count that makes spin() take `taskMs` on this machine, after enough runs for the
 * JIT to have optimised it. Done once per bench run; every JS peer then gets the same count, so a
 * speedup is computed from identical work on both sides.
 */
export function calibrateSpin(taskMs) {
  let loops = 1_000_000;
  for (let i = 0; i < 5; i++) spin(loops, i + 1); // warm-up: tier up to optimised code
  // Grow until one sample takes >= 20 ms, so timer granularity doesn't matter.
  for (;;) {
    const t0 = performance.now();
    spin(loops, 7);
    const dt = performance.now() - t0;
    if (dt >= 20) break;
    loops *= 2;
  }
  const samples = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    spin(loops, i + 11);
    samples.push(performance.now() - t0);
  }
  samples.sort((a, b) => a - b);
  return Math.max(1, Math.round((loops * taskMs) / samples[2]));
}

/**
 * W4 durations in whole milliseconds, 1..40, from a 32-bit LCG (Numerical Recipes constants).
 * Math.imul keeps the product exact in 32 bits; Python does the same with `& 0xFFFFFFFF`.
 */
export function w4Durations(tasks, seed) {
  let x = seed >>> 0;
  const out = [];
  for (let i = 0; i < tasks; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    out.push(1 + ((x >>> 8) % 40));
  }
  return out;
}

/** Busy CPU for `ms` on the wall clock (not sleep: W4 measures scheduling of CPU-bound work). */
export function busy(ms) {
  const end = performance.now() + ms;
  let n = 0;
  while (performance.now() < end) n++;
  return n;
}

/** W1s: no-ops each pool runs before the timed burst, so JIT-compiled pools are measured warm. */
export const W1S_WARM_TASKS = 20_000;

/**
 * W5 and W5p: after one untimed burst, this many timed bursts (fresh arrays each), and the figure is
 * their median rate. One burst of 64 MiB lasts about 10 ms, so a single one swings by ±30 % with the
 * JIT, the GC and the scheduler's first guesses; every peer is measured the same way.
 */
export const W5_BURSTS = 5;

/** W5 payload k: 1 MiB of float64 whose values are small integers, so every sum is exact. */
export const W5_LEN = 131072; // 1 MiB / 8 bytes
export function w5Payload(k, len = W5_LEN) {
  const a = new Float64Array(len);
  for (let i = 0; i < len; i++) a[i] = (i + k) % 1024;
  return a;
}
export function checksum(a) {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i];
  return s;
}

/** Number of calls fib(n) makes (itself included): the task count of the nested W3. */
export function fibCalls(n) {
  return n < 2 ? 1 : 1 + fibCalls(n - 1) + fibCalls(n - 2);
}
export function fib(n) {
  return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Runs `burst` (which returns the seconds it took, arrays made outside its timing) once untimed and
 * W5_BURSTS times timed; returns the median rate in MiB/s and every burst's rate.
 */
export async function w5Bursts(mib, burst) {
  await burst();
  const rates = [];
  for (let r = 0; r < W5_BURSTS; r++) rates.push(mib / (await burst()));
  return { figure: median(rates), rates: rates.map(Math.round) };
}
