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
  const returned: number[][] = [];
  const executor = new TaskExecutor({
    registry,
    workerName: "t",
    logger: createLogger("t", "error"),
    sendResult: () => {},
    requestTasks: () => {},
    returnTasks: (ids) => returned.push(ids),
  });
  const frame = (i: number) => encodeValue([0, { m: "x", n: "task" }, [i], null, false], registry);
  // Handed over by the broker: ids 1..5; submitted here: 100.
  executor.accept([1, 2, 3, 4, 5], [1, 1, 1, 1, 1], [1, 2, 3, 4, 5].flatMap(frame));
  executor.acceptLocal(100, frame(100));
  executor.cancel([5]);
  executor.release(2);
  executor.release(10);
  executor.release(1);
  assert.deepEqual(returned, [[4, 5], [1, 2, 3], []], "the newest broker tasks first (a cancelled one too: the broker forgets it), no more than it holds, and an answer even with none");
  executor.start();
  while (ran.length < 1) await new Promise((r) => setImmediate(r));
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(ran, [100], "what was given back does not run here; the local task does");
  executor.stop();
});

test("credit asked for while tasks were short: a burst of long tasks goes back, and is then asked for as it runs", async () => {
  const ran: number[] = [];
  const spin = (ms: number) => {
    for (const end = performance.now() + ms; performance.now() < end; );
  };
  const fns: Record<string, (i: number) => number> = {
    tiny: (i) => i,
    long: (i) => {
      ran.push(i);
      spin(10);
      return i;
    },
  };
  const registry = { refOfClass: () => undefined, classOf: () => undefined, resolveCached: (r: { n: string }) => fns[r.n], resolve: async (r: { n: string }) => fns[r.n]! };
  const done: number[] = [];
  const requests: number[] = [];
  const returned: number[][] = [];
  const executor = new TaskExecutor({
    registry: registry as never,
    workerName: "t",
    logger: createLogger("t", "error"),
    sendResult: (id) => done.push(id),
    requestTasks: (n) => requests.push(n),
    returnTasks: (ids) => returned.push(ids),
  });
  const frames = (n: string, ids: number[]) => ids.flatMap((i) => encodeValue([0, { m: "x", n }, [i], null, false], registry as never));
  const settle = async (n: number) => {
    while (done.length < n) await new Promise((r) => setImmediate(r));
  };
  executor.start();
  const asked = requests.reduce((a, b) => a + b, 0);
  assert.ok(asked >= 40, `a new worker asks for a useful batch: ${asked}`);
  // Tiny tasks by the hundred: none goes back.
  const tiny = Array.from({ length: 300 }, (_, k) => 1000 + k);
  executor.accept(tiny, tiny.map(() => 1), frames("tiny", tiny));
  await settle(300);
  assert.deepEqual(returned, [], "short tasks are kept, however many");
  // A burst of 30 tasks of 10 ms lands on the credit those left: 300 ms committed here.
  const long = Array.from({ length: 30 }, (_, k) => k + 1);
  executor.accept(long, long.map(() => 1), frames("long", long));
  await settle(301);
  assert.equal(returned.length, 1, "the excess goes back after the first long task");
  const back = returned[0]!;
  assert.ok(back.length >= 25, `most of the burst: ${back.length}`);
  assert.deepEqual(back, long.slice(long.length - back.length), "the newest, which this worker would reach last");
  assert.deepEqual(ran, [1]);
  // What stayed runs here, and the worker asks again before it runs dry.
  const before = requests.length;
  const kept = long.length - back.length;
  await settle(300 + kept);
  assert.deepEqual(ran, long.slice(0, kept));
  assert.ok(requests.length > before, "asks again for what it gave back, a few at a time");
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
