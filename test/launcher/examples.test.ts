// Every example runs with `-n 2` and prints the result it checks itself; the README's main example
// also runs the way users type it, `npx scoop -n 2 examples/pi.ts`, from the repository root.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { ROOT, scoopRun } from "./scoop-helpers.js";

const tmp = mkdtempSync(join(tmpdir(), "scoop-examples-"));
after(() => rmSync(tmp, { recursive: true, force: true }));
const csv = join(tmp, "sweep.csv");

const EXAMPLES: Record<string, { args?: string[]; expect: RegExp[] }> = {
  "pi.ts": { args: ["16"], expect: [/^pi ≈ 3\.14\d* from 16000000 samples in 16 tasks/m] },
  "fibonacci.ts": { expect: [/^fib\(22\) = 17711 \(serial check: ok\)$/m] },
  "map-as-completed.ts": {
    expect: [/^map: +0 1 2 3 4 5$/m, /^mapAsCompleted: 3 1 5 4 2 0$/m, /mapAsCompleted follows durations: true$/m],
  },
  "word-count.ts": { expect: [/^339 words, 177 distinct; top 5: the:29 of:25 was:13 it:12 a:11$/m, /^same as a serial count: true$/m] },
  "shared-constants.ts": { expect: [/= 56\.64$/m, /^matches local computation: true/m, /^redefining a constant is refused: ConstantError$/m] },
  "exceptions.ts": {
    expect: [
      /^audit of a sound inventory: 8 items$/m,
      /^caught InventoryError \(instanceof InventoryError: true\): negative stock for figs: -2$/m,
      /^raised on worker (origin|w1); remote stack mentions check\(\): true$/m,
    ],
  },
  "callbacks.ts": { expect: [/^callbacks ran 12 times/m, /^sum of cubes 1\.\.12 = 6084 \(expected 6084\): true$/m] },
  "merge-sort.ts": { expect: [/^sorted 200000 numbers in tasks of at most 20000: same as a serial sort$/m] },
  "tree.ts": { expect: [/^tree of depth 9 \(1023 tasks\): sum 511033, serial 511033: true$/m, /^path of 300 nested tasks reached level 300: true$/m] },
  "sweep.ts": { args: [csv, "11"], expect: [/^wrote 121 rows to .*sweep\.csv; least energy left: k=\S+ c=1\.00/m] },
};

test("examples/README.md lists every example, and every example is tested here", () => {
  const files = readdirSync(join(ROOT, "examples")).filter((f) => f.endsWith(".ts")).sort();
  assert.deepEqual(files, Object.keys(EXAMPLES).sort());
  const readme = readFileSync(join(ROOT, "examples/README.md"), "utf8");
  for (const f of files) assert.ok(readme.includes(`](${f})`), `README lists ${f}`);
});

test("every example runs with -n 2 and prints its checked result", async () => {
  const names = Object.keys(EXAMPLES);
  const failures: string[] = [];
  // Three at a time: quick on a 2-core machine without starving any run.
  let next = 0;
  const worker = async () => {
    while (next < names.length) {
      const name = names[next++]!;
      const { args = [], expect } = EXAMPLES[name]!;
      const r = await scoopRun(["-n", "2", `examples/${name}`, ...args], { timeout: 60_000 });
      if (r.code !== 0) failures.push(`${name}: exit ${r.code}\n${r.stdout}${r.stderr}`);
      for (const re of expect) if (!re.test(r.stdout)) failures.push(`${name}: output does not match ${re}\n${r.stdout}${r.stderr}`);
      if (r.stderr.trim() !== "") failures.push(`${name}: unexpected stderr\n${r.stderr}`);
    }
  };
  await Promise.all([worker(), worker(), worker()]);
  assert.deepEqual(failures, []);
  const lines = readFileSync(csv, "utf8").trim().split("\n");
  assert.equal(lines[0], "k,c,energy");
  assert.equal(lines.length, 122);
});

test("`npx scoop -n 2 examples/pi.ts` works from the repository root", async () => {
  const child = spawn("npx", ["--no-install", "scoop", "-n", "2", "examples/pi.ts", "8"], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
  child.stderr.setEncoding("utf8").on("data", (d: string) => (err += d));
  const code = await new Promise<number | null>((r) => child.once("close", r));
  assert.equal(code, 0, err);
  assert.match(out, /^pi ≈ 3\.1\d* from 8000000 samples in 8 tasks/m);
});
