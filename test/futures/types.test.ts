// The public API's types: `npm run typecheck` (tsc -p tsconfig.test.json) compiles src and
// test/types/api.test-d.ts, whose `@ts-expect-error` lines are the calls that must not compile
// (map(square, ["1"]), submit(square, "3"), …). tsc fails when one of them compiles (TS2578, unused
// directive) or when an inferred type differs from the asserted one.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { ROOT } from "../support/cluster.js";

test("tsc -p tsconfig.test.json passes: argument and result types are inferred from fn, mismatches are compile errors", () => {
  const tsc = `${ROOT}node_modules/typescript/bin/tsc`;
  const r = spawnSync(process.execPath, [tsc, "-p", "tsconfig.test.json"], { cwd: ROOT, encoding: "utf8", timeout: 120_000 });
  assert.equal(r.status, 0, `tsc failed:\n${r.stdout}${r.stderr}`);
  const source = readFileSync(`${ROOT}test/types/api.test-d.ts`, "utf8");
  const expected = source.split("\n").filter((l) => l.trim().startsWith("// @ts-expect-error")).length;
  assert.ok(expected >= 20, `only ${expected} @ts-expect-error lines: the type test lost its teeth`);
  const config = JSON.parse(readFileSync(`${ROOT}tsconfig.test.json`, "utf8")) as { include: string[]; compilerOptions: { noEmit?: boolean } };
  assert.ok(config.include.includes("test/types") && config.compilerOptions.noEmit === true);
});
