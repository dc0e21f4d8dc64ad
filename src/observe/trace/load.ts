/**
 * Reading a `scoop --debug DIR` directory (see src/worker/trace.ts for the record format) into task
 * runs joined by task id across files: a task's submit record is on the submitting worker, its
 * start/suspend/end records on the worker that ran it (often the same one: workers keep some of
 * their own submissions). A task retried after a worker was lost has one run per attempt.
 *
 * The reader is lenient: a truncated last line (a worker killed mid-write), an unknown record or a
 * missing file is counted in `warnings`, never fatal.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { ConfigError } from "../../errors.js";

/** One execution of a task on one worker. Times are ms since the epoch. */
export interface TaskRun {
  id: number;
  /** Function name (export name, global name, or a short source excerpt). */
  fn: string;
  /** The worker that ran it. */
  worker: string;
  start: number;
  /** End of the synchronous part, for a task that returned a promise. */
  suspend?: number;
  /** Undefined when the run never ended (its worker was lost, or the trace is cut short). */
  end?: number;
  ok?: boolean;
  /** Tasks received and not started on this worker when it started. */
  queuedAtStart?: number;
  /** The submit record of this task, when one was found. */
  submit?: Submit;
}

export interface Submit {
  id: number;
  fn: string;
  op: number;
  /** The submitting worker. */
  worker: string;
  t: number;
  /** The task that was running on the submitting worker when it submitted. */
  parent?: number;
}

/** A broker queue sample (`broker.jsonl`). */
export interface BrokerSample {
  t: number;
  queue: number;
  workers: number;
  submitted: number;
  dispatched: number;
  completed: number;
}

/** A worker's own queue at one of its start/end records. */
export interface WorkerSample {
  t: number;
  /** Received and not started (its local queue, and what the broker sent it). */
  queued: number;
  /** Started and waiting on futures. */
  suspended: number;
}

export interface TraceData {
  dir: string;
  /** Workers in pool order (launch.json), then any other that left a trace. */
  workers: string[];
  runs: TaskRun[];
  /** Submit records by task id. */
  submits: Map<number, Submit>;
  brokerSamples: BrokerSample[];
  workerSamples: Map<string, WorkerSample[]>;
  /** Earliest and latest time seen in any record (ms since the epoch). */
  t0: number;
  t1: number;
  /** Launch time and hosts, from launch.json. */
  launch?: { t: number; broker?: string; hosts?: Array<{ host: string; workers: Array<{ name: string; origin?: boolean }> }> };
  warnings: string[];
}

type Rec = Record<string, unknown>;

function num(v: unknown): number | undefined {
  return typeof v === "number" && Number.isFinite(v) ? v : undefined;
}

function* records(file: string, warn: (m: string) => void): Generator<Rec> {
  const text = readFileSync(file, "utf8");
  let bad = 0;
  let at = 0;
  while (at < text.length) {
    let nl = text.indexOf("\n", at);
    if (nl < 0) nl = text.length;
    const line = text.slice(at, nl).trim();
    at = nl + 1;
    if (line === "") continue;
    let r: unknown;
    try {
      r = JSON.parse(line);
    } catch {
      bad++;
      continue;
    }
    if (r !== null && typeof r === "object" && !Array.isArray(r)) yield r as Rec;
    else bad++;
  }
  if (bad > 0) warn(`${file}: ${bad} unreadable line(s) skipped`);
}

/** Natural order: w2 before w10. */
function naturalCompare(a: string, b: string): number {
  return a.localeCompare(b, "en", { numeric: true });
}

/** Reads a trace directory. Throws ConfigError when it is not one. */
export function loadTrace(dir: string): TraceData {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new ConfigError(`${dir}: no such directory (give the directory of scoop --debug DIR)`);
  const files = readdirSync(dir).filter((f) => f.endsWith(".jsonl"));
  const workerFiles = files.filter((f) => f !== "broker.jsonl").sort(naturalCompare);
  if (workerFiles.length === 0) throw new ConfigError(`${dir}: no worker trace (*.jsonl) in it; run scoop --debug ${dir} … first`);
  const warnings: string[] = [];
  const warn = (m: string) => warnings.push(m);

  const data: TraceData = {
    dir,
    workers: [],
    runs: [],
    submits: new Map(),
    brokerSamples: [],
    workerSamples: new Map(),
    t0: Infinity,
    t1: -Infinity,
    warnings,
  };
  const seen = (t: number) => {
    if (t < data.t0) data.t0 = t;
    if (t > data.t1) data.t1 = t;
  };

  const launchFile = join(dir, "launch.json");
  if (existsSync(launchFile)) {
    try {
      data.launch = JSON.parse(readFileSync(launchFile, "utf8"));
    } catch {
      warn(`${launchFile}: unreadable, ignored`);
    }
  }

  const workers = new Set<string>();
  for (const h of data.launch?.hosts ?? []) for (const w of h.workers ?? []) if (typeof w?.name === "string") workers.add(w.name);

  let unknown = 0;
  let endless = 0;
  for (const f of workerFiles) {
    // Runs of this file not ended yet, by id.
    const open = new Map<number, TaskRun>();
    let fileWorker: string | undefined;
    for (const r of records(join(dir, f), warn)) {
      const id = num(r.id);
      const t = num(r.t);
      const worker = typeof r.worker === "string" ? r.worker : undefined;
      if (r.ev === "queue" && t !== undefined && worker !== undefined) {
        sample(data, worker, t, r);
        continue;
      }
      if (id === undefined || t === undefined || worker === undefined) {
        unknown++;
        continue;
      }
      fileWorker ??= worker;
      seen(t);
      switch (r.ev) {
        case "submit": {
          const parent = num(r.parent);
          data.submits.set(id, {
            id,
            fn: typeof r.fn === "string" ? r.fn : "?",
            op: num(r.op) ?? 0,
            worker,
            t,
            ...(parent !== undefined ? { parent } : {}),
          });
          sample(data, worker, t, r);
          break;
        }
        case "start": {
          workers.add(worker);
          const run: TaskRun = { id, fn: typeof r.fn === "string" ? r.fn : "?", worker, start: t };
          const q = num(r.queued);
          if (q !== undefined) run.queuedAtStart = q;
          open.set(id, run);
          data.runs.push(run);
          sample(data, worker, t, r);
          break;
        }
        case "suspend": {
          const run = open.get(id);
          if (run) run.suspend = t;
          break;
        }
        case "end": {
          const run = open.get(id);
          open.delete(id);
          if (run) {
            run.end = t;
            run.ok = r.ok !== false;
          } else endless++;
          sample(data, worker, t, r);
          break;
        }
        default:
          unknown++;
      }
    }
    // A worker that ran nothing still has its (empty) file, named after it.
    workers.add(fileWorker ?? f.slice(0, -".jsonl".length));
    if (open.size > 0) warn(`${f}: ${open.size} task(s) started and never ended (worker lost, or trace cut short)`);
  }
  if (unknown > 0) warn(`${unknown} record(s) of an unknown kind skipped`);
  if (endless > 0) warn(`${endless} end record(s) without a start skipped`);

  const brokerFile = join(dir, "broker.jsonl");
  for (const r of existsSync(brokerFile) ? records(brokerFile, warn) : []) {
    const t = num(r.t);
    const queue = num(r.queue);
    if (t === undefined || queue === undefined) continue;
    data.brokerSamples.push({
      t,
      queue,
      workers: num(r.workers) ?? 0,
      submitted: num(r.submitted) ?? 0,
      dispatched: num(r.dispatched) ?? 0,
      completed: num(r.completed) ?? 0,
    });
  }
  data.brokerSamples.sort((a, b) => a.t - b.t);

  for (const run of data.runs) {
    const s = data.submits.get(run.id);
    if (s) run.submit = s;
  }
  data.runs.sort((a, b) => a.start - b.start || a.id - b.id);

  const ordered = [...workers];
  // Pool order from launch.json first; workers it does not name after, in natural order.
  const named = new Set<string>();
  for (const h of data.launch?.hosts ?? []) for (const w of h.workers ?? []) named.add(w.name);
  data.workers = [...ordered.filter((w) => named.has(w)), ...ordered.filter((w) => !named.has(w)).sort(naturalCompare)];
  if (!Number.isFinite(data.t0)) {
    data.t0 = data.launch?.t ?? 0;
    data.t1 = data.t0;
  }
  return data;
}

function sample(data: TraceData, worker: string, t: number, r: Rec): void {
  const queued = num(r.queued);
  const suspended = num(r.suspended);
  if (queued === undefined) return;
  let list = data.workerSamples.get(worker);
  if (!list) data.workerSamples.set(worker, (list = []));
  list.push({ t, queued, suspended: suspended ?? 0 });
}

/** The end of a run for drawing: its end, else the last moment its worker was seen. */
export function runEnd(run: TaskRun, data: TraceData): number {
  return run.end ?? Math.max(run.start, data.t1);
}
