// Worker telemetry (src/worker/telemetry.ts) and the broker-side observer (src/observe/observer.ts),
// in process: what the executor hooks record, how frames are made and read, and how the observer
// turns them into the pool's picture.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { HelloInfo } from "../../src/protocol/messages.js";
import { Observer } from "../../src/observe/observer.js";
import { decodeTelemetry, encodeTelemetry, type TelemetryBatch } from "../../src/observe/telemetry-format.js";
import { installTelemetry } from "../../src/worker/telemetry.js";
import type { WorkerRuntime } from "../../src/worker/runtime.js";

type Hooks = {
  onTaskStart: ((id: number, fn: string) => void) | undefined;
  onTaskEnd: ((id: number, ok: boolean, error?: unknown) => void) | undefined;
  queued: number;
};

function fakeRuntime() {
  const executor: Hooks = { onTaskStart: undefined, onTaskEnd: undefined, queued: 0 };
  const frames: TelemetryBatch[] = [];
  const runtime = {
    executor,
    size: 2,
    submittedCount: 0,
    sendTelemetry: (f: Buffer) => frames.push(decodeTelemetry(f)),
    logger: { debug() {} },
  };
  return { runtime: runtime as unknown as WorkerRuntime, executor, frames, raw: runtime };
}

function spin(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

test("telemetry: tiny tasks merge into bars, long and async ones keep their own, failures carry their stack", () => {
  const { runtime, executor, frames, raw } = fakeRuntime();
  const seen: unknown[] = [];
  executor.onTaskEnd = (id, ok, error) => seen.push([id, ok, error]); // an earlier hook (tracing) still runs
  const stop = installTelemetry(runtime);
  assert.equal(frames.length, 1, "a first frame at once");
  for (let i = 0; i < 100; i++) {
    executor.onTaskStart!(i, "tiny");
    executor.onTaskEnd!(i, true);
  }
  executor.onTaskStart!(200, "long");
  spin(3);
  executor.onTaskEnd!(200, true);
  // two async tasks overlapping: B starts before A ends
  executor.onTaskStart!(300, "asyncA");
  executor.onTaskStart!(301, "asyncB");
  spin(1);
  executor.onTaskEnd!(300, true);
  executor.onTaskEnd!(301, true);
  const err = new RangeError("nope");
  executor.onTaskStart!(400, "bad");
  executor.onTaskEnd!(400, false, err);
  executor.onTaskEnd!(401, false, new TypeError("undecodable")); // failed before it started
  raw.submittedCount = 7;
  executor.queued = 3;
  stop();
  assert.equal(seen.length, 105, "the previous hook saw every end");
  const last = frames[frames.length - 1]!;
  assert.equal(last.done, 105);
  assert.equal(last.failed, 2);
  assert.equal(last.submitted, 7);
  assert.equal(last.queued, 3);
  assert.equal(last.running, 2, "most tasks running at once since the previous frame (the async pair)");
  assert.equal(last.current, "bad", "the latest task that ran");
  assert.ok(last.busyMs >= 4, `busy ${last.busyMs}`);
  const spans = frames.flatMap((f) => f.spans);
  const tiny = spans.filter((s) => s.fn === "tiny");
  assert.equal(tiny.reduce((a, s) => a + s.n, 0), 100);
  assert.ok(tiny.length < 10, `runs of tiny tasks are merged: ${tiny.length} bars`);
  const long = spans.filter((s) => s.fn === "long");
  assert.equal(long.length, 1);
  assert.ok(long[0]!.end - long[0]!.start >= 3);
  assert.deepEqual(
    spans.filter((s) => s.fn.startsWith("async")).map((s) => [s.fn, s.n]),
    [
      ["asyncA", 1],
      ["asyncB", 1],
    ],
  );
  const errors = frames.flatMap((f) => f.errors);
  assert.equal(errors.length, 2);
  assert.deepEqual([errors[0]!.id, errors[0]!.fn, errors[0]!.name, errors[0]!.message], [400, "bad", "RangeError", "nope"]);
  assert.match(errors[0]!.stack, /^RangeError: nope\n\s+at /);
  assert.deepEqual([errors[1]!.fn, errors[1]!.name], ["?", "TypeError"]);
  assert.ok(Math.abs(last.t - Date.now()) < 1000, "times are epoch milliseconds");
  assert.ok(spans.every((s) => Math.abs(s.start - Date.now()) < 5000 && s.end >= s.start));
});

test("telemetry: stop() puts the previous hooks back", () => {
  const { runtime, executor } = fakeRuntime();
  const start = () => {};
  executor.onTaskStart = start;
  const stop = installTelemetry(runtime);
  assert.notEqual(executor.onTaskStart, start);
  stop();
  assert.equal(executor.onTaskStart, start);
  assert.equal(executor.onTaskEnd, undefined);
});

test("a malformed TELEMETRY frame is refused by the decoder", () => {
  assert.throws(() => decodeTelemetry(Buffer.from([0xc1])));
  assert.throws(() => decodeTelemetry(encodeTelemetry({ v: 99 } as unknown as TelemetryBatch)), /version/);
  const ok = fakeFrame({});
  assert.throws(() => decodeTelemetry(encodeTelemetry({ ...ok, spans: [{ fn: 1 }] } as unknown as TelemetryBatch)), /bad span/);
});

function fakeFrame(o: Partial<TelemetryBatch>): TelemetryBatch {
  return {
    v: 1,
    t: Date.now(),
    running: 0,
    queued: 0,
    current: null,
    cpu: 0,
    rss: 1,
    heapUsed: 1,
    done: 0,
    failed: 0,
    submitted: 0,
    busyMs: 0,
    spans: [],
    droppedSpans: 0,
    errors: [],
    droppedErrors: 0,
    maps: [],
    ...o,
  };
}

const hello = (name: string, origin = false): HelloInfo => ({
  protocol: 1,
  version: "x",
  name,
  brokerName: "b",
  origin,
  host: "h",
  pid: 1,
  executes: true,
});

test("observer: workers' counters add up, clocks are aligned, maps end done or stopped, a lost worker shows as lost", () => {
  const o = new Observer();
  o.workerJoined(hello("origin", true));
  o.workerJoined(hello("w1"));
  const now = Date.now();
  // w1's clock is 10 s behind: its bars are moved onto the broker's clock.
  o.telemetry(
    "w1",
    encodeTelemetry(
      fakeFrame({
        t: now - 10_000,
        done: 5,
        running: 1,
        current: "f",
        spans: [{ fn: "f", start: now - 10_050, end: now - 10_020, ok: true, n: 1 }],
        maps: [{ key: 1, call: "map", fn: "f", done: 2, submitted: 4, total: 10, ended: false, failed: false }],
      }),
    ),
  );
  o.telemetry(
    "origin",
    encodeTelemetry(
      fakeFrame({
        done: 3,
        failed: 1,
        submitted: 8,
        errors: [{ id: 9, fn: "g", t: now, name: "Error", message: "m", stack: "Error: m\n    at g" }],
        maps: [{ key: 1, call: "map", fn: "f", done: 10, submitted: 10, total: 10, ended: true, failed: false }],
      }),
    ),
  );
  o.telemetry("w1", Buffer.from("junk"));
  o.telemetry("stranger", encodeTelemetry(fakeFrame({ done: 100 })));
  assert.deepEqual(o.totals(), { done: 8, failed: 1, submitted: 8, busyMs: 0 });
  assert.equal(o.telemetryErrors, 1);
  const snap = o.snapshot();
  const w1 = snap.workers.find((w) => w.name === "w1")!;
  assert.deepEqual([w1.state, w1.current, w1.done], ["busy", "f", 5]);
  const bar = snap.bars[0]!;
  assert.ok(Math.abs(bar.start - (now - 50)) < 1000, `bar moved to the broker's clock: ${bar.start - now}`);
  assert.deepEqual(
    snap.maps.map((m) => [m.id, m.state, m.done, m.total]),
    [
      ["w1#1", "running", 2, 10],
      ["origin#1", "done", 10, 10],
    ],
  );
  assert.equal(snap.errors[0]!.worker, "origin");
  assert.deepEqual(snap.fns, ["f"]);

  o.workerLeft("w1", true);
  const after = o.snapshot();
  assert.equal(after.workers.find((w) => w.name === "w1")!.state, "lost");
  assert.equal(after.maps.find((m) => m.id === "w1#1")!.state, "stopped");
  assert.equal(o.totals().done, 8, "a departed worker's tasks still count");
  // The same name joining again (a restarted worker) adds to what was counted.
  o.workerJoined(hello("w1"));
  o.telemetry("w1", encodeTelemetry(fakeFrame({ done: 2 })));
  assert.equal(o.totals().done, 10);
  assert.equal(o.snapshot().workers.find((w) => w.name === "w1")!.lane, w1.lane, "it keeps its lane");
});
