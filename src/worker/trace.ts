/**
 * Task traces for `scoop --debug DIR`: every worker writes `DIR/<worker>.jsonl`, one JSON record per
 * line:
 *
 *   {"ev":"submit","id":…,"fn":"fib","worker":"w1","t":…}             a task left this worker
 *   {"ev":"start","id":…,"fn":"file:///…/fib.ts#fib","worker":"w2","t":…,"queued":3,"suspended":1}
 *   {"ev":"end","id":…,"fn":"…","ok":true,"worker":"w2","t":…,"queued":2,"suspended":1}
 *
 * `t` is milliseconds since the epoch with sub-millisecond precision; `id` is unique in the pool, so
 * a task's submit (on the submitting worker) and start/end (on the executing one) join by id.
 * `queued` is the number of tasks received and not started on this worker, `suspended` the number
 * of started tasks waiting on futures. The launcher adds `broker.jsonl` (broker queue samples).
 *
 * Records are buffered and appended a few times per second and at exit, so tracing costs little.
 */
import { appendFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
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
  executor.onTaskEnd = (id, ok) => {
    prevEnd?.(id, ok);
    const fn = names.get(id);
    names.delete(id);
    record({ ev: "end", id, fn, ok, worker, t: now(), queued: executor.queued, suspended: executor.inFlight });
  };
  const submit = runtime.submit.bind(runtime);
  runtime.submit = ((op, fn, payload, extra, unary) => {
    const future = submit(op, fn, payload, extra, unary);
    record({ ev: "submit", id: future.id, fn: fn.name || "anonymous", op, worker, t: now() });
    return future;
  }) as WorkerRuntime["submit"];

  const timer = setInterval(flush, FLUSH_MS);
  timer.unref();
  process.on("exit", flush);
  return () => {
    clearInterval(timer);
    process.off("exit", flush);
    executor.onTaskStart = prevStart;
    executor.onTaskEnd = prevEnd;
    flush();
  };
}
