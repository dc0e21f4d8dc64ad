/**
 * Worker telemetry for an observed pool (`scoop --dashboard`, `--metrics`): installed only when the
 * broker's WELCOME says `observe`, so an unobserved pool runs none of this.
 *
 * It chains the executor's task hooks (as trace.ts does) to record task spans, failures with their
 * stacks, the running task's function and busy time; it follows the chunked calls (map, mapReduce…)
 * this process starts; and every {@link PERIOD_MS} it sends one TELEMETRY frame with all of it plus
 * the process's CPU use and memory. Per task it costs two clock reads and a few assignments: runs of
 * very short back-to-back tasks of one function become one bar ("n tasks") instead of n records.
 */
import { observeChunkEngines, type ChunkEngine } from "../futures/chunks.js";
import {
  encodeTelemetry,
  TELEMETRY_VERSION,
  type ErrorRecord,
  type MapRecord,
  type SpanRecord,
  type TelemetryBatch,
} from "../observe/telemetry-format.js";
import type { WorkerRuntime } from "./runtime.js";

export const PERIOD_MS = 500;
/**
 * Bars per frame, at most, shared by the pool (about 4,000 bars a second in all, which a page can
 * draw): beyond, they are counted as dropped. Errors per frame, at most.
 */
const POOL_SPANS_PER_SECOND = 4000;
const MIN_SPANS = 20;
const MAX_SPANS = 1000;
const MAX_ERRORS = 20;
const MAX_STACK = 8000;
/** A task shorter than this, starting within MERGE_GAP_MS of the previous bar's end, extends that bar. */
const MERGE_MS = 0.5;
const MERGE_GAP_MS = 0.25;
/** Chunked calls followed at once (the oldest are forgotten beyond). */
const MAX_MAPS = 64;

interface Started {
  t: number;
  fn: string;
}

/** Starts sending telemetry for `runtime`; returns a function that sends a last frame and stops. */
export function installTelemetry(runtime: WorkerRuntime): () => void {
  const executor = runtime.executor;
  const origin = performance.timeOrigin;
  const now = performance.now.bind(performance);

  // The task that started last and has not ended: most tasks are synchronous and end before the next
  // one starts, so they never touch the map below.
  let curId = -1;
  let curT = 0;
  let curFn = "";
  const started = new Map<number, Started>();
  let running = 0;
  /**
   * Most tasks running at once since the last frame: a frame is made between tasks, when a
   * synchronous one is never running, so this says what the worker was doing meanwhile.
   */
  let peak = 0;
  let busySince = 0;
  let busyMs = 0;
  let done = 0;
  let failed = 0;

  const spanCap = () =>
    Math.max(MIN_SPANS, Math.min(MAX_SPANS, Math.floor((POOL_SPANS_PER_SECOND * PERIOD_MS) / 1000 / Math.max(1, runtime.size || 1))));
  let maxSpans = spanCap();
  let spans: SpanRecord[] = [];
  let last: SpanRecord | undefined;
  let droppedSpans = 0;
  let errors: ErrorRecord[] = [];
  let droppedErrors = 0;

  // A task that starts in the same run of JavaScript as the previous one ended (the executor's loop,
  // or the microtasks after it: no I/O, no idle time between) starts when that one ended, to within
  // the decoding between them; so back-to-back tasks cost one clock read each, not two.
  let lastEnd = 0;
  let sameRun = false;
  const runOver = () => {
    sameRun = false;
  };

  const prevStart = executor.onTaskStart;
  const prevEnd = executor.onTaskEnd;
  executor.onTaskStart = (id, fn) => {
    prevStart?.(id, fn);
    const t = sameRun ? lastEnd : now();
    if (curId !== -1) started.set(curId, { t: curT, fn: curFn });
    curId = id;
    curT = t;
    curFn = fn;
    if (running++ === 0) busySince = t;
    if (running > peak) peak = running;
  };
  executor.onTaskEnd = (id, ok, error) => {
    prevEnd?.(id, ok, error);
    const end = now();
    lastEnd = end;
    if (!sameRun) {
      sameRun = true;
      queueMicrotask(runOver);
    }
    let t = end;
    let fn = "?";
    if (id === curId) {
      t = curT;
      fn = curFn;
      curId = -1;
      if (--running === 0) busyMs += end - busySince;
    } else {
      // An async task ending, or one that failed before it could start (undecodable, unknown
      // function): then a zero-length bar.
      const s = started.get(id);
      if (s) {
        started.delete(id);
        t = s.t;
        fn = s.fn;
        if (--running === 0) busyMs += end - busySince;
      }
    }
    done++;
    if (!ok) {
      failed++;
      if (errors.length < MAX_ERRORS) errors.push(describeError(id, fn, origin + end, error));
      else droppedErrors++;
    }
    if (
      last !== undefined &&
      end - t < MERGE_MS &&
      t - last.end < MERGE_GAP_MS &&
      last.fn === fn &&
      last.ok === ok &&
      last.end - last.start < last.n * MERGE_MS + MERGE_GAP_MS * (last.n - 1) &&
      last.end - last.start < 50
    ) {
      last.end = end;
      last.n++;
    } else if (spans.length < maxSpans) {
      last = { fn, start: t, end, ok, n: 1 };
      spans.push(last);
    } else {
      droppedSpans++;
    }
  };

  // Chunked calls started in this process.
  const maps = new Map<ChunkEngine, number>();
  let mapKey = 0;
  observeChunkEngines((engine) => {
    if (maps.size >= MAX_MAPS) maps.delete(maps.keys().next().value!);
    maps.set(engine, ++mapKey);
  });

  let cpuAt = now();
  let cpu = process.cpuUsage();
  const send = () => {
    const t = now();
    const c = process.cpuUsage();
    const cpuPct = t > cpuAt ? ((c.user - cpu.user + c.system - cpu.system) / 1000 / (t - cpuAt)) * 100 : 0;
    cpu = c;
    cpuAt = t;
    const mapRecords: MapRecord[] = [];
    for (const [engine, key] of maps) {
      const p = engine.progress();
      mapRecords.push({ key, call: p.call, fn: p.fn, done: p.done, submitted: p.submitted, total: p.total ?? null, ended: p.ended, failed: p.failed });
      if (p.ended) maps.delete(engine); // reported ended once; the observer keeps it
    }
    // The latest task started, if it still runs or ran since the previous frame.
    const current = peak > 0 || running > 0 ? curFn : null;
    const mem = process.memoryUsage();
    const batch: TelemetryBatch = {
      v: TELEMETRY_VERSION,
      t: origin + t,
      running: peak,
      queued: executor.queued,
      current,
      cpu: Math.round(cpuPct * 10) / 10,
      rss: mem.rss,
      heapUsed: mem.heapUsed,
      done,
      failed,
      submitted: runtime.submittedCount,
      busyMs: running > 0 ? busyMs + (t - busySince) : busyMs,
      spans: spans.map((s) => ({ ...s, start: origin + s.start, end: origin + s.end })),
      droppedSpans,
      errors,
      droppedErrors,
      maps: mapRecords,
    };
    peak = running;
    spans = [];
    maxSpans = spanCap();
    last = undefined;
    droppedSpans = 0;
    errors = [];
    droppedErrors = 0;
    try {
      runtime.sendTelemetry(encodeTelemetry(batch));
    } catch (err) {
      runtime.logger.debug("telemetry not sent:", (err as Error).message);
    }
  };
  const timer = setInterval(send, PERIOD_MS);
  timer.unref();
  send(); // the observer learns of this worker's telemetry at once

  let stopped = false;
  return () => {
    if (stopped) return;
    stopped = true;
    clearInterval(timer);
    observeChunkEngines(undefined);
    send();
    executor.onTaskStart = prevStart;
    executor.onTaskEnd = prevEnd;
  };
}

function describeError(id: number, fn: string, t: number, error: unknown): ErrorRecord {
  let name = "Error";
  let message: string;
  let stack = "";
  if (error instanceof Error) {
    name = error.name;
    message = error.message;
    stack = error.stack ?? `${error.name}: ${error.message}`;
  } else if (typeof error === "object" && error !== null && "message" in error) {
    const e = error as { name?: unknown; message?: unknown; stack?: unknown };
    name = String(e.name ?? "Error");
    message = String(e.message);
    stack = typeof e.stack === "string" ? e.stack : "";
  } else {
    message = `thrown value: ${safeString(error)}`;
  }
  return { id, fn, t, name, message: message.slice(0, 2000), stack: stack.slice(0, MAX_STACK) };
}

function safeString(v: unknown): string {
  try {
    return String(v).slice(0, 500);
  } catch {
    return typeof v;
  }
}
