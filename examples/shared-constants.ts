// shared.setConst broadcasts write-once constants to every worker (also to workers that join
// later); tasks read them with shared.getConst instead of receiving them with every call.
//   npx scoop -n 2 examples/shared-constants.ts
import { futures, shared, scoop } from "scoop";

export async function priceOf(item: string, quantity: number): Promise<{ total: number; worker: string }> {
  const prices = await shared.getConst<Record<string, number>>("prices", { timeout: 10_000 });
  const vat = await shared.getConst<number>("vat");
  return { total: Math.round(prices[item]! * quantity * (1 + vat) * 100) / 100, worker: scoop.workerName };
}

export async function main(): Promise<void> {
  const prices = { apple: 0.5, bread: 2.25, cheese: 7.8, dates: 4.1 };
  await shared.setConst({ prices, vat: 0.2 });
  const items = ["apple", "bread", "cheese", "dates", "apple", "cheese"];
  const quantities = [10, 2, 1, 3, 4, 2];
  const lines = await futures.map(priceOf, items, quantities, { chunkSize: 1 });
  const total = Math.round(lines.reduce((a, l) => a + l.total, 0) * 100) / 100;
  const expected = Math.round(items.reduce((a, it, i) => a + prices[it as keyof typeof prices] * quantities[i]! * 1.2, 0) * 100) / 100;
  console.log(`bill: ${lines.map((l) => l.total.toFixed(2)).join(" + ")} = ${total.toFixed(2)}`);
  console.log(`matches local computation: ${total === expected}; constants read on: ${[...new Set(lines.map((l) => l.worker))].sort().join(", ")}`);
  try {
    await shared.setConst({ vat: 0.1 });
    console.log("redefining a constant: allowed (unexpected)");
  } catch (e) {
    console.log(`redefining a constant is refused: ${(e as Error).name}`);
  }
}
