// Tree traversal with one task per node: a balanced tree (many small tasks) and a path 300 levels
// deep (deep recursion: every level waits on the next). Waiting tasks free their worker, so even
// the deep path runs on two workers without deadlock.
//   npx scoop -n 2 examples/tree.ts [depth=9] [pathDepth=300]
import { futures } from "scoop";

/** The value of node `id` (children of n are 2n+1 and 2n+2). */
function valueOf(id: number): number {
  return (id * 2654435761) % 1000;
}

export async function sumTree(id: number, depth: number): Promise<number> {
  if (depth === 0) return valueOf(id);
  const [l, r] = await Promise.all([futures.submit(sumTree, 2 * id + 1, depth - 1), futures.submit(sumTree, 2 * id + 2, depth - 1)]);
  return valueOf(id) + l + r;
}

export async function pathDepth(level: number, max: number): Promise<number> {
  if (level === max) return level;
  return futures.submit(pathDepth, level + 1, max);
}

function serialSum(id: number, depth: number): number {
  return depth === 0 ? valueOf(id) : valueOf(id) + serialSum(2 * id + 1, depth - 1) + serialSum(2 * id + 2, depth - 1);
}

export async function main(argv: string[]): Promise<void> {
  const depth = Number(argv[0] ?? 9);
  const deep = Number(argv[1] ?? 300);
  const sum = await futures.submit(sumTree, 0, depth);
  console.log(`tree of depth ${depth} (${2 ** (depth + 1) - 1} tasks): sum ${sum}, serial ${serialSum(0, depth)}: ${sum === serialSum(0, depth)}`);
  const reached = await futures.submit(pathDepth, 0, deep);
  console.log(`path of ${deep} nested tasks reached level ${reached}: ${reached === deep}`);
}
