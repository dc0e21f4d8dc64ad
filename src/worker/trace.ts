/**
 * Task traces for `scoop --debug DIR`: every worker writes `DIR/<worker>.jsonl`, one JSON record per
 * line:
 *
 *   {"ev":"submit","id":…,"fn":"fib","op":0,"worker":"w1","t":…,"parent":…}  a task left this worker
 *   {"ev":"start","id":…,"fn":"fib","worker":"w2","t":…,"queued":3,"suspended":1}
 *   {"ev":"suspend","id":…,"worker":"w2","t":…}     its synchronous part returned a promise
 *   {"ev":"end","id":…,"fn":"…","ok":true,"worker":"w2","t":…,"queued":2,"suspended":1}
 *   {"ev":"queue","worker":"w2","t":…,"queued":9,"suspended":1}  tasks arrived, or were handed back
 *
 * `parent` is the id of the task that was running on the submitting worker when it submitted (also
 * after an `await`: it is tracked with AsyncLocalStorage); absent for submissions from `main` or
 * from outside any task. `suspend` is written only for tasks that return a promise: from `start` to
 * `suspend` the task held its worker, from `suspend` to `end` it waited on its futures (bar the
 * short continuations that ran in between). `op` is the call kind (0 call, 1 map chunk, 2 map-reduce
 * chunk, 3 scan chunk).
 *
 * `t` is milliseconds since the epoch with sub-millisecond precision; `id` is unique in the pool, so
 * a task's submit (on the submitting worker) and start/end (on the executing one) join by id.
 * `queued` is the number of tasks received and not started on this worker, `suspended` the number
 * of started tasks waiting on futures. The launcher adds `broker.jsonl` (broker queue samples).
 *
 * Records are buffered and appended a few times per second and at exit, so tracing costs little.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { appendFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { isThenable } from "./invoke.js";
import type { WorkerRuntime } from "./runtime.js";

/** The variable the launcher sets to the trace directory. */
export const TRACE_DIR_VAR = "SCOOP_TRACE_DIR";

const FLUSH_MS = 250;
const FLUSH_RECORDS = 2000;

/** Starts tracing `runtime` into `dir`; returns a function that stops and flushes. */
export function installTracing(runtime: WorkerRuntime, dir: string): () => void {
  const worker = runtime.workerName;
  const file = join(dir, `${worker.replace(/[^\w.-]/g, "_")}.jsonl`);
  try {
    mkdirSync(dir, { recursive: true });
    appendFileSync(file, ""); // a worker that ran nothing still shows it was traced
  } catch (err) {
    runtime.logger.warn(`--debug: cannot write ${file}: ${(err as Error).message}; no trace written`);
    return () => {};
  }
  let buffer: string[] = [];
  let failed = false;
  const flush = () => {
    if (buffer.length === 0 || failed) return;
    try {
      appendFileSync(file, buffer.join(""));
    } catch (err) {
      failed = true;
      runtime.logger.warn(`--debug: cannot write ${file}: ${(err as Error).message}; tracing stopped`);
    }
    buffer = [];
  };
  const record = (r: Record<string, unknown>) => {
    buffer.push(`${JSON.stringify(r)}\n`);
    if (buffer.length >= FLUSH_RECORDS) flush();
  };
  const now = () => performance.timeOrigin + performance.now();

  const executor = runtime.executor;
  const names = new Map<number, string>();
  const prevStart = executor.onTaskStart;
  const prevEnd = executor.onTaskEnd;
  executor.onTaskStart = (id, fn) => {
    prevStart?.(id, fn);
    names.set(id, fn);
    record({ ev: "start", id, fn, worker, t: now(), queued: executor.queued, suspended: executor.inFlight });
  };
  executor.onTaskEnd = (id, ok, error) => {
    prevEnd?.(id, ok, error);
    const fn = names.get(id);
    names.delete(id);
    record({ ev: "end", id, fn, ok, worker, t: now(), queued: executor.queued, suspended: executor.inFlight });
  };
  // The task running now, through its awaits too: the parent of what it submits.
  const current = new AsyncLocalStorage<number>();
  const prevRun = executor.runTask;
  executor.runTask = (id, call) => {
    const r = current.run(id, prevRun ? () => prevRun(id, call) : call);
    if (isThenable(r)) record({ ev: "suspend", id, worker, t: now() });
    return r;
  };
  const submit = runtime.submit.bind(runtime);
  runtime.submit = ((op, fn, payload, extra, unary) => {
    const future = submit(op, fn, payload, extra, unary);
    const parent = current.getStore();
    record({
      ev: "submit",
      id: future.id,
      fn: fn.name || "anonymous",
      op,
      worker,
      t: now(),
      ...(parent !== undefined ? { parent } : {}),
      queued: executor.queued,
      suspended: executor.inFlight,
    });
    return future;
  }) as WorkerRuntime["submit"];
  // The other moments this worker's queue changes: tasks arrive from the broker, or local ones are
  // handed back to it for idle workers.
  const queueSample = () => record({ ev: "queue", worker, t: now(), queued: executor.queued, suspended: executor.inFlight });
  const accept = executor.accept;
  const takeLocalBacklog = executor.takeLocalBacklog;
  executor.accept = function (this: typeof executor, ...a: Parameters<typeof accept>) {
    accept.apply(this, a);
    queueSample();
  };
  executor.takeLocalBacklog = function (this: typeof executor, keep: number) {
    const taken = takeLocalBacklog.call(this, keep);
    if (taken.length > 0) queueSample();
    return taken;
  };

  const timer = setInterval(flush, FLUSH_MS);
  timer.unref();
  process.on("exit", flush);
  return () => {
    clearInterval(timer);
    process.off("exit", flush);
    executor.onTaskStart = prevStart;
    executor.onTaskEnd = prevEnd;
    executor.runTask = prevRun;
    executor.accept = accept;
    executor.takeLocalBacklog = takeLocalBacklog;
    flush();
  };
}
