#!/usr/bin/env node
// Runs every test/**/*.test.ts with node's own test runner, TypeScript loaded through tsx.
// Node 20's --test takes no globs, hence this small walker. Extra args filter files by substring.
import { readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { spawnSync } from "node:child_process";

const root = new URL("..", import.meta.url).pathname;
const filters = process.argv.slice(2);

function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else if (name.endsWith(".test.ts")) out.push(p);
  }
  return out;
}

const files = walk(join(root, "test"))
  .map((f) => relative(root, f))
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)));
if (files.length === 0) {
  console.error("no test file matches");
  process.exit(1);
}
const concurrency = process.env.SCOOP_TEST_CONCURRENCY ?? "2";
const r = spawnSync(
  process.execPath,
  ["--import", "tsx", "--test", `--test-concurrency=${concurrency}`, "--test-reporter=spec", ...files],
  { stdio: "inherit", cwd: root },
);
process.exit(r.status ?? 1);
