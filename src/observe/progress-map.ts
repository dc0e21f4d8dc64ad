/**
 * The bar of `futures.map(fn, xs, { progress: true })` (and of mapAsCompleted, mapReduce, mapScan):
 * items done out of the total (when the inputs have a known length), rate, elapsed time and ETA.
 *
 * Drawn only by the process that runs `main` (the origin, or a program embedding a Pool), on its
 * stderr, and only when that is a terminal — unless forced with `progress: "always"`. Under the
 * `scoop` launcher the origin's stderr is a pipe: the bar is then sent to the launcher (marker lines,
 * see progress.ts), which draws it on its own terminal. When a map ends its last state stays on the
 * screen as an ordinary line.
 */
import { ArgumentError } from "../errors.js";
import { encodeProgress, formatMapLine, PROGRESS_RELAY_VAR, StatusArea, type MapOutcome, type MapReport } from "./progress.js";

export type MapProgressOption = boolean | "always";

/** What the chunk engine tells a map's bar. */
export interface MapProgress {
  /** `n` items were sent as a task. */
  submitted(n: number): void;
  /** `n` items came back. */
  completed(n: number): void;
  /** The map is over (idempotent). */
  finish(outcome: MapOutcome): void;
}

const TICK_MS = 100;

export function checkProgressOption(call: string, v: unknown): void {
  if (v !== undefined && v !== true && v !== false && v !== "always") {
    throw new ArgumentError(`${call}(): progress must be true (on a terminal), "always" or false, got ${typeof v === "string" ? `"${v}"` : String(v)}`);
  }
}

/** The number of items an input will give, when it can be known without reading it. */
function knownLength(x: unknown): number | undefined {
  if (Array.isArray(x) || typeof x === "string") return x.length;
  if (ArrayBuffer.isView(x) && !(x instanceof DataView)) return (x as unknown as { length: number }).length;
  if (x instanceof Set || x instanceof Map) return x.size;
  return undefined;
}

class Bar implements MapProgress {
  readonly id = ++nextId;
  private readonly start = performance.now();
  sub = 0;
  done = 0;
  dirty = true;
  end: MapOutcome | undefined;

  constructor(
    readonly label: string,
    readonly total: number | null,
    readonly relay: boolean,
  ) {}

  report(): MapReport {
    const r: MapReport = { k: "m", id: this.id, label: this.label, done: this.done, sub: this.sub, total: this.total, ms: Math.round(performance.now() - this.start) };
    if (this.end !== undefined) r.end = this.end;
    return r;
  }

  submitted(n: number): void {
    this.sub += n;
    this.dirty = true;
  }

  completed(n: number): void {
    this.done += n;
    this.dirty = true;
  }

  finish(outcome: MapOutcome): void {
    if (this.end !== undefined) return;
    this.end = outcome;
    active.delete(this);
    const report = this.report();
    if (this.relay) write(encodeProgress(report));
    else directArea().print(formatMapLine(report, directArea().width - 1), directLines());
    if (active.size === 0) stopTicking();
  }
}

let nextId = 0;
const active = new Set<Bar>();
let timer: NodeJS.Timeout | undefined;
let area: StatusArea | undefined;

function write(s: string): void {
  try {
    process.stderr.write(s);
  } catch {
    // a closed stderr must not fail the map
  }
}

function directArea(): StatusArea {
  area ??= new StatusArea(process.stderr);
  return area;
}

/** The lines of the bars drawn here (not relayed). */
function directLines(): string[] {
  const lines: string[] = [];
  for (const b of active) if (!b.relay) lines.push(formatMapLine(b.report(), directArea().width - 1));
  return lines;
}

function tick(): void {
  for (const b of active) {
    if (b.relay && b.dirty) write(encodeProgress(b.report()));
    b.dirty = false;
  }
  const direct = directLines();
  if (direct.length > 0) directArea().set(direct);
  else if (area?.visible) area.close();
}

function stopTicking(): void {
  if (timer) clearInterval(timer);
  timer = undefined;
  area?.close();
}

/**
 * The bar of one chunked call, or undefined when none is to be drawn (option off, not the process
 * running main, or stderr not a terminal and not forced).
 */
export function openMapProgress(
  call: string,
  fn: Function,
  iterables: unknown[],
  option: MapProgressOption | undefined,
  isOrigin: boolean,
): MapProgress | undefined {
  if (option === undefined || option === false || !isOrigin) return undefined;
  const forced = option === "always";
  const relay = process.env[PROGRESS_RELAY_VAR];
  const relayed = relay === "tty" || relay === "pipe";
  if (!forced && (relayed ? relay !== "tty" : process.stderr.isTTY !== true)) return undefined;
  let total: number | null = null;
  for (const it of iterables) {
    const n = knownLength(it);
    if (n === undefined) {
      total = null;
      break;
    }
    total = total === null ? n : Math.min(total, n);
  }
  const bar = new Bar(`${call}(${fn.name || "anonymous"})`, total, relayed);
  active.add(bar);
  if (!timer) {
    timer = setInterval(tick, TICK_MS);
    timer.unref();
  }
  return bar;
}
