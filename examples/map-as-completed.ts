// map() gives results in input order; mapAsCompleted() as soon as each one is done.
// Each task waits for its own duration (asynchronously: a waiting task does not block its worker).
//   npx scoop -n 2 examples/map-as-completed.ts
import { futures } from "scoop";

export async function nap(id: number, ms: number): Promise<{ id: number; ms: number }> {
  await new Promise((r) => setTimeout(r, ms));
  return { id, ms };
}

export async function main(): Promise<void> {
  const durations = [800, 150, 600, 0, 450, 300];
  const ids = durations.map((_, i) => i);

  const inOrder = await futures.map(nap, ids, durations, { chunkSize: 1 });
  console.log(`map:            ${inOrder.map((r) => r.id).join(" ")}`);

  const completed: number[] = [];
  for await (const r of futures.mapAsCompleted(nap, ids, durations, { chunkSize: 1 })) completed.push(r.id);
  console.log(`mapAsCompleted: ${completed.join(" ")}`);

  const byDuration = [...ids].sort((a, b) => durations[a]! - durations[b]!);
  const ok = inOrder.every((r, i) => r.id === i) && completed.join(" ") === byDuration.join(" ");
  console.log(`map keeps input order, mapAsCompleted follows durations: ${ok}`);
}
