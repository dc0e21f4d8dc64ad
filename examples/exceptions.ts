// An error thrown three tasks deep travels back through every level to main, where it can be
// caught: with its class, message, the remote stack and the name of the worker that raised it.
//   npx scoop -n 2 examples/exceptions.ts
import { futures } from "scoop";

export class InventoryError extends Error {
  override name = "InventoryError";
}

export function check(item: string, stock: number): number {
  if (stock < 0) throw new InventoryError(`negative stock for ${item}: ${stock}`);
  return stock;
}

export async function audit(item: string, stock: number): Promise<number> {
  return futures.submit(check, item, stock); // level 3
}

export async function auditAll(stocks: Record<string, number>): Promise<number> {
  const counts = await Promise.all(Object.entries(stocks).map(([item, n]) => futures.submit(audit, item, n))); // level 2
  return counts.reduce((a, b) => a + b, 0);
}

export async function main(): Promise<void> {
  const good = await futures.submit(auditAll, { pears: 3, plums: 5 }); // level 1
  console.log(`audit of a sound inventory: ${good} items`);
  try {
    await futures.submit(auditAll, { pears: 3, figs: -2, plums: 5 });
    console.log("no error (unexpected)");
  } catch (e) {
    const err = e as Error & { workerName?: string };
    const isClass = err instanceof InventoryError;
    console.log(`caught ${err.name} (instanceof InventoryError: ${isClass}): ${err.message}`);
    console.log(`raised on worker ${err.workerName ?? "?"}; remote stack mentions check(): ${/\bcheck\b/.test(err.stack ?? "")}`);
  }
}
