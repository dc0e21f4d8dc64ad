// Monte-Carlo estimate of π: each task throws `samples` random darts at the unit square and counts
// those inside the quarter circle. Seeded, so every run gives the same estimate.
//   npx scoop -n 2 examples/pi.ts [tasks=32] [samples=1000000]
import { futures } from "scoop";

/** A small, fast seeded PRNG (mulberry32). */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function hits(seed: number, samples: number): number {
  const rnd = random(seed * 7919 + 1);
  let inside = 0;
  for (let i = 0; i < samples; i++) {
    const x = rnd();
    const y = rnd();
    if (x * x + y * y <= 1) inside++;
  }
  return inside;
}

export async function main(argv: string[]): Promise<void> {
  const tasks = Number(argv[0] ?? 32);
  const samples = Number(argv[1] ?? 1_000_000);
  const seeds = Array.from({ length: tasks }, (_, i) => i);
  const counts = await futures.map(hits, seeds, seeds.map(() => samples));
  const total = counts.reduce((a, b) => a + b, 0);
  const pi = (4 * total) / (tasks * samples);
  console.log(`pi ≈ ${pi.toFixed(5)} from ${tasks * samples} samples in ${tasks} tasks (error ${Math.abs(pi - Math.PI).toExponential(1)})`);
}
