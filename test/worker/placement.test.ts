// The rules that place a task carrying binary data (src/worker/placement.ts) and the task-time
// estimate they use (TaskExecutor.typicalDataTaskMs). Pure logic: no pool.
import assert from "node:assert/strict";
import { test } from "node:test";
import { encodeValue } from "../../src/protocol/codec.js";
import { binaryBytes, splitBacklog, startsSoonerHere, TransferCost, TRANSFER_BYTES_PER_MS } from "../../src/worker/placement.js";
import { TaskExecutor } from "../../src/worker/executor.js";
import { createLogger } from "../../src/log.js";

const MiB = 1024 * 1024;
const task = (mib: number) => ({ frames: mib ? [Buffer.alloc(8), Buffer.alloc(mib * MiB)] : [Buffer.alloc(8)] });

test("a task with data starts here when the backlog ahead is shorter than moving its data", () => {
  const msPerMiB = MiB / TRANSFER_BYTES_PER_MS;
  assert.equal(startsSoonerHere(0, 50, 0, MiB), true, "nothing ahead: here");
  assert.equal(startsSoonerHere(5, 0.1, 0, MiB), 5 * 0.1 <= msPerMiB, "cheap tasks ahead: here");
  assert.equal(startsSoonerHere(1, 50, 0, MiB), false, "one long task ahead: elsewhere");
  // Data already shipped delays the next shipment: after 10 MiB in flight, a backlog of 5 ms wins.
  assert.equal(startsSoonerHere(50, 0.1, 0, MiB), false);
  assert.equal(startsSoonerHere(50, 0.1, 10 * MiB, MiB), true);
});

test("a burst of cheap tasks on 1 MiB arrays: most stay, a few are shipped while shipping is quicker", () => {
  let ahead = 0;
  let shipped = 0;
  const here: number[] = [];
  for (let i = 0; i < 64; i++) {
    if (startsSoonerHere(ahead, 0.12, shipped, MiB)) {
      here.push(i);
      ahead++;
    } else shipped += MiB;
  }
  assert.ok(here.length >= 56 && here.length < 64, `${here.length} of 64 stay`);
});

test("the cost of shipping follows the measured round trips of shipped tasks", () => {
  const cost = new TransferCost();
  assert.equal(cost.msPerByte, 1 / TRANSFER_BYTES_PER_MS, "the assumed rate until measured");
  // 1 MiB tasks of ~0.1 ms that came back 20 ms after leaving: shipping is ~20 ms per MiB here.
  for (let i = 0; i < 20; i++) cost.observe(MiB, 20.1, 0.1);
  assert.ok(Math.abs(cost.msPerByte * MiB - 20) < 0.1, String(cost.msPerByte * MiB));
  // ... so a burst of cheap tasks keeps them all, where the assumed rate shipped some.
  let ahead = 0;
  for (let i = 0; i < 64; i++) if (startsSoonerHere(ahead, 0.12, 0, MiB, cost.msPerByte)) ahead++;
  assert.equal(ahead, 64);
  assert.equal(startsSoonerHere(10, 0.12, 0, MiB), false, "with the assumed rate, 1.2 ms ahead > 1 ms");
  // A task's own run time is not counted as transfer: long tasks that came back 50 ms later with a
  // typical time of 49.9 ms leave the cost low.
  const long = new TransferCost();
  for (let i = 0; i < 20; i++) long.observe(MiB, 50, 49.9);
  assert.ok(long.msPerByte * MiB < 0.2);
});

test("splitBacklog hands over every task without data, and those with data only when moving them is quicker", () => {
  const backlog = [task(0), task(1), task(0), task(1), task(1)];
  // Long tasks: everything past `keep` goes.
  assert.deepEqual(splitBacklog(backlog, 2, () => 50, 0), { ship: backlog, stay: [] });
  // Cheap tasks: the plain ones go, the data-carrying ones stay.
  const cheap = splitBacklog(backlog, 2, () => 0.01, 0);
  assert.deepEqual(cheap.ship, [backlog[0], backlog[2]]);
  assert.deepEqual(cheap.stay, [backlog[1], backlog[3], backlog[4]]);
  // In between (3 ms of tasks ahead): each one shipped makes the next one's trip longer, until the
  // third would arrive no sooner than it starts here.
  const mid = splitBacklog([task(1), task(1), task(1)], 3, () => 1, 0);
  assert.equal(mid.ship.length, 2);
  assert.equal(mid.stay.length, 1);
  assert.equal(binaryBytes(task(2).frames), 2 * MiB);
});

test("typicalDataTaskMs: per function, tasks with binary arguments only, first call left out, a preempted run shrugged off", async () => {
  let calls = 0;
  // The first call is slow (cold); the 4th is slow too (as if the OS had preempted it).
  function withData(_a: Float64Array): number {
    calls++;
    const end = performance.now() + (calls === 1 ? 30 : calls === 4 ? 20 : 0.2);
    while (performance.now() < end);
    return 1;
  }
  function other(_a: Float64Array): number {
    return 2;
  }
  const fns: Record<string, Function> = { withData, other };
  const registry = {
    refOfClass: () => undefined,
    classOf: () => undefined,
    resolveCached: (ref: { n: string }) => fns[ref.n],
    resolve: async (ref: { n: string }) => fns[ref.n]!,
  };
  const done: number[] = [];
  const executor = new TaskExecutor({
    registry: registry as never,
    workerName: "test",
    logger: createLogger("test", "error"),
    sendResult: (id) => done.push(id),
    requestTasks: () => {},
    returnTasks: () => {},
  });
  executor.start();
  const big = new Float64Array(8192); // 64 KiB: travels as its own frame
  const frames = (n: string, arg: unknown) => encodeValue([0, { m: "test", n }, [arg], null, false], registry as never);
  assert.ok(frames("withData", big).length > 1, "a task with binary arguments");
  const run = async (id: number, f: Buffer[]) => {
    executor.acceptLocal(id, f);
    while (!done.includes(id)) await new Promise((r) => setImmediate(r));
  };
  assert.equal(executor.typicalDataTaskMs(withData), 0.05, "before any run: the initial guess");
  await run(1, frames("withData", big));
  assert.equal(executor.typicalDataTaskMs(withData), 0.05, "a first call alone measures nothing");
  assert.ok(executor.averageTaskMs > 5, `the prefetch average counts it: ${executor.averageTaskMs}`);
  for (let id = 2; id <= 6; id++) await run(id, frames("withData", big));
  const typical = executor.typicalDataTaskMs(withData);
  assert.ok(typical > 0.15 && typical < 2, `median of 0.2, 0.2, 20, 0.2, 0.2 ms: ${typical}`);
  assert.equal(executor.typicalDataTaskMs(other), 0.05, "another function has its own (none yet)");
  await run(7, frames("other", [1, 2, 3]));
  assert.equal(executor.typicalDataTaskMs(other), 0.05, "tasks without binary arguments are not timed");
  executor.stop();
});
