// Where tasks carrying large binary arguments run: a cheap task stays with the worker that has the
// data when running it there is quicker than moving the data; a long one goes to whoever is free.
import assert from "node:assert/strict";
import { test } from "node:test";
import { ROOT, scoopRun } from "../launcher/scoop-helpers.js";

const ARRAYS = `${ROOT}test/fixtures/scripts/arrays.ts`;

test("cheap tasks on 1 MiB arrays mostly run where the arrays are", async () => {
  const r = await scoopRun(["-n", "2", ARRAYS, "cheap", "64"]);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { ok: boolean; ran: Record<string, number> };
  assert.ok(out.ok, "results are right");
  // Shipping 1 MiB costs about a millisecond; the task, microseconds: nearly all stay (a split by
  // pool size would ship half).
  assert.ok((out.ran.origin ?? 0) >= 54, JSON.stringify(out.ran));
});

test("long tasks on 1 MiB arrays are shared by both workers", async () => {
  const r = await scoopRun(["-n", "2", ARRAYS, "long", "8"]);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { ok: boolean; ran: Record<string, number> };
  assert.ok(out.ok, "results are right");
  assert.ok((out.ran.origin ?? 0) >= 3 && (out.ran.w1 ?? 0) >= 3, JSON.stringify(out.ran));
});
