/**
 * A trace as Chrome trace events (the JSON Perfetto and chrome://tracing open as they are):
 * - one process per worker (pid 1, 2, … in pool order), and one more (the next pid) for the broker;
 * - one complete event ("X", cat "task") per task run, on a thread (tid) per sub-lane of its worker;
 * - a flow ("s" → "f", cat "nested") from a parent task, at the moment it submitted, to the start
 *   of each child it submitted;
 * - counters ("C"): the broker's queue, and each worker's own queue and suspended tasks.
 * Timestamps are microseconds from the first task record.
 */
import { activeEnd, assignRows } from "./analyze.js";
import { runEnd, type TaskRun, type TraceData } from "./load.js";

export interface TraceEvent {
  name: string;
  ph: string;
  pid: number;
  tid?: number;
  ts?: number;
  dur?: number;
  cat?: string;
  id?: number;
  bp?: string;
  args?: Record<string, unknown>;
}

export interface ChromeTrace {
  traceEvents: TraceEvent[];
  displayTimeUnit: "ms";
  otherData: Record<string, unknown>;
}

/** The broker samples to show from `t0` on: those after it, led by the last one before it. */
export function samplesFrom<T extends { t: number }>(samples: T[], t0: number): T[] {
  let first = 0;
  while (first + 1 < samples.length && samples[first + 1]!.t <= t0) first++;
  return samples.slice(first).map((s) => (s.t < t0 ? { ...s, t: t0 } : s));
}

export function toChromeTrace(data: TraceData): ChromeTrace {
  const us = (t: number) => Math.round((t - data.t0) * 1000 * 1000) / 1000;
  const ms = (d: number) => Math.round(d * 1000) / 1000;
  const events: TraceEvent[] = [];
  const pid = new Map<string, number>();
  data.workers.forEach((w, i) => pid.set(w, i + 1));
  const { row, rows } = assignRows(data);

  // Not pid 0: some viewers treat it as the kernel's idle process.
  const brokerPid = data.workers.length + 1;
  events.push({ name: "process_name", ph: "M", pid: brokerPid, args: { name: "broker" } });
  events.push({ name: "process_sort_index", ph: "M", pid: brokerPid, args: { sort_index: brokerPid } });
  for (const w of data.workers) {
    const p = pid.get(w)!;
    events.push({ name: "process_name", ph: "M", pid: p, args: { name: `worker ${w}` } });
    events.push({ name: "process_sort_index", ph: "M", pid: p, args: { sort_index: p } });
    for (let r = 0; r < (rows.get(w) ?? 1); r++) {
      events.push({ name: "thread_name", ph: "M", pid: p, tid: r + 1, args: { name: r === 0 ? "tasks" : `tasks (${r + 1})` } });
      events.push({ name: "thread_sort_index", ph: "M", pid: p, tid: r + 1, args: { sort_index: r + 1 } });
    }
  }

  // Runs by (worker, id), to find the run of a parent on the worker that submitted.
  const runIndex = new Map<string, number[]>();
  const key = (w: string, id: number) => `${w}\u0000${id}`;
  data.runs.forEach((run, i) => {
    const k = key(run.worker, run.id);
    const list = runIndex.get(k);
    if (list) list.push(i);
    else runIndex.set(k, [i]);
  });
  const parentRun = (run: TaskRun): number | undefined => {
    const s = run.submit;
    if (!s || s.parent === undefined) return undefined;
    const list = runIndex.get(key(s.worker, s.parent));
    if (!list) return undefined;
    return list.find((i) => data.runs[i]!.start <= s.t && s.t <= runEnd(data.runs[i]!, data)) ?? list[list.length - 1];
  };

  data.runs.forEach((run, i) => {
    const end = runEnd(run, data);
    const args: Record<string, unknown> = {
      id: run.id,
      ok: run.ok ?? null,
      active_ms: ms(activeEnd(run, data) - run.start),
    };
    if (run.end === undefined) args.unfinished = true;
    if (run.submit) {
      args.submitted_by = run.submit.worker;
      args.queued_ms = ms(Math.max(0, run.start - run.submit.t));
      if (run.submit.parent !== undefined) args.parent = run.submit.parent;
      if (run.submit.op !== 0) args.op = ["call", "map chunk", "map-reduce chunk", "scan chunk"][run.submit.op] ?? run.submit.op;
    }
    if (run.queuedAtStart !== undefined) args.queued_here_at_start = run.queuedAtStart;
    events.push({
      name: run.fn,
      cat: "task",
      ph: "X",
      pid: pid.get(run.worker)!,
      tid: row[i]! + 1,
      ts: us(run.start),
      dur: Math.max(0, us(end) - us(run.start)),
      args,
    });
    const p = parentRun(run);
    if (p !== undefined) {
      const parent = data.runs[p]!;
      events.push({ name: "submit", cat: "nested", ph: "s", id: i + 1, pid: pid.get(parent.worker)!, tid: row[p]! + 1, ts: us(run.submit!.t) });
      events.push({ name: "submit", cat: "nested", ph: "f", bp: "e", id: i + 1, pid: pid.get(run.worker)!, tid: row[i]! + 1, ts: us(run.start) });
    }
  });

  for (const s of samplesFrom(data.brokerSamples, data.t0)) {
    events.push({ name: "broker queue", ph: "C", pid: brokerPid, ts: us(s.t), args: { queued: s.queue } });
  }
  for (const [w, samples] of data.workerSamples) {
    const p = pid.get(w);
    if (p === undefined) continue;
    let last: { queued: number; suspended: number } | undefined;
    for (const s of samples) {
      if (last && last.queued === s.queued && last.suspended === s.suspended) continue;
      last = s;
      events.push({ name: "worker queue", ph: "C", pid: p, ts: us(s.t), args: { queued: s.queued, suspended: s.suspended } });
    }
  }

  return {
    traceEvents: events,
    displayTimeUnit: "ms",
    otherData: { source: "scoop --debug", dir: data.dir, startEpochMs: data.t0, workers: data.workers },
  };
}
