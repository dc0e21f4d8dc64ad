/**
 * The TELEMETRY frame a worker sends its broker every quarter of a second when the pool is observed
 * (`scoop --dashboard`, `--metrics`, `Pool.start({ dashboard })`). One msgpack map per frame; the
 * broker never routes it, it hands it to its observer (src/observe/observer.ts).
 *
 * Counters are cumulative since the worker started (a lost frame loses nothing); spans, errors and
 * the CPU figure cover the time since the previous frame.
 */
import { Packr } from "msgpackr";

export const TELEMETRY_VERSION = 1;

/** A bar of the task stream: one task, or a run of very short back-to-back tasks of one function. */
export interface SpanRecord {
  /** Function name. */
  fn: string;
  /** Start and end, ms since the epoch on the worker's clock. */
  start: number;
  end: number;
  ok: boolean;
  /** Tasks in this bar (1, or more for merged short tasks). */
  n: number;
}

export interface ErrorRecord {
  id: number;
  fn: string;
  /** When it failed, ms since the epoch (worker clock). */
  t: number;
  name: string;
  message: string;
  /** The remote stack, as the task's error had it. */
  stack: string;
}

export interface MapRecord {
  /** Unique among this worker's calls. */
  key: number;
  call: string;
  fn: string;
  done: number;
  submitted: number;
  total: number | null;
  ended: boolean;
  failed: boolean;
}

export interface TelemetryBatch {
  v: number;
  /** When the frame was made, ms since the epoch (worker clock). */
  t: number;
  /**
   * Most tasks running at once (started and not ended: computing or awaiting) since the previous
   * frame, and tasks received but not started now.
   */
  running: number;
  queued: number;
  /** Function of the latest task started, if it still runs or ran since the previous frame; else null. */
  current: string | null;
  /** CPU use of the worker process since the previous frame, in % of one core. */
  cpu: number;
  rss: number;
  heapUsed: number;
  /** Cumulative: tasks ended here (ok or not), failed, submitted from here; ms with a task running. */
  done: number;
  failed: number;
  submitted: number;
  busyMs: number;
  spans: SpanRecord[];
  /** Bars left out of this frame (too many in one period); the counters still include them. */
  droppedSpans: number;
  errors: ErrorRecord[];
  droppedErrors: number;
  maps: MapRecord[];
}

const packr = new Packr({ useRecords: false, mapsAsObjects: true });

export function encodeTelemetry(batch: TelemetryBatch): Buffer {
  return packr.pack(batch);
}

const num = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);
const str = (v: unknown): v is string => typeof v === "string";

/** Decodes and checks a frame; a malformed one throws (the observer counts and drops it). */
export function decodeTelemetry(frame: Buffer): TelemetryBatch {
  const b = packr.unpack(frame) as Partial<TelemetryBatch> | null;
  if (typeof b !== "object" || b === null || b.v !== TELEMETRY_VERSION) throw new Error("not a telemetry frame of this version");
  for (const k of ["t", "running", "queued", "cpu", "rss", "heapUsed", "done", "failed", "submitted", "busyMs", "droppedSpans", "droppedErrors"] as const) {
    if (!num(b[k])) throw new Error(`telemetry: bad ${k}`);
  }
  if (b.current !== null && !str(b.current)) throw new Error("telemetry: bad current");
  if (!Array.isArray(b.spans) || !Array.isArray(b.errors) || !Array.isArray(b.maps)) throw new Error("telemetry: bad lists");
  for (const s of b.spans) {
    if (typeof s !== "object" || s === null || !str(s.fn) || !num(s.start) || !num(s.end) || typeof s.ok !== "boolean" || !num(s.n)) {
      throw new Error("telemetry: bad span");
    }
  }
  for (const e of b.errors) {
    if (typeof e !== "object" || e === null || !num(e.id) || !str(e.fn) || !num(e.t) || !str(e.name) || !str(e.message) || !str(e.stack)) {
      throw new Error("telemetry: bad error");
    }
  }
  for (const m of b.maps) {
    if (typeof m !== "object" || m === null || !num(m.key) || !str(m.call) || !str(m.fn) || !num(m.done) || !num(m.submitted)) {
      throw new Error("telemetry: bad map");
    }
    if (m.total !== null && !num(m.total)) throw new Error("telemetry: bad map total");
  }
  return b as TelemetryBatch;
}
