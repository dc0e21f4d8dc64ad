// mapReduce: word count over a text. Each task counts the words of a block of lines (map), and the
// counts are merged pairwise on the workers (reduce): only the final table comes back.
//   npx scoop -n 2 examples/word-count.ts [file=examples/data/two-cities.txt]
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { futures } from "scoop";

type Counts = Record<string, number>;

export function countWords(text: string): Counts {
  const counts: Counts = {};
  for (const w of text.toLowerCase().match(/[a-z']+/g) ?? []) counts[w] = (counts[w] ?? 0) + 1;
  return counts;
}

export function merge(a: Counts, b: Counts): Counts {
  const out: Counts = { ...a };
  for (const [w, n] of Object.entries(b)) out[w] = (out[w] ?? 0) + n;
  return out;
}

export async function main(argv: string[]): Promise<void> {
  const file = argv[0] ?? fileURLToPath(new URL("./data/two-cities.txt", import.meta.url));
  const lines = readFileSync(file, "utf8").split("\n");
  const blocks: string[] = [];
  for (let i = 0; i < lines.length; i += 4) blocks.push(lines.slice(i, i + 4).join("\n"));

  const counts = await futures.mapReduce(countWords, merge, blocks);
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  const top = Object.entries(counts)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .slice(0, 5)
    .map(([w, n]) => `${w}:${n}`);
  const serial = countWords(lines.join("\n"));
  const same = Object.keys(serial).length === Object.keys(counts).length && Object.entries(serial).every(([w, n]) => counts[w] === n);
  console.log(`${total} words, ${Object.keys(counts).length} distinct; top 5: ${top.join(" ")}`);
  console.log(`same as a serial count: ${same}`);
}
