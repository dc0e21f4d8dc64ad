/**
 * The broker's observer: it takes what the broker reports (joins, departures, TELEMETRY frames) and
 * what it can be asked (queue length, counters), and keeps the picture a dashboard page or a
 * Prometheus scrape needs: every worker's state and counters, queue and task-rate series, the task
 * stream (recent bars, one lane per worker), the chunked calls in flight and the last errors.
 *
 * All times it hands out are on the broker's clock: each worker's clock offset is estimated from its
 * frames (arrival time minus send time, the smallest of recent frames), so bars from several hosts
 * line up. It samples every {@link SAMPLE_MS} and tells its listeners; it does nothing per task.
 */
import type { Broker, BrokerObserver } from "../broker/broker.js";
import type { HelloInfo } from "../protocol/messages.js";
import { decodeTelemetry, type TelemetryBatch } from "./telemetry-format.js";

export const SAMPLE_MS = 1000;
/** Series samples kept (20 minutes at 1 Hz). */
const MAX_SAMPLES = 1200;
/** Task-stream bars kept, and for how long. */
const MAX_BARS = 20_000;
const BAR_AGE_MS = 120_000;
const MAX_ERRORS = 50;
const MAX_ENDED_MAPS = 10;
const MAX_FNS = 200;
const MAX_WORKERS = 1000;
/** Frames whose transit times estimate a worker's clock offset. */
const OFFSET_WINDOW = 20;

export type WorkerState = "starting" | "busy" | "idle" | "left" | "lost";

/** A worker's latest figures, as its TELEMETRY frames report them. */
type ReportedFigures = Pick<TelemetryBatch, "done" | "failed" | "submitted" | "busyMs" | "running" | "queued" | "current" | "cpu" | "rss" | "heapUsed">;

export interface WorkerView extends ReportedFigures {
  name: string;
  host: string;
  pid: number;
  origin: boolean;
  executes: boolean;
  /** Lane of the task stream (join order). */
  lane: number;
  state: WorkerState;
  joinedAt: number;
  leftAt: number | null;
  /** Broker time of its latest TELEMETRY frame, or null before the first. */
  lastReport: number | null;
}

export interface BarView {
  seq: number;
  lane: number;
  fn: string;
  start: number;
  end: number;
  ok: boolean;
  n: number;
}

export interface MapView {
  id: string;
  worker: string;
  call: string;
  fn: string;
  done: number;
  submitted: number;
  total: number | null;
  state: "running" | "done" | "stopped";
  startedAt: number;
  endedAt: number | null;
}

export interface ErrorView {
  seq: number;
  worker: string;
  id: number;
  fn: string;
  t: number;
  name: string;
  message: string;
  stack: string;
}

export interface Sample {
  t: number;
  /** Tasks in the broker's queue (not taken by any worker yet). */
  queue: number;
  /** Tasks received by workers and not started yet. */
  queuedOnWorkers: number;
  running: number;
  /** Tasks ended per second, whole pool, over the last second or so. */
  rate: number;
}

export interface Totals {
  done: number;
  failed: number;
  submitted: number;
  busyMs: number;
}

export interface BrokerView {
  name: string;
  queue: number;
  submitted: number;
  dispatched: number;
  completed: number;
  requeued: number;
  givenUp: number;
  bytesIn: number;
  bytesOut: number;
}

/** What a page gets: everything at once (`init`), then the changes at every sample (`tick`). */
export interface Snapshot {
  now: number;
  startedAt: number;
  ended: { code: number; at: number } | null;
  broker: BrokerView | null;
  totals: Totals & { rate: number; running: number; queuedOnWorkers: number };
  workers: WorkerView[];
  maps: MapView[];
  errors: ErrorView[];
  fns: string[];
  /** init: every kept sample; tick: the new ones. */
  samples: Sample[];
  /** init: every kept bar; tick: the bars that arrived since the previous tick. */
  bars: BarView[];
  /** How many task-stream bars were left out at the source (too many tiny tasks to draw each). */
  droppedBars: number;
  telemetryErrors: number;
}

interface WorkerRecord extends WorkerView {
  offsets: number[];
  offset: number;
  /** Counters of an earlier worker of the same name (a restarted one), added to this one's. */
  base: Totals;
}

const ZERO: Totals = { done: 0, failed: 0, submitted: 0, busyMs: 0 };

export class Observer implements BrokerObserver {
  readonly startedAt = Date.now();
  private broker: Broker | undefined;
  private readonly workers = new Map<string, WorkerRecord>();
  private lanes = 0;
  private bars: BarView[] = [];
  private barSeq = 0;
  private droppedBars = 0;
  private errors: ErrorView[] = [];
  private errorSeq = 0;
  private readonly maps = new Map<string, MapView>();
  private readonly fnOrder = new Map<string, number>();
  private samples: Sample[] = [];
  private readonly doneHistory: Array<{ t: number; done: number }> = [];
  private ended: { code: number; at: number } | null = null;
  private timer: NodeJS.Timeout | undefined;
  private readonly listeners = new Set<(tick: Snapshot) => void>();
  private lastTickBar = 0;
  /** Counters of departed workers forgotten to bound memory, so pool totals never go down. */
  private forgotten: Totals = { ...ZERO };
  /** TELEMETRY frames that could not be decoded. */
  telemetryErrors = 0;

  /** Connects to the broker this observer was given to, and starts sampling. */
  attach(broker: Broker): void {
    this.broker = broker;
    broker.on("shutdown", (code: number) => {
      this.ended ??= { code, at: Date.now() };
      this.sample();
    });
    this.timer = setInterval(() => this.sample(), SAMPLE_MS);
    this.timer.unref();
    this.sample();
  }

  /** Stops sampling (a last sample is taken and sent). */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.sample();
  }

  /** Calls `listener` with each tick's changes; returns a function that removes it. */
  subscribe(listener: (tick: Snapshot) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  // BrokerObserver ------------------------------------------------------------------------------

  workerJoined(hello: HelloInfo): void {
    const existing = this.workers.get(hello.name);
    if (existing && existing.leftAt === null) return;
    if (!existing && this.workers.size >= MAX_WORKERS) this.forgetOldestDeparted();
    const now = Date.now();
    const w: WorkerRecord = {
      name: hello.name,
      host: String(hello.host),
      pid: Number(hello.pid),
      origin: hello.origin === true,
      executes: hello.executes !== false,
      lane: existing?.lane ?? this.lanes++,
      state: "starting",
      joinedAt: now,
      leftAt: null,
      lastReport: null,
      // A name that comes back (a restarted worker) starts its counters anew on top of the old ones.
      done: existing?.done ?? 0,
      failed: existing?.failed ?? 0,
      submitted: existing?.submitted ?? 0,
      busyMs: existing?.busyMs ?? 0,
      running: 0,
      queued: 0,
      current: null,
      cpu: 0,
      rss: 0,
      heapUsed: 0,
      offsets: [],
      offset: 0,
      base: existing ? { done: existing.done, failed: existing.failed, submitted: existing.submitted, busyMs: existing.busyMs } : ZERO,
    };
    this.workers.delete(hello.name);
    this.workers.set(hello.name, w);
  }

  workerLeft(name: string, lost: boolean): void {
    const w = this.workers.get(name);
    if (!w || w.leftAt !== null) return;
    w.leftAt = Date.now();
    w.state = lost ? "lost" : "left";
    w.running = 0;
    w.queued = 0;
    w.current = null;
    w.cpu = 0;
    for (const m of this.maps.values()) {
      if (m.worker === name && m.state === "running") {
        m.state = "stopped";
        m.endedAt = w.leftAt;
      }
    }
  }

  telemetry(name: string, frame: Buffer): void {
    const w = this.workers.get(name);
    if (!w) return;
    let b: TelemetryBatch;
    try {
      b = decodeTelemetry(frame);
    } catch {
      this.telemetryErrors++;
      return;
    }
    const arrival = Date.now();
    w.offsets.push(arrival - b.t);
    if (w.offsets.length > OFFSET_WINDOW) w.offsets.shift();
    w.offset = Math.min(...w.offsets);
    const off = w.offset;
    const base = w.base;
    w.lastReport = arrival;
    w.done = base.done + b.done;
    w.failed = base.failed + b.failed;
    w.submitted = base.submitted + b.submitted;
    w.busyMs = base.busyMs + b.busyMs;
    if (w.leftAt === null) {
      w.running = b.running;
      w.queued = b.queued;
      w.current = b.current;
      w.cpu = b.cpu;
      w.state = b.running > 0 || b.queued > 0 ? "busy" : "idle";
    }
    w.rss = b.rss;
    w.heapUsed = b.heapUsed;
    for (const s of b.spans) {
      this.fnIndex(s.fn);
      this.bars.push({ seq: ++this.barSeq, lane: w.lane, fn: s.fn, start: s.start + off, end: s.end + off, ok: s.ok, n: s.n });
    }
    this.droppedBars += b.droppedSpans;
    if (this.bars.length > MAX_BARS * 1.25) this.bars = this.bars.slice(-MAX_BARS);
    for (const e of b.errors) {
      this.errors.push({ seq: ++this.errorSeq, worker: name, id: e.id, fn: e.fn, t: e.t + off, name: e.name, message: e.message, stack: e.stack });
    }
    if (this.errors.length > MAX_ERRORS) this.errors = this.errors.slice(-MAX_ERRORS);
    for (const m of b.maps) {
      const id = `${name}#${m.key}`;
      let v = this.maps.get(id);
      if (!v) {
        this.fnIndex(m.fn);
        v = { id, worker: name, call: m.call, fn: m.fn, done: 0, submitted: 0, total: null, state: "running", startedAt: arrival, endedAt: null };
        this.maps.set(id, v);
      }
      v.done = m.done;
      v.submitted = m.submitted;
      v.total = m.total;
      if (m.ended && v.state === "running") {
        v.state = !m.failed && m.total !== null && m.done >= m.total ? "done" : "stopped";
        v.endedAt = arrival;
      }
    }
    this.pruneMaps();
  }

  // Views ---------------------------------------------------------------------------------------

  /** Pool totals: what every worker (present or departed) reported. */
  totals(): Totals {
    const t: Totals = { ...this.forgotten };
    for (const w of this.workers.values()) {
      t.done += w.done;
      t.failed += w.failed;
      t.submitted += w.submitted;
      t.busyMs += w.busyMs;
    }
    return t;
  }

  workerViews(): WorkerView[] {
    return [...this.workers.values()].map(({ offsets: _o, offset: _f, base: _b, ...v }) => v);
  }

  brokerView(): BrokerView | null {
    const b = this.broker;
    if (!b) return null;
    const s = b.stats;
    return {
      name: b.name,
      queue: b.queueLength,
      submitted: s.submitted,
      dispatched: s.dispatched,
      completed: s.completed,
      requeued: s.requeued,
      givenUp: s.givenUp,
      bytesIn: s.bytesIn,
      bytesOut: s.bytesOut,
    };
  }

  /** Everything a page shows, with every kept sample and bar. */
  snapshot(): Snapshot {
    return this.view(this.samples, this.recentBars());
  }

  private view(samples: Sample[], bars: BarView[]): Snapshot {
    const totals = this.totals();
    const last = this.samples[this.samples.length - 1];
    let running = 0;
    let queuedOnWorkers = 0;
    for (const w of this.workers.values()) {
      running += w.running;
      queuedOnWorkers += w.queued;
    }
    return {
      now: Date.now(),
      startedAt: this.startedAt,
      ended: this.ended,
      broker: this.brokerView(),
      totals: { ...totals, rate: last?.rate ?? 0, running, queuedOnWorkers },
      workers: this.workerViews(),
      maps: [...this.maps.values()],
      errors: [...this.errors].reverse(),
      fns: [...this.fnOrder.keys()],
      samples,
      bars,
      droppedBars: this.droppedBars,
      telemetryErrors: this.telemetryErrors,
    };
  }

  private recentBars(): BarView[] {
    const from = Date.now() - BAR_AGE_MS;
    let i = 0;
    while (i < this.bars.length && this.bars[i]!.end < from) i++;
    if (i > 0) this.bars = this.bars.slice(i);
    return this.bars;
  }

  private sample(): void {
    const now = Date.now();
    const totals = this.totals();
    this.doneHistory.push({ t: now, done: totals.done });
    while (this.doneHistory.length > 2 && now - this.doneHistory[1]!.t >= 1000) this.doneHistory.shift();
    const first = this.doneHistory[0]!;
    const rate = now > first.t ? ((totals.done - first.done) * 1000) / (now - first.t) : 0;
    let running = 0;
    let queuedOnWorkers = 0;
    for (const w of this.workers.values()) {
      running += w.running;
      queuedOnWorkers += w.queued;
    }
    this.samples.push({ t: now, queue: this.broker?.queueLength ?? 0, queuedOnWorkers, running, rate: Math.round(rate * 10) / 10 });
    if (this.samples.length > MAX_SAMPLES * 1.25) this.samples = this.samples.slice(-MAX_SAMPLES);
    if (this.listeners.size === 0) {
      this.lastTickBar = this.barSeq;
      return;
    }
    const newBars: BarView[] = [];
    for (let i = this.bars.length - 1; i >= 0 && this.bars[i]!.seq > this.lastTickBar; i--) newBars.push(this.bars[i]!);
    newBars.reverse();
    const tick = this.view(this.samples.slice(-1), newBars);
    this.lastTickBar = this.barSeq;
    for (const l of this.listeners) {
      try {
        l(tick);
      } catch {
        // a listener's failure is its own
      }
    }
  }

  private fnIndex(fn: string): void {
    if (!this.fnOrder.has(fn) && this.fnOrder.size < MAX_FNS) this.fnOrder.set(fn, this.fnOrder.size);
  }

  private pruneMaps(): void {
    let ended = 0;
    for (const m of this.maps.values()) if (m.state !== "running") ended++;
    if (ended <= MAX_ENDED_MAPS) return;
    for (const [id, m] of this.maps) {
      if (m.state !== "running") {
        this.maps.delete(id);
        if (--ended <= MAX_ENDED_MAPS) break;
      }
    }
  }

  private forgetOldestDeparted(): void {
    for (const [name, w] of this.workers) {
      if (w.leftAt !== null) {
        this.workers.delete(name);
        this.forgotten.done += w.done;
        this.forgotten.failed += w.failed;
        this.forgotten.submitted += w.submitted;
        this.forgotten.busyMs += w.busyMs;
        return;
      }
    }
  }
}
