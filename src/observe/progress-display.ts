/**
 * The launcher's side of live progress: it owns the terminal. It reads the progress lines workers
 * send on their stderr (progress.ts) and keeps, at the bottom of its stderr:
 * - with `--progress`, the pool line: tasks done / submitted, rate, busy workers, queued, elapsed;
 *   its last state stays on screen when the run ends;
 * - the bars of the origin's maps with `progress` on (each left on screen as a line when it ends).
 */
import {
  decodeProgress,
  formatElapsed,
  formatMapLine,
  formatRate,
  REPORT_INTERVAL_MS,
  StatusArea,
  type MapReport,
  type TerminalLike,
  type WorkerReport,
} from "./progress.js";

const DRAW_MS = 200;
/** The window the live rate is measured over. */
const RATE_WINDOW_MS = 2000;
/** A worker silent this long is running a long synchronous task (an idle one reports on time). */
const STALE_MS = 4 * REPORT_INTERVAL_MS + 400;

export interface PoolFacts {
  /** Tasks in the broker's queue. */
  queue: number;
  /** Workers in the pool. */
  workers: number;
}

export interface ProgressDisplayOptions {
  out: TerminalLike;
  /** Draw the pool line (`--progress`); map bars are drawn in any case. */
  poolLine: boolean;
  pool: () => PoolFacts;
  now?: () => number;
}

export interface PoolTotals {
  done: number;
  submitted: number;
  queued: number;
  busy: number;
  workers: number;
}

export class ProgressDisplay {
  private readonly area: StatusArea;
  private readonly now: () => number;
  private readonly started: number;
  private readonly reports = new Map<string, { r: WorkerReport; at: number }>();
  private readonly gone = new Set<string>();
  private readonly maps = new Map<string, MapReport>();
  private readonly history: Array<{ t: number; done: number }> = [];
  private timer: NodeJS.Timeout | undefined;
  private finished = false;
  private peakWorkers = 0;

  constructor(private readonly o: ProgressDisplayOptions) {
    this.area = new StatusArea(o.out);
    this.now = o.now ?? Date.now;
    this.started = this.now();
  }

  /**
   * A line of a worker's stderr: takes the progress message it carries, and returns the text to
   * relay as usual (undefined when the line was only a progress message).
   */
  take(worker: string, line: string): string | undefined {
    const { message, text } = decodeProgress(line);
    if (message?.k === "w") this.reports.set(worker, { r: message, at: this.now() });
    else if (message?.k === "m") this.onMap(worker, message);
    return text;
  }

  /** A worker left: it no longer counts as busy (its counts stay in the totals). */
  workerGone(name: string): void {
    this.gone.add(name);
  }

  private onMap(worker: string, m: MapReport): void {
    const key = `${worker}\u0000${m.id}`;
    if (m.end !== undefined) {
      this.maps.delete(key);
      if (this.finished) this.o.out.write(`${formatMapLine(m, this.area.width - 1)}\n`);
      else this.area.print(formatMapLine(m, this.area.width - 1), this.lines());
    } else this.maps.set(key, m);
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.render(), DRAW_MS);
    this.timer.unref();
  }

  /** Erases the lines (before other output); the next tick draws them again. */
  clear(): void {
    this.area.clear();
  }

  /** The sums over the workers' latest reports. */
  totals(): PoolTotals {
    const now = this.now();
    let done = 0;
    let submitted = 0;
    let queued = 0;
    let busy = 0;
    for (const [name, { r, at }] of this.reports) {
      done += r.d;
      submitted += r.s - r.c;
      queued += r.q;
      if (!this.gone.has(name) && (r.b >= 0.5 || now - at > STALE_MS)) busy++;
    }
    const pool = this.o.pool();
    // Every worker that reported took part, even one that joined and left between two draws.
    this.peakWorkers = Math.max(this.peakWorkers, pool.workers, this.reports.size);
    return { done, submitted: Math.max(submitted, done), queued: queued + pool.queue, busy: Math.min(busy, pool.workers), workers: pool.workers };
  }

  private rate(done: number): number {
    const now = this.now();
    this.history.push({ t: now, done });
    // The window: the last RATE_WINDOW_MS, and not the start-up before the first task ended.
    while (this.history.length > 2 && (now - this.history[1]!.t >= RATE_WINDOW_MS || this.history[1]!.done === 0)) this.history.shift();
    const first = this.history[0]!;
    return now > first.t ? ((done - first.done) * 1000) / (now - first.t) : 0;
  }

  /** The pool line, live. */
  poolLine(): string {
    const t = this.totals();
    return (
      `scoop: ${t.done}/${t.submitted} tasks done · ${formatRate(this.rate(t.done))} · ` +
      `${t.busy}/${t.workers} workers busy · ${t.queued} queued · ${formatElapsed(this.now() - this.started)}`
    );
  }

  private lines(): string[] {
    const lines = [...this.maps.values()].map((m) => formatMapLine(m, this.area.width - 1));
    if (this.o.poolLine) lines.push(this.poolLine());
    return lines;
  }

  /** Draws the current lines. */
  render(): void {
    if (this.finished) return;
    const lines = this.lines();
    if (lines.length > 0) this.area.set(lines);
    else if (this.area.visible) this.area.close();
  }

  /** The end of the run: maps still open and the pool line's last state stay as ordinary lines. */
  finish(): void {
    if (this.finished) return;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.area.close();
    this.finished = true;
    for (const m of this.maps.values()) this.o.out.write(`${formatMapLine(m, this.area.width - 1)}\n`);
    this.maps.clear();
    if (this.o.poolLine) {
      const t = this.totals();
      const ms = this.now() - this.started;
      this.o.out.write(
        `scoop: ${t.done}/${t.submitted} tasks done in ${formatElapsed(ms)} · ${formatRate(ms > 0 ? (t.done * 1000) / ms : 0)} on average · ${this.peakWorkers} workers\n`,
      );
    }
  }
}
