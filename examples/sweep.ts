// Parameter sweep: evaluates a function on a grid of parameters, one task per point, and writes the
// results as CSV (in input order, whatever order the tasks finished in).
//   npx scoop -n 2 examples/sweep.ts [out=sweep.csv] [steps=21]
import { writeFileSync } from "node:fs";
import { futures } from "scoop";

/** A damped oscillator x'' + c x' + k x = 0, x(0)=1, x'(0)=0: energy left at t = 10. */
export function simulate(k: number, c: number): { k: number; c: number; energy: number } {
  let x = 1;
  let v = 0;
  const dt = 1e-3;
  for (let t = 0; t < 10; t += dt) {
    const a = -k * x - c * v;
    v += a * dt;
    x += v * dt;
  }
  return { k, c, energy: 0.5 * v * v + 0.5 * k * x * x };
}

export async function main(argv: string[]): Promise<void> {
  const out = argv[0] ?? "sweep.csv";
  const steps = Number(argv[1] ?? 21);
  const ks: number[] = [];
  const cs: number[] = [];
  for (let i = 0; i < steps; i++) {
    for (let j = 0; j < steps; j++) {
      ks.push(0.5 + (4.5 * i) / (steps - 1));
      cs.push((1.0 * j) / (steps - 1));
    }
  }
  const rows = await futures.map(simulate, ks, cs);
  const csv = ["k,c,energy", ...rows.map((r) => `${r.k.toFixed(4)},${r.c.toFixed(4)},${r.energy.toExponential(6)}`)].join("\n") + "\n";
  writeFileSync(out, csv);
  const best = rows.reduce((a, b) => (b.energy < a.energy ? b : a));
  console.log(`wrote ${rows.length} rows to ${out}; least energy left: k=${best.k.toFixed(2)} c=${best.c.toFixed(2)} energy=${best.energy.toExponential(3)}`);
}
