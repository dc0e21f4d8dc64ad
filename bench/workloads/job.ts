// Our side of each workload, run as an ordinary scoop program: `main(workload, paramsJson)` warms
// the pool once (untimed), times the workload, and prints one JSON line {figure, unit, detail}.
import { futures, scoop } from "scoop";
import { busy, checksum, fibCalls, spin, W1S_WARM_TASKS, w4Durations, w5Bursts, w5Payload } from "../lib/workloads.mjs";

export function inc(x: number): number {
  return x + 1;
}

export function noop(): number {
  return 0;
}

export function whoRuns(): string {
  return scoop.workerName;
}

/**
 * Pool start-up is no part of any figure but W6, as for the other peers (whose warm-up reaches
 * every thread): wait until every worker has joined and run a task.
 */
async function warmPool(workers: number): Promise<void> {
  const seen = new Set<string>();
  for (const end = Date.now() + 30_000; seen.size < workers && Date.now() < end; ) {
    for (const w of await Promise.all(Array.from({ length: 4 * workers }, () => futures.submit(whoRuns)))) seen.add(w);
    if (seen.size < workers) await new Promise((r) => setTimeout(r, 10));
  }
}

export function spinTask(loops: number, seed: number): number {
  return spin(loops, seed);
}

export function busyTask(ms: number): number {
  return busy(ms);
}

/** Tasks of W5 run by this process (each process has its own count). */
let sumsHere = 0;

export function sumTask(a: Float64Array): number {
  sumsHere++;
  return checksum(a);
}

export async function fib(n: number): Promise<number> {
  if (n < 2) return n;
  const [a, b] = await Promise.all([futures.submit(fib, n - 1), futures.submit(fib, n - 2)]);
  return a + b;
}

type Params = Record<string, number>;
type Outcome = { figure: number; unit: string; detail?: Record<string, unknown> };

async function time(f: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await f();
  return performance.now() - t0;
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

const workloads: Record<string, (p: Params) => Promise<Outcome>> = {
  async W1(p) {
    const xs = range(p.n!);
    await futures.map(inc, xs);
    let out: number[] = [];
    const ms = await time(async () => (out = await futures.map(inc, xs)));
    if (out[p.n! - 1] !== p.n) throw new Error("W1: wrong result");
    return { figure: p.n! / (ms / 1000), unit: "items/s" };
  },
  async W1s(p) {
    const burst = () => Promise.all(Array.from({ length: p.n! }, () => futures.submit(noop)));
    // Steady state, as for the peers: bursts until W1S_WARM_TASKS no-ops have run (JIT warm).
    const coldMs = await time(burst);
    for (let done = p.n!; done < W1S_WARM_TASKS; done += p.n!) await burst();
    // reps > 1 (the observation-overhead bench): the median of that many timed bursts.
    const rates: number[] = [];
    for (let r = 0; r < (p.reps ?? 1); r++) rates.push(p.n! / ((await time(burst)) / 1000));
    const figure = [...rates].sort((a, b) => a - b)[Math.floor(rates.length / 2)]!;
    return { figure, unit: "tasks/s", detail: { firstBurstRate: Math.round(p.n! / (coldMs / 1000)), ...(rates.length > 1 ? { rates: rates.map(Math.round) } : {}) } };
  },
  async W1l(p) {
    for (let i = 0; i < 200; i++) await futures.submit(noop);
    const ms = await time(async () => {
      for (let i = 0; i < p.n!; i++) await futures.submit(noop);
    });
    return { figure: (ms * 1000) / p.n!, unit: "µs" };
  },
  async W2(p) {
    await futures.submit(spinTask, 1000, 1);
    const ms = await time(() => futures.map(spinTask, Array(p.tasks!).fill(p.loops), range(p.tasks!).map((i) => i + 1), { chunkSize: 1 }));
    return { figure: p.serialMs! / ms, unit: "×", detail: { wallMs: Math.round(ms), serialMs: p.serialMs } };
  },
  async W3(p) {
    await futures.submit(fib, 10);
    let v = 0;
    const ms = await time(async () => (v = await futures.submit(fib, p.n!)));
    return { figure: fibCalls(p.n!) / (ms / 1000), unit: "tasks/s", detail: { value: v } };
  },
  async W4(p) {
    const durations = w4Durations(p.tasks!, p.seed!);
    await futures.submit(busyTask, 1);
    const ms = await time(() => Promise.all(durations.map((d) => futures.submit(busyTask, d))));
    const ideal = durations.reduce((a, b) => a + b, 0) / p.workers!;
    return { figure: ms / ideal, unit: "wall/ideal", detail: { wallMs: Math.round(ms), idealMs: ideal } };
  },
  async W5(p) {
    const ranOnSubmitter: number[] = [];
    const { figure, rates } = await w5Bursts(p.tasks! * p.mib!, async () => {
      const arrays = range(p.tasks!).map((k) => w5Payload(k));
      let sums: number[] = [];
      const before = sumsHere;
      const ms = await time(async () => (sums = await Promise.all(arrays.map((a) => futures.submit(sumTask, a)))));
      if (sums[1] !== checksum(arrays[1]!)) throw new Error("W5: wrong checksum");
      ranOnSubmitter.push(sumsHere - before);
      return ms / 1000;
    });
    return { figure, unit: "MiB/s", detail: { rates, ranOnSubmitter: ranOnSubmitter.slice(1) } };
  },
};

export async function main(argv: string[]): Promise<void> {
  const [workload, json] = argv;
  const run = workloads[workload!];
  if (!run) throw new Error(`unknown workload ${workload}`);
  const params = JSON.parse(json ?? "{}") as Params;
  await warmPool(params.workers ?? 2);
  console.log(JSON.stringify(await run(params)));
}
