// Futures with done callbacks: each callback runs on the origin when its task completes, in
// completion order, here to keep a running total and a log.
//   npx scoop -n 2 examples/callbacks.ts
import { futures, type Future } from "scoop";

export async function cube(x: number): Promise<number> {
  await new Promise((r) => setTimeout(r, (7 - (x % 7)) * 15)); // finish out of order
  return x * x * x;
}

export async function main(): Promise<void> {
  let total = 0;
  const seen: number[] = [];
  const fs: Future<number>[] = [];
  for (let x = 1; x <= 12; x++) {
    const f = futures.submit(cube, x);
    f.addDoneCallback((done) => {
      done.result().then((v) => {
        total += v;
        seen.push(Math.round(Math.cbrt(v)));
      });
    });
    fs.push(f);
  }
  await futures.wait(fs);
  await new Promise((r) => setImmediate(r)); // let the last callbacks' result() settle
  const expected = ((12 * 13) / 2) ** 2; // sum of cubes 1..n = (n(n+1)/2)^2
  console.log(`callbacks ran ${seen.length} times, in completion order: ${seen.join(" ")}`);
  console.log(`sum of cubes 1..12 = ${total} (expected ${expected}): ${total === expected}`);
}
