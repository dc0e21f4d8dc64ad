// Parallel merge sort: halves are sorted as separate tasks (recursively, down to a size where a
// plain sort is faster than a task), then merged.
//   npx scoop -n 2 examples/merge-sort.ts [n=200000] [leaf=20000]
import { futures } from "scoop";

function merge(a: Float64Array, b: Float64Array): Float64Array {
  const out = new Float64Array(a.length + b.length);
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < a.length && j < b.length) out[k++] = a[i]! <= b[j]! ? a[i++]! : b[j++]!;
  while (i < a.length) out[k++] = a[i++]!;
  while (j < b.length) out[k++] = b[j++]!;
  return out;
}

export async function sort(xs: Float64Array, leaf: number): Promise<Float64Array> {
  if (xs.length <= leaf) return xs.slice().sort();
  const mid = xs.length >> 1;
  const [left, right] = await Promise.all([futures.submit(sort, xs.subarray(0, mid), leaf), futures.submit(sort, xs.subarray(mid), leaf)]);
  return merge(left, right);
}

export async function main(argv: string[]): Promise<void> {
  const n = Number(argv[0] ?? 200_000);
  const leaf = Number(argv[1] ?? 20_000);
  let seed = 42;
  const xs = Float64Array.from({ length: n }, () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 1000);
  const sorted = await futures.submit(sort, xs, leaf);
  const expected = xs.slice().sort();
  const same = sorted.length === expected.length && sorted.every((v, i) => v === expected[i]);
  console.log(`sorted ${sorted.length} numbers in tasks of at most ${leaf}: ${same ? "same as a serial sort" : "WRONG"}`);
  console.log(`min ${sorted[0]!.toFixed(3)}, median ${sorted[n >> 1]!.toFixed(3)}, max ${sorted[n - 1]!.toFixed(3)}`);
}
