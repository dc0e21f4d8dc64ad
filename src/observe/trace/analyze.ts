/**
 * What a trace says in numbers: tasks and busy time per worker, task time and queued time per
 * function; and the layout the timeline and the Chrome trace share (sub-lanes of a worker, so that
 * tasks overlapping in time — a suspended parent and the children run meanwhile — never overlap on
 * one lane).
 */
import { runEnd, type TaskRun, type TraceData } from "./load.js";

export interface Distribution {
  mean: number;
  p50: number;
  p99: number;
  max: number;
}

export interface FunctionStats {
  fn: string;
  runs: number;
  failed: number;
  /** end - start (wall time, suspension included), ms, over the runs that ended. */
  time: Distribution | undefined;
  /** start - submit (time spent queued), ms, over the runs whose submit record was found. */
  queued: Distribution | undefined;
}

export interface WorkerStats {
  worker: string;
  runs: number;
  /** Time spent running tasks' synchronous parts, ms. */
  busyMs: number;
  /** busyMs over the traced span, 0..1. */
  busy: number;
  /** Runs of tasks this worker had submitted itself (never crossed the broker). */
  ownRuns: number;
}

export interface TraceSummary {
  /** Distinct tasks run. */
  tasks: number;
  runs: number;
  /** Runs that never ended. */
  unfinished: number;
  failed: number;
  submitted: number;
  /** Tasks submitted from inside another task. */
  nested: number;
  spanMs: number;
  workers: WorkerStats[];
  functions: FunctionStats[];
}

/** Nearest-rank percentile of sorted values. */
function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const k = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[k]!;
}

export function distribution(values: number[]): Distribution | undefined {
  if (values.length === 0) return undefined;
  const s = Float64Array.from(values).sort();
  let sum = 0;
  for (const v of s) sum += v;
  const arr = Array.from(s);
  return { mean: sum / s.length, p50: percentile(arr, 50), p99: percentile(arr, 99), max: arr[arr.length - 1]! };
}

/** Time a run held its worker: up to its suspension, or its whole run for a synchronous task. */
export function activeEnd(run: TaskRun, data: TraceData): number {
  return run.suspend ?? runEnd(run, data);
}

export function summarize(data: TraceData): TraceSummary {
  const spanMs = Math.max(0, data.t1 - data.t0);
  const perWorker = new Map<string, WorkerStats>();
  for (const w of data.workers) perWorker.set(w, { worker: w, runs: 0, busyMs: 0, busy: 0, ownRuns: 0 });
  const perFn = new Map<string, { runs: number; failed: number; times: number[]; queued: number[] }>();
  const ids = new Set<number>();
  let unfinished = 0;
  let failed = 0;
  for (const run of data.runs) {
    ids.add(run.id);
    let ws = perWorker.get(run.worker);
    if (!ws) perWorker.set(run.worker, (ws = { worker: run.worker, runs: 0, busyMs: 0, busy: 0, ownRuns: 0 }));
    ws.runs++;
    ws.busyMs += Math.max(0, activeEnd(run, data) - run.start);
    if (run.submit?.worker === run.worker) ws.ownRuns++;
    let fs = perFn.get(run.fn);
    if (!fs) perFn.set(run.fn, (fs = { runs: 0, failed: 0, times: [], queued: [] }));
    fs.runs++;
    if (run.end === undefined) unfinished++;
    else fs.times.push(run.end - run.start);
    if (run.ok === false) {
      fs.failed++;
      failed++;
    }
    if (run.submit) fs.queued.push(Math.max(0, run.start - run.submit.t));
  }
  for (const ws of perWorker.values()) ws.busy = spanMs > 0 ? Math.min(1, ws.busyMs / spanMs) : 0;
  let nested = 0;
  for (const s of data.submits.values()) if (s.parent !== undefined) nested++;
  const functions = [...perFn.entries()]
    .map(([fn, f]) => ({ fn, runs: f.runs, failed: f.failed, time: distribution(f.times), queued: distribution(f.queued) }))
    .sort((a, b) => b.runs - a.runs || a.fn.localeCompare(b.fn));
  return {
    tasks: ids.size,
    runs: data.runs.length,
    unfinished,
    failed,
    submitted: data.submits.size,
    nested,
    spanMs,
    workers: [...perWorker.values()],
    functions,
  };
}

/** Row (sub-lane) of every run within its worker's lane, aligned with `data.runs`; and rows per worker. */
export function assignRows(data: TraceData): { row: Int32Array; rows: Map<string, number> } {
  const row = new Int32Array(data.runs.length);
  const ends = new Map<string, number[]>();
  // data.runs is sorted by start: greedy first-fit gives the fewest rows for intervals.
  data.runs.forEach((run, i) => {
    let lanes = ends.get(run.worker);
    if (!lanes) ends.set(run.worker, (lanes = []));
    const end = runEnd(run, data);
    let r = lanes.findIndex((e) => e <= run.start);
    if (r < 0) {
      r = lanes.length;
      lanes.push(end);
    } else lanes[r] = end;
    row[i] = r;
  });
  const rows = new Map<string, number>();
  for (const w of data.workers) rows.set(w, Math.max(1, ends.get(w)?.length ?? 0));
  return { row, rows };
}

/** "12.3 ms", "1.20 s", "850 µs". */
export function formatMs(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return "-";
  if (ms < 1) return `${Math.round(ms * 1000)} µs`;
  if (ms < 100) return `${ms.toFixed(ms < 10 ? 2 : 1)} ms`;
  if (ms < 10_000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(1)} s`;
}

function table(header: string[], rows: string[][], rightAlign: boolean[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (rightAlign[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

/** The summary printed by `scoop trace`. */
export function formatSummary(s: TraceSummary): string {
  const out: string[] = [];
  const extra = [
    s.nested > 0 ? `${s.nested} submitted from inside tasks` : "",
    s.failed > 0 ? `${s.failed} failed` : "",
    s.unfinished > 0 ? `${s.unfinished} never ended` : "",
    s.runs !== s.tasks ? `${s.runs - s.tasks} retried` : "",
  ].filter((x) => x !== "");
  out.push(`${s.tasks} tasks on ${s.workers.length} worker(s) in ${formatMs(s.spanMs)}${extra.length ? ` (${extra.join(", ")})` : ""}`);
  out.push("");
  out.push(
    table(
      ["worker", "tasks", "own", "busy", "busy %"],
      s.workers.map((w) => [w.worker, String(w.runs), String(w.ownRuns), formatMs(w.busyMs), `${(w.busy * 100).toFixed(1)}%`]),
      [false, true, true, true, true],
    ),
  );
  out.push("");
  out.push(
    table(
      ["function", "tasks", "mean", "p50", "p99", "queued mean", "queued p50", "queued p99"],
      s.functions.map((f) => [
        f.failed > 0 ? `${f.fn} (${f.failed} failed)` : f.fn,
        String(f.runs),
        formatMs(f.time?.mean),
        formatMs(f.time?.p50),
        formatMs(f.time?.p99),
        formatMs(f.queued?.mean),
        formatMs(f.queued?.p50),
        formatMs(f.queued?.p99),
      ]),
      [false, true, true, true, true, true, true, true],
    ),
  );
  out.push("");
  out.push("task time: start to end (waits on children included); queued: submit to start; busy: running tasks' synchronous code;");
  out.push("own: tasks the worker had submitted itself and ran without the broker.");
  return out.join("\n");
}
