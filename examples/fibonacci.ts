// Nested submission: fib(n) submits fib(n-1) and fib(n-2) as tasks of their own and awaits them.
// A waiting task frees its worker for other tasks, so nesting never deadlocks, at any depth.
//   npx scoop -n 2 examples/fibonacci.ts [n=22] [cutoff=12]
import { futures } from "scoop";

function serialFib(n: number): number {
  return n < 2 ? n : serialFib(n - 1) + serialFib(n - 2);
}

export async function fib(n: number, cutoff: number): Promise<number> {
  if (n <= Math.max(1, cutoff)) return serialFib(n); // small problems are not worth a task
  const [a, b] = await Promise.all([futures.submit(fib, n - 1, cutoff), futures.submit(fib, n - 2, cutoff)]);
  return a + b;
}

export async function main(argv: string[]): Promise<void> {
  const n = Number(argv[0] ?? 22);
  const cutoff = Number(argv[1] ?? 12);
  const value = await futures.submit(fib, n, cutoff);
  console.log(`fib(${n}) = ${value} (serial check: ${value === serialFib(n) ? "ok" : "MISMATCH"})`);
}
