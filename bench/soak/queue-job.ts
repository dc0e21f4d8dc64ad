// Queue capacity: submits N no-ops while no worker executes, so they all wait in the broker; then
// waits for them (a worker is started by the harness once the broker holds them).
import { futures } from "scoop";

export function noop(i: number): number {
  return i;
}

export async function main(argv: string[]): Promise<void> {
  const n = Number(argv[0] ?? 1_000_000);
  const fs = new Array(n);
  for (let i = 0; i < n; i++) fs[i] = futures.submit(noop, i);
  console.log("SUBMITTED");
  let sum = 0;
  for (const f of fs) sum += await f;
  console.log(`DONE ${sum === (n * (n - 1)) / 2 ? "correct" : "WRONG"}`);
}
