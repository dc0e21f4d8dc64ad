// Soak job: N tiny tasks in waves of separate submits; prints a line after each tenth so the
// harness can sample memory at start, middle and end.
import { futures } from "scoop";

export function tiny(x: number): number {
  return x + 1;
}

export async function main(argv: string[]): Promise<void> {
  const total = Number(argv[0] ?? 2_000_000);
  const wave = 10_000;
  let done = 0;
  let sum = 0;
  let nextMark = total / 10;
  console.log("MARK 0");
  while (done < total) {
    const n = Math.min(wave, total - done);
    const fs = new Array(n);
    for (let i = 0; i < n; i++) fs[i] = futures.submit(tiny, done + i);
    for (const v of await Promise.all(fs)) sum += v;
    done += n;
    if (done >= nextMark) {
      console.log(`MARK ${done}`);
      nextMark += total / 10;
    }
  }
  const expected = (total * (total + 1)) / 2;
  console.log(`DONE ${done} ${sum === expected ? "correct" : `WRONG ${sum} != ${expected}`}`);
}
