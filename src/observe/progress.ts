/**
 * Live progress on a terminal, shared by the launcher's pool line (`scoop --progress`) and the bars
 * of `futures.map(…, { progress: true })`:
 *
 * - {@link StatusArea}: a few lines kept at the bottom of a stream, redrawn in place, erased before
 *   any other output goes to the terminal;
 * - the line protocol by which workers (whose stderr is a pipe to the launcher) send progress to the
 *   launcher, which owns the terminal: one line, behind a marker no program prints, per report;
 * - formatting helpers.
 *
 * Nothing is drawn on a stream that is not a terminal unless the user forced it.
 */

/** Set by the launcher for every worker: `tty` when its stderr is a terminal, else `pipe`. A worker
 * that sees it sends its map bars to the launcher (marker lines on stderr) instead of drawing. */
export const PROGRESS_RELAY_VAR = "SCOOP_PROGRESS_RELAY";
/** Set by the launcher under `--progress`: every worker reports its task counts a few times a second. */
export const PROGRESS_REPORT_VAR = "SCOOP_PROGRESS_REPORT";
/** Milliseconds between a worker's reports. */
export const REPORT_INTERVAL_MS = 200;

export const PROGRESS_MARK = "\u001fscoop-progress\u001f";

/** A worker's cumulative counts. */
export interface WorkerReport {
  k: "w";
  /** Tasks submitted from this worker. */
  s: number;
  /** Of those, cancelled before they ran. */
  c: number;
  /** Tasks this worker ran to the end (ok or failed). */
  d: number;
  /** Tasks received and not started. */
  q: number;
  /** Started tasks waiting on futures. */
  r: number;
  /** Event-loop utilisation since the last report, 0..1: how busy it was. */
  b: number;
}

/** The state of one map with `progress` on. */
export interface MapReport {
  k: "m";
  /** Unique within the sending process. */
  id: number;
  label: string;
  /** Items done. */
  done: number;
  /** Items submitted so far. */
  sub: number;
  /** Items in all, when known. */
  total: number | null;
  /** Milliseconds since the map started. */
  ms: number;
  /** How it ended, on the last report. */
  end?: MapOutcome;
}

export type MapOutcome = "ok" | "failed" | "cancelled" | "stopped";
export type ProgressMessage = WorkerReport | MapReport;

export function encodeProgress(m: ProgressMessage): string {
  return `${PROGRESS_MARK}${JSON.stringify(m)}\n`;
}

/**
 * Splits a line of a worker's stderr: the progress message it carries (if any) and the text around
 * it (a partial line the program wrote before the marker), or `undefined` when nothing is left.
 */
export function decodeProgress(line: string): { message?: ProgressMessage; text?: string } {
  const at = line.indexOf(PROGRESS_MARK);
  if (at < 0) return { text: line };
  const text = at > 0 ? line.slice(0, at) : undefined;
  try {
    const message = JSON.parse(line.slice(at + PROGRESS_MARK.length)) as ProgressMessage;
    if (message && (message.k === "w" || message.k === "m")) return text === undefined ? { message } : { message, text };
  } catch {
    // a damaged report is dropped
  }
  return text === undefined ? {} : { text };
}

// ------------------------------------------------------------------------------------------------
// Formatting

/** "0.4 s", "12 s", "3:05", "1:02:03". */
export function formatElapsed(ms: number): string {
  const s = Math.max(0, ms) / 1000;
  if (s < 10) return `${s.toFixed(1)} s`;
  if (s < 60) return `${Math.floor(s)} s`;
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(Math.floor(s % 60)).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${sec}` : `${m}:${sec}`;
}

/** "950/s", "12.5k/s", "0.4/s". */
export function formatRate(perSecond: number): string {
  if (!Number.isFinite(perSecond) || perSecond <= 0) return "0/s";
  if (perSecond < 10) return `${perSecond.toFixed(1)}/s`;
  if (perSecond < 10_000) return `${Math.round(perSecond)}/s`;
  if (perSecond < 10_000_000) return `${(perSecond / 1000).toFixed(1)}k/s`;
  return `${(perSecond / 1e6).toFixed(1)}M/s`;
}

/** A bar of `width` cells, filled to `fraction` (eighths of a cell). */
export function drawBar(fraction: number, width: number): string {
  const f = Math.max(0, Math.min(1, fraction));
  const eighths = Math.round(f * width * 8);
  const full = Math.floor(eighths / 8);
  const part = eighths % 8;
  const partial = part > 0 ? " ▏▎▍▌▋▊▉"[part]! : "";
  return "█".repeat(full) + partial + "░".repeat(Math.max(0, width - full - (part > 0 ? 1 : 0)));
}

/** One line for a map's bar. */
export function formatMapLine(m: MapReport, width = 80): string {
  const label = m.label.length > 32 ? `${m.label.slice(0, 31)}…` : m.label;
  const rate = m.ms > 0 ? (m.done * 1000) / m.ms : 0;
  if (m.total !== null && m.total > 0) {
    const frac = m.done / m.total;
    const tail =
      m.end === undefined
        ? `${formatRate(rate)} · ${formatElapsed(m.ms)}${rate > 0 && m.done < m.total ? ` · ETA ${formatElapsed(((m.total - m.done) / rate) * 1000)}` : ""}`
        : m.end === "ok"
          ? `done in ${formatElapsed(m.ms)} (${formatRate(rate)})`
          : `${m.end} after ${formatElapsed(m.ms)}`;
    const counts = `${m.done}/${m.total} ${String(Math.floor(frac * 100)).padStart(3)}%`;
    const room = width - label.length - counts.length - tail.length - 9;
    const head = room >= 8 ? `${label}  ${drawBar(frac, Math.min(30, room))}  ${counts}` : `${label}  ${counts}`;
    return `${head} · ${tail}`;
  }
  const tail =
    m.end === undefined
      ? `${formatRate(rate)} · ${formatElapsed(m.ms)}`
      : m.end === "ok"
        ? `done in ${formatElapsed(m.ms)} (${formatRate(rate)})`
        : `${m.end} after ${formatElapsed(m.ms)}`;
  return `${label}  ${m.done} done${m.end === undefined && m.sub > m.done ? ` (${m.sub - m.done} running)` : ""} · ${tail}`;
}

// ------------------------------------------------------------------------------------------------
// Drawing

export interface TerminalLike {
  write(s: string): unknown;
  columns?: number;
  isTTY?: boolean;
}

/**
 * Lines kept at the bottom of a terminal stream. `set(lines)` redraws them in place; `clear()` erases
 * them (call it before writing anything else to the terminal; the next `set` draws them again);
 * `print(line)` adds a permanent line above them. Lines are cut to the terminal width, so they never
 * wrap (which would break the redraw).
 */
export class StatusArea {
  private shown = 0;
  private lines: string[] = [];

  constructor(private readonly out: TerminalLike) {}

  get width(): number {
    const c = this.out.columns;
    return typeof c === "number" && c > 10 ? c : 100;
  }

  /** Whether lines are on screen now. */
  get visible(): boolean {
    return this.shown > 0;
  }

  private erase(): string {
    if (this.shown === 0) return "";
    let s = "\r\x1b[2K";
    for (let i = 1; i < this.shown; i++) s += "\x1b[1A\x1b[2K";
    this.shown = 0;
    return s;
  }

  private fit(line: string): string {
    const max = this.width - 1;
    const chars = [...line];
    return chars.length > max ? `${chars.slice(0, max - 1).join("")}…` : line;
  }

  /** Replaces the lines and draws them. */
  set(lines: string[]): void {
    this.lines = lines;
    this.draw();
  }

  /** Draws the current lines again (after a clear()). */
  draw(): void {
    const body = this.lines.map((l) => this.fit(l)).join("\n");
    this.out.write(this.erase() + body);
    this.shown = this.lines.length;
  }

  /** Erases the lines from the screen (they stay set; draw() shows them again). */
  clear(): void {
    const s = this.erase();
    if (s) this.out.write(s);
  }

  /** Writes a permanent line above the area, then the area again (with `lines` from now on, if given). */
  print(line: string, lines?: string[]): void {
    if (lines) this.lines = lines;
    const body = this.lines.map((l) => this.fit(l)).join("\n");
    this.out.write(`${this.erase()}${this.fit(line)}\n${body}`);
    this.shown = this.lines.length;
  }

  /** Erases the area for good. */
  close(): void {
    this.clear();
    this.lines = [];
  }
}
