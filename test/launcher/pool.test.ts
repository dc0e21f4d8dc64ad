// Pool.start / close from a plain Node script: results, real worker processes, nothing left behind.
import assert from "node:assert/strict";
import { test } from "node:test";
import { exitOf, FIXTURES, start } from "../support/cluster.js";
import { listOurProcesses } from "../support/processes.js";

test("Pool.start({ workers: 2 }) in a plain Node program runs tasks on two processes and close() leaves none", async () => {
  const app = `${FIXTURES}pool/app.mjs`;
  const p = start(process.execPath, [app, "2"]);
  assert.equal(await exitOf(p, 60_000), 0, p.stderr);
  const out = JSON.parse(p.stdout.trim());
  assert.deepEqual(out.squares, [1, 4, 9, 16, 25]);
  assert.equal(out.size, 2);
  assert.equal(out.inline, 42);
  assert.equal(out.selfPid, false, "tasks run in the workers, not in the embedding program");
  assert.ok(out.distinctWorkers >= 1);
  assert.deepEqual(await listOurProcesses(app), [], "no worker process may outlive the program");
});

test("Pool.start validates its options with a clear error", async () => {
  const { Pool } = await import("../../src/launcher/pool.js");
  await assert.rejects(() => Pool.start({ workers: 0 }), /workers must be an integer from 1 to 1024, got 0/);
  await assert.rejects(() => Pool.start({ workers: 2.5 }), /workers must be an integer/);
});
