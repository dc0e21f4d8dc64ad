/**
 * A worker's side of `scoop --progress`: its task counts, sent to the launcher a few times a second
 * as marker lines on stderr (see progress.ts). Counted here rather than at the broker because a
 * worker runs many of its own submissions itself (nested tasks, its share of a burst) and those
 * never cross the broker.
 */
import type { WorkerRuntime } from "../worker/runtime.js";
import { encodeProgress, REPORT_INTERVAL_MS, type WorkerReport } from "./progress.js";

/** Starts reporting; returns a function that sends a last report and stops. */
export function installProgressReports(runtime: WorkerRuntime, intervalMs = REPORT_INTERVAL_MS): () => void {
  const executor = runtime.executor;
  let submitted = 0;
  let cancelled = 0;
  const submit = runtime.submit.bind(runtime);
  runtime.submit = ((op, fn, payload, extra, unary) => {
    const future = submit(op, fn, payload, extra, unary);
    submitted++;
    future.addDoneCallback((f) => {
      if (f.cancelled()) cancelled++;
    });
    return future;
  }) as WorkerRuntime["submit"];

  let elu = performance.eventLoopUtilization();
  // Sent even when nothing changed: a worker that stops reporting is stuck in a long synchronous task.
  const report = () => {
    const now = performance.eventLoopUtilization();
    const busy = performance.eventLoopUtilization(now, elu).utilization;
    elu = now;
    const r: WorkerReport = { k: "w", s: submitted, c: cancelled, d: executor.completed, q: executor.queued, r: executor.inFlight, b: Math.round(busy * 100) / 100 };
    try {
      process.stderr.write(encodeProgress(r));
    } catch {
      // the launcher is gone: nothing to report to
    }
  };
  const timer = setInterval(report, intervalMs);
  timer.unref();
  const atExit = () => report();
  process.on("exit", atExit);
  report();
  return () => {
    clearInterval(timer);
    process.off("exit", atExit);
    report();
  };
}
