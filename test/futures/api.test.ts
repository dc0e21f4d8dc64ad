// The futures API in process, against a scripted runtime: Future semantics, wait/asCompleted, and the
// chunk engine under map/mapAsCompleted/mapReduce/mapScan (order, window, laziness, zip, timeouts,
// errors). Fast and deterministic; the same calls on real processes are in scoop-suite.test.ts.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ArgumentError, CancelledError, SerializationError, TimeoutError, WaitTimeoutError } from "../../src/errors.js";
import { createFuturesApi, type FuturesApi } from "../../src/futures/api.js";
import { mapWindow } from "../../src/futures/chunks.js";
import { Future, setCallbackErrorReporter } from "../../src/futures/future.js";
import type { Runtime } from "../../src/futures/runtime.js";
import { createSharedApi } from "../../src/futures/shared.js";
import { createLogger } from "../../src/log.js";
import type { CallOp } from "../../src/protocol/envelope.js";
import { invoke, isThenable } from "../../src/worker/invoke.js";
import { SerialRuntime } from "../../src/worker/serial-runtime.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Task {
  op: CallOp;
  fn: Function;
  payload: unknown[];
  extra: Function | undefined;
  unary: boolean;
  future: Future<unknown>;
  cancelled: boolean;
  ran: boolean;
}

/**
 * Runs tasks in this process after `delay(task)` ms (or holds them until `release()` when `manual`),
 * recording what was submitted, what ran and what was cancelled.
 */
class ScriptedRuntime implements Runtime {
  readonly isOrigin = true;
  readonly workerName = "scripted";
  readonly brokerName = "scripted";
  readonly isRunning = true;
  readonly logger = createLogger("scripted", "silent");
  readonly tasks: Task[] = [];
  manual = false;
  delay: (t: Task) => number = () => 0;
  refuse: ((fn: Function, payload: unknown[]) => string | undefined) | undefined;
  constructor(readonly size = 2) {}

  hosts(): string[] {
    return Array(this.size).fill("localhost");
  }

  get open(): number {
    return this.tasks.filter((t) => !t.future.done()).length;
  }

  submit<R>(op: CallOp, fn: Function, payload: unknown[], extra?: Function, unary = false): Future<R> {
    const why = this.refuse?.(fn, payload);
    if (why) throw new SerializationError(why);
    const task = { op, fn, payload, extra, unary, cancelled: false, ran: false } as Task;
    task.future = new Future<unknown>(this.tasks.length + 1, fn.name, () => (task.cancelled = true));
    this.tasks.push(task);
    if (!this.manual) setTimeout(() => this.run(task), this.delay(task));
    return task.future as Future<R>;
  }

  run(task: Task): void {
    if (task.cancelled || task.future.done()) return;
    task.ran = true;
    try {
      const r = invoke(task.op, task.fn as never, task.payload, task.extra as never, task.unary);
      if (isThenable(r)) Promise.resolve(r).then((v) => task.future.resolve(v), (e) => task.future.reject(e));
      else task.future.resolve(r);
    } catch (e) {
      task.future.reject(e);
    }
  }

  /** Runs the held tasks (manual mode), in the given order of indexes or in submission order. */
  release(order?: number[]): void {
    const pending = this.tasks.filter((t) => !t.ran && !t.cancelled);
    for (const i of order ?? pending.map((_, k) => k)) if (pending[i]) this.run(pending[i]!);
  }

  async setConst(): Promise<void> {}
  async getConst(): Promise<unknown> {
    return undefined;
  }
  async shutdown(): Promise<void> {}
}

function api(rt: Runtime): FuturesApi {
  return createFuturesApi(() => rt);
}

const square = (x: number) => x * x;
const add = (a: number, b: number) => a + b;
const concat = (a: string, b: string) => a + b;

describe("Future", () => {
  it("result/exception honour their timeout with TimeoutError; the future stays usable", async () => {
    const f = new Future<number>(1, "slow");
    const t0 = Date.now();
    const e = await f.result({ timeout: 30 }).catch((x) => x);
    assert.ok(e instanceof TimeoutError && e.code === "ERR_SCOOP_TIMEOUT", String(e));
    assert.match(e.message, /result\(\) timed out after 30 ms waiting for task slow #1/);
    assert.ok(Date.now() - t0 < 1000);
    await assert.rejects(f.exception({ timeout: 10 }), TimeoutError);
    f.resolve(5);
    assert.equal(await f.result({ timeout: 10 }), 5);
    assert.equal(await f.exception({ timeout: 0 }), undefined);
    assert.throws(() => f.result({ timeout: -1 }), TypeError);
  });

  it("cancel(): true before the end, the future is done, every waiter gets CancelledError, onCancel is asked", async () => {
    let asked = 0;
    const f = new Future<number>(2, "t", () => asked++);
    const waiting = [f.result(), f.exception(), (async () => await f)()];
    assert.equal(f.cancel(), true);
    assert.equal(asked, 1);
    assert.deepEqual([f.done(), f.cancelled(), f.running()], [true, true, false]);
    for (const w of waiting) await assert.rejects(w, CancelledError);
    assert.equal(f.cancel(), true, "cancelling again still reports it cancelled");
    assert.equal(asked, 1);
    f.resolve(3);
    await assert.rejects(f.result(), CancelledError, "a late result does not revive it");
    const g = new Future<number>(3, "t");
    g.resolve(1);
    assert.equal(g.cancel(), false, "a finished future cannot be cancelled");
    const h = new Future<number>(4, "t");
    h.markRunning();
    assert.equal(h.running(), true);
    assert.equal(h.cancel(), false, "a running future cannot be cancelled");
  });

  it("addDoneCallback: called once done, at once when already done; a throwing callback is reported and the others still run", async () => {
    const reported: unknown[] = [];
    setCallbackErrorReporter((e) => reported.push(e));
    try {
      const f = new Future<number>(5, "t");
      const calls: string[] = [];
      f.addDoneCallback(() => calls.push("a"));
      f.addDoneCallback(() => {
        throw new Error("boom");
      });
      f.addDoneCallback((x) => calls.push(`c${x === f}`));
      assert.equal(calls.length, 0);
      f.resolve(1);
      assert.deepEqual(calls, ["a", "ctrue"]);
      assert.equal((reported[0] as Error).message, "boom");
      f.addDoneCallback(() => calls.push("late"));
      assert.deepEqual(calls, ["a", "ctrue", "late"]);
      assert.throws(() => f.addDoneCallback(5 as never), TypeError);
    } finally {
      setCallbackErrorReporter((err) => console.error("scoop: error in a future's done callback:", err));
    }
  });

  it("is a thenable: await, then, and a rejected one rejects", async () => {
    const f = new Future<number>(6, "t");
    setTimeout(() => f.resolve(41), 5);
    assert.equal(await f, 41);
    assert.equal(await f.then((v) => v + 1), 42);
    const g = new Future<number>(7, "t");
    g.reject(new RangeError("no"));
    await assert.rejects(async () => await g, RangeError);
    assert.ok((await g.exception()) instanceof RangeError);
  });
});

describe("wait", () => {
  const make = (n: number) => Array.from({ length: n }, (_, i) => new Future<number>(i + 1, `f${i}`));
  const f = api(new ScriptedRuntime());

  it("ALL_COMPLETED waits for every future, failures included", async () => {
    const fs = make(3);
    const p = f.wait(fs);
    fs[1]!.reject(new Error("x"));
    fs[0]!.resolve(1);
    await sleep(5);
    let settled = false;
    void p.then(() => (settled = true));
    await sleep(5);
    assert.equal(settled, false, "ALL_COMPLETED returned before the last future");
    fs[2]!.resolve(3);
    const { done, notDone } = await p;
    assert.equal(done.size, 3);
    assert.equal(notDone.size, 0);
  });

  it("FIRST_COMPLETED returns at the first done future", async () => {
    const fs = make(3);
    const p = f.wait(fs, { returnWhen: f.FIRST_COMPLETED });
    fs[2]!.resolve(1);
    const { done, notDone } = await p;
    assert.deepEqual([...done], [fs[2]]);
    assert.deepEqual([...notDone], [fs[0], fs[1]]);
  });

  it("FIRST_EXCEPTION returns at the first failure, skips successes and cancellations", async () => {
    const fs = make(4);
    const p = f.wait(fs, { returnWhen: f.FIRST_EXCEPTION });
    let settled = false;
    void p.then(() => (settled = true));
    fs[0]!.resolve(1);
    fs[1]!.cancel();
    await sleep(5);
    assert.equal(settled, false, "FIRST_EXCEPTION returned without an exception");
    fs[3]!.reject(new Error("bad"));
    const { done, notDone } = await p;
    assert.deepEqual(new Set(done), new Set([fs[0], fs[1], fs[3]]));
    assert.deepEqual([...notDone], [fs[2]]);
    // Already satisfied: returns at once; no failure: waits for all.
    const again = await f.wait(fs, { returnWhen: "FIRST_EXCEPTION" });
    assert.equal(again.done.size, 3);
  });

  it("timeout rejects with WaitTimeoutError carrying done/notDone; timeout 0 is a poll; bad calls throw", async () => {
    const fs = make(2);
    fs[0]!.resolve(1);
    const e = await f.wait(fs, { timeout: 20 }).catch((x) => x);
    assert.ok(e instanceof WaitTimeoutError && e instanceof TimeoutError, String(e));
    assert.deepEqual([[...e.done], [...e.notDone]], [[fs[0]], [fs[1]]]);
    await assert.rejects(f.wait(fs, { timeout: 0 }), WaitTimeoutError);
    assert.equal((await f.wait(fs, { timeout: 0, returnWhen: "FIRST_COMPLETED" })).done.size, 1);
    await assert.rejects(f.wait([1] as never), ArgumentError);
    await assert.rejects(f.wait(fs, { returnWhen: "NEVER" as never }), ArgumentError);
    const dup = await f.wait([fs[0]!, fs[0]!], { timeout: 0 });
    assert.equal(dup.done.size, 1);
  });
});

describe("asCompleted", () => {
  const f = api(new ScriptedRuntime());
  const make = (n: number) => Array.from({ length: n }, (_, i) => new Future<number>(i + 1, `f${i}`));

  it("hands out the futures themselves, in completion order, each once", async () => {
    const fs = make(3);
    setTimeout(() => fs[2]!.resolve(3), 5);
    setTimeout(() => fs[0]!.reject(new Error("e")), 10);
    setTimeout(() => fs[1]!.resolve(2), 15);
    const seen: Future<number>[] = [];
    for await (const x of f.asCompleted([...fs, fs[1]!])) {
      assert.ok(x instanceof Future);
      seen.push(x);
    }
    assert.deepEqual(seen, [fs[2], fs[0], fs[1]]);
  });

  it("a timed-out next() rejects with TimeoutError and does not swallow a later future", async () => {
    const fs = make(2);
    fs[0]!.resolve(1);
    const it = f.asCompleted(fs, { timeout: 30 })[Symbol.asyncIterator]();
    assert.equal((await it.next()).value, fs[0]);
    await assert.rejects(it.next(), TimeoutError);
    fs[1]!.resolve(2);
    assert.equal((await it.next()).value, fs[1], "the future done after the timeout is still handed out");
    assert.equal((await it.next()).done, true);
  });
});

describe("map and mapAsCompleted", () => {
  it("starts at the call, keeps a bounded window, and pulls lazily", async () => {
    const rt = new ScriptedRuntime(2);
    rt.manual = true;
    let pulled = 0;
    function* naturals() {
      for (let i = 0; ; i++) {
        pulled++;
        yield i;
      }
    }
    const r = api(rt).map(square, naturals(), { chunkSize: 10 });
    const window = mapWindow(rt.size);
    assert.equal(rt.tasks.length, window, "the first window is submitted at the call");
    assert.equal(pulled, window * 10);
    const it = r[Symbol.asyncIterator]();
    const first = it.next();
    await sleep(5);
    assert.equal(rt.tasks.length, window, "no more chunks while none finished");
    rt.release([0]);
    assert.equal((await first).value, 0);
    await sleep(5);
    assert.equal(rt.tasks.length, window + 1, "one chunk done, one more submitted");
    await it.return!();
    assert.ok(rt.tasks.filter((t) => t.cancelled).length >= window - 1, "leaving early cancels the chunks in flight");
  });

  it("a chunk that finishes behind a slower one frees its place in the window; waiting results stay bounded", async () => {
    const rt = new ScriptedRuntime(2);
    rt.manual = true;
    function* naturals() {
      for (let i = 0; ; i++) yield i;
    }
    const r = api(rt).map(square, naturals(), { chunkSize: 1 });
    const window = mapWindow(rt.size);
    const it = r[Symbol.asyncIterator]();
    const first = it.next();
    // The head (chunk 0) is slow; the others finish and are replaced, so no worker waits for it.
    rt.release([1, 2, 3]);
    await sleep(5);
    assert.equal(rt.tasks.length, window + 3, "three finished behind the head, three more submitted");
    // Results held for a head that never ends are bounded (16 windows), then submission stops.
    for (let k = 0; k < 40; k++) {
      const held = rt.tasks.filter((t) => !t.ran && !t.cancelled).length;
      rt.release(Array.from({ length: held - 1 }, (_, i) => i + 1)); // every held chunk but the head
      await sleep(1);
    }
    assert.equal(rt.tasks.length, window * 16, "no more than 16 windows wait for the head");
    rt.release([0]);
    assert.equal((await first).value, 0);
    await it.return!();
  });

  it("values come in input order however the chunks complete; mapAsCompleted in completion order", async () => {
    const rt = new ScriptedRuntime(3);
    rt.delay = (t) => ((t.payload[0] as number) % 3) * 7;
    const xs = Array.from({ length: 30 }, (_, i) => i);
    assert.deepEqual(await api(rt).map(square, xs, { chunkSize: 1 }), xs.map(square));
    const streamed: number[] = [];
    for await (const v of api(rt).map(square, xs, { chunkSize: 4 })) streamed.push(v);
    assert.deepEqual(streamed, xs.map(square));
    const unordered: number[] = [];
    for await (const v of api(rt).mapAsCompleted(square, [2, 0, 1], { chunkSize: 1 })) unordered.push(v);
    assert.deepEqual(unordered, [0, 1, 4]);
  });

  it("zips like Python: shortest input wins, inputs pulled left to right, async inputs too", async () => {
    const f = api(new ScriptedRuntime());
    let pulledB = 0;
    async function* b() {
      for (let i = 0; ; i++) {
        pulledB++;
        yield 10 * i;
      }
    }
    assert.deepEqual(await f.map(add, [1, 2, 3], b()), [1, 12, 23]);
    assert.equal(pulledB, 3, "the longer input lost no element");
    assert.deepEqual(await f.map(add, [1, 2, 3, 4], new Set([5, 6])), [6, 8]);
    assert.deepEqual(await f.map(square, []), []);
  });

  it("refuses bad calls synchronously: non-function, no or non-iterable input, bad options, a value that cannot travel", () => {
    const rt = new ScriptedRuntime();
    rt.refuse = (_fn, payload) => (JSON.stringify(payload).includes("bad") ? "cannot travel: bad" : undefined);
    const f = api(rt);
    assert.throws(() => f.map(5 as never, [1]), ArgumentError);
    assert.throws(() => f.map(square as never), ArgumentError);
    assert.throws(() => f.map(square, 3 as never), ArgumentError);
    assert.throws(() => f.map(square, [1], { chunkSize: 0 }), /chunkSize must be a positive integer/);
    assert.throws(() => f.map(square, [1], { chunksize: 2 } as never), /unknown option "chunksize"/);
    assert.throws(() => f.map(square, [1], { timeout: -5 }), TypeError);
    assert.throws(() => f.map((x: string) => x, ["bad"]), SerializationError);
    assert.throws(() => f.mapAsCompleted((x: string) => x, ["bad"]), SerializationError);
  });

  it("the first task error rejects, even from a later chunk; the rest is cancelled", async () => {
    const rt = new ScriptedRuntime(2);
    rt.delay = (t) => ((t.payload as number[]).includes(0) ? 200 : 0);
    const boom = (x: number) => {
      if (x === 5) throw new RangeError("five");
      return x;
    };
    const t0 = Date.now();
    await assert.rejects(Promise.resolve(api(rt).map(boom, Array.from({ length: 100 }, (_, i) => i), { chunkSize: 1 })), RangeError);
    assert.ok(Date.now() - t0 < 150, "the error did not wait for the slow first chunk");
    await sleep(250);
    assert.ok(rt.tasks[0]!.cancelled);
  });

  it("timeout: the whole call rejects with TimeoutError and cancels what is in flight", async () => {
    const rt = new ScriptedRuntime(2);
    rt.manual = true;
    const r = api(rt).map(square, [1, 2, 3], { timeout: 30 });
    await assert.rejects(Promise.resolve(r), TimeoutError);
    assert.ok(rt.tasks.every((t) => t.cancelled));
    const it = api(rt).mapAsCompleted(square, [1], { timeout: 10 })[Symbol.asyncIterator]();
    await assert.rejects(it.next(), TimeoutError);
  });

  it("an async input that throws rejects the map; a sync one throws at the call", async () => {
    const f = api(new ScriptedRuntime());
    async function* failing() {
      yield 1;
      throw new Error("input broke");
    }
    await assert.rejects(Promise.resolve(f.map(square, failing())), /input broke/);
    function* failingSync() {
      yield 1;
      throw new Error("sync input broke");
    }
    assert.throws(() => f.map(square, failingSync(), { chunkSize: 5 }), /sync input broke/);
  });

  it("MapResult.cancel(): the chunks are withdrawn, the input closed, the consumer gets CancelledError", async () => {
    const rt = new ScriptedRuntime(2);
    rt.manual = true;
    let closed = false;
    function* naturals() {
      try {
        for (let i = 0; ; i++) yield i;
      } finally {
        closed = true;
      }
    }
    const r = api(rt).map(square, naturals());
    const all = Promise.resolve(r);
    r.cancel();
    await assert.rejects(all, CancelledError);
    assert.equal(closed, true);
    assert.ok(rt.tasks.every((t) => t.cancelled));
  });

  it("adaptive chunks: many cheap items travel in far fewer tasks", async () => {
    const rt = new ScriptedRuntime(2);
    const xs = Array.from({ length: 20_000 }, (_, i) => i);
    assert.deepEqual(await api(rt).map(square, xs), xs.map(square));
    assert.ok(rt.tasks.length < 2000, `${rt.tasks.length} tasks for 20000 items`);
  });
});

describe("mapReduce", () => {
  it("SCOOP's 1400; 0 items, 1 item, initial", async () => {
    const f = api(new ScriptedRuntime());
    assert.equal(await f.mapReduce(square, add, [10, 20, 30]), 1400);
    assert.equal(await f.mapReduce(square, add, [7]), 49);
    assert.equal(await f.mapReduce(square, add, [7], { initial: 1 }), 50);
    assert.equal(await f.mapReduce(square, add, [], { initial: 0 }), 0);
    await assert.rejects(f.mapReduce(square, add, []), (e: unknown) => e instanceof ArgumentError && /initial value/.test(e.message));
    await assert.rejects(f.mapReduce(square, add, [1], { initail: 0 } as never), /unknown option "initail"/);
  });

  it("is a tree on the runtime, keeps the input order for a non-commutative reducer, whatever the completion order", async () => {
    const rt = new ScriptedRuntime(3);
    let k = 0;
    rt.delay = () => (k++ * 7919) % 13;
    const letter = (i: number) => String.fromCharCode(97 + (i % 26));
    for (const n of [1, 2, 3, 5, 8, 13, 64, 100]) {
      for (const chunkSize of [1, 3]) {
        const xs = Array.from({ length: n }, (_, i) => i);
        const before = rt.tasks.length;
        assert.equal(await api(rt).mapReduce(letter, concat, xs, { chunkSize }), xs.map(letter).join(""), `n=${n} chunk=${chunkSize}`);
        const reduces = rt.tasks.slice(before).filter((t) => t.op === 0).length;
        assert.equal(reduces, Math.ceil(n / chunkSize) - 1, "one reduce task per pair of partials");
      }
    }
    assert.equal(await api(rt).mapReduce(letter, concat, [0, 1, 2], { initial: ">" }), ">abc");
  });

  it("a failing reduce rejects; timeout rejects with TimeoutError", async () => {
    const rt = new ScriptedRuntime(2);
    const badAdd = (a: number, b: number) => {
      if (a + b > 10) throw new RangeError("too big");
      return a + b;
    };
    await assert.rejects(api(rt).mapReduce((x: number) => x, badAdd, [1, 2, 3, 4, 5, 6], { chunkSize: 1 }), RangeError);
    const slow = new ScriptedRuntime(2);
    slow.manual = true;
    await assert.rejects(api(slow).mapReduce(square, add, [1, 2], { timeout: 20 }), TimeoutError);
  });
});

describe("mapScan", () => {
  it("SCOOP's [100, 500, 1400], and the inclusive scan for every length and block size", async () => {
    const rt = new ScriptedRuntime(3);
    let k = 0;
    rt.delay = () => (k++ * 31) % 5;
    const f = api(rt);
    assert.deepEqual(await f.mapScan(square, add, [10, 20, 30]), [100, 500, 1400]);
    const letter = (i: number) => String.fromCharCode(97 + (i % 26));
    for (let n = 0; n <= 25; n++) {
      for (const chunkSize of [1, 2, 3, 7, 100]) {
        const xs = Array.from({ length: n }, (_, i) => i);
        const expected = xs.map((_, i) => xs.slice(0, i + 1).map(letter).join(""));
        assert.deepEqual(await f.mapScan(letter, concat, xs, { chunkSize }), expected, `n=${n} chunk=${chunkSize}`);
      }
    }
  });
});

describe("submit and shutdown", () => {
  it("submit infers nothing at runtime but refuses a non-function; shutdown waits for submitted futures", async () => {
    const rt = new ScriptedRuntime();
    rt.delay = () => 30;
    let shut = false;
    rt.shutdown = async () => {
      shut = true;
    };
    const f = api(rt);
    assert.throws(() => f.submit(undefined as never), ArgumentError);
    const fut = f.submit(add, 2, 3);
    await f.shutdown();
    assert.equal(fut.done(), true);
    assert.equal(shut, true);
  });
});

describe("serial fallback", () => {
  it("the whole API works in process without a pool", async () => {
    const rt = new SerialRuntime("serial", undefined, createLogger("serial", "silent"));
    const f = api(rt);
    assert.equal(await f.submit(add, 1, 2), 3);
    assert.deepEqual(await f.map(square, [1, 2, 3]), [1, 4, 9]);
    assert.equal(await f.mapReduce(square, add, [10, 20, 30]), 1400);
    assert.deepEqual(await f.mapScan(square, add, [10, 20, 30]), [100, 500, 1400]);
    const shared = createSharedApi(() => rt);
    const later = shared.getConst("k", { timeout: 1000 });
    await shared.setConst({ k: 1 });
    assert.equal(await later, 1);
    await assert.rejects(shared.getConst("nope", { timeout: 10 }), TimeoutError);
    await assert.rejects(shared.setConst({ k: 2 }), /already defined/);
  });
});
