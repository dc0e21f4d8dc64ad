// Tasks prefetched by a busy worker go to an idle one: the broker asks the worker holding the most
// for some back (RELEASE), it returns those it has not started (RETURNED), and they run elsewhere.
import assert from "node:assert/strict";
import { test } from "node:test";
import { encodeValue } from "../../src/protocol/codec.js";
import { TaskExecutor } from "../../src/worker/executor.js";
import { createLogger } from "../../src/log.js";
import { ROOT, scoopRun } from "../launcher/scoop-helpers.js";

test("release(n) gives back the newest tasks not started, never local ones or more than it has", async () => {
  const ran: number[] = [];
  function task(i: number): number {
    ran.push(i);
    return i;
  }
  const registry = { refOfClass: () => undefined, classOf: () => undefined, resolveCached: () => task, resolve: async () => task };
  const executor = new TaskExecutor({ registry, workerName: "t", logger: createLogger("t", "error"), sendResult: () => {}, requestTasks: () => {} });
  const frame = (i: number) => encodeValue([0, { m: "x", n: "task" }, [i], null, false], registry);
  // Handed over by the broker: ids 1..5; submitted here: 100.
  executor.accept([1, 2, 3, 4, 5], [1, 1, 1, 1, 1], [1, 2, 3, 4, 5].flatMap(frame));
  executor.acceptLocal(100, frame(100));
  executor.cancel([5]);
  assert.deepEqual(executor.release(2), [4, 5], "the two newest broker tasks (a cancelled one too: the broker forgets it)");
  assert.deepEqual(executor.release(10), [1, 2, 3], "no more than it holds");
  assert.deepEqual(executor.release(1), []);
  executor.start();
  while (ran.length < 1) await new Promise((r) => setImmediate(r));
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(ran, [100], "what was given back does not run here; the local task does");
  executor.stop();
});

test("a worker that is late to start takes tasks the origin had prefetched", async () => {
  const r = await scoopRun(["-n", "2", `${ROOT}test/fixtures/scripts/late-worker.ts`]);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { ok: boolean; ran: Record<string, number> };
  assert.ok(out.ok);
  // w1 loads the script 0.5 s late: the 12 tasks of 100 ms were all prefetched by the origin.
  assert.ok((out.ran.w1 ?? 0) >= 2, JSON.stringify(out.ran));
});
