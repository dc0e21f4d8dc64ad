/**
 * The engine under map, mapAsCompleted, mapReduce and mapScan: it pulls argument tuples lazily,
 * packs them into chunk tasks, keeps a bounded window of chunks in flight (so unbounded inputs use
 * bounded memory), and hands back each chunk's values in input order or in completion order.
 *
 * Chunk size adapts to measured throughput (as joblib's auto batching does): it doubles while chunks
 * are cheap and settles at about CHUNK_TARGET_MS of work per chunk per worker.
 */
import { ArgumentError, CancelledError, TimeoutError } from "../errors.js";
import { checkProgressOption, openMapProgress, type MapProgress, type MapProgressOption } from "../observe/progress-map.js";
import type { CallOp } from "../protocol/envelope.js";
import { checkTimeout, type Future } from "./future.js";
import { zipSource, type TupleSource } from "./iterate.js";
import type { Runtime } from "./runtime.js";

/** Options shared by every chunked call (map, mapAsCompleted, mapReduce, mapScan). */
export interface ChunkOptions {
  /**
   * Items per task. Default: adaptive — it starts at 1 and grows while tasks are short, up to about
   * 10 ms of work per task, so cheap functions over long inputs are batched automatically.
   */
  chunkSize?: number;
  /** Milliseconds for the whole call; then it rejects with {@link TimeoutError}. Default: no limit. */
  timeout?: number;
  /**
   * A live bar on stderr (items done, rate, ETA) while the call runs: `true` on a terminal only,
   * `"always"` even when stderr is not one. Drawn by the process running `main` only. Default false.
   */
  progress?: MapProgressOption;
}

export interface ChunkResult {
  index: number;
  values: unknown;
  size: number;
}

const CHUNK_TARGET_MS = 10;
const MAX_AUTO_CHUNK = 65_536;

/** Checks an options object: known keys only (an unknown key is refused, never silently dropped). */
export function validateChunkOptions(call: string, o: object, extraKeys: readonly string[] = []): void {
  const known = ["chunkSize", "timeout", "progress", ...extraKeys];
  for (const k of Object.keys(o)) {
    if (!known.includes(k)) {
      throw new ArgumentError(
        `${call}(): unknown option "${k}" (options are ${known.join(", ")}). ` +
          `To pass the same extra argument to every call, add an iterable that repeats it, e.g. Array(n).fill(value)`,
      );
    }
  }
  const c = o as ChunkOptions;
  if (c.chunkSize !== undefined && (!Number.isInteger(c.chunkSize) || c.chunkSize < 1)) {
    throw new ArgumentError(`${call}(): chunkSize must be a positive integer, got ${String(c.chunkSize)}`);
  }
  checkTimeout(c.timeout, `${call}()`);
  checkProgressOption(call, c.progress);
}

/** A point in time for a whole call, from its `timeout` option. */
export class Deadline {
  readonly at: number | undefined;
  constructor(readonly timeout: number | undefined) {
    this.at = timeout === undefined || timeout === Infinity ? undefined : Date.now() + timeout;
  }
  /** Milliseconds left (undefined: no limit). */
  remaining(): number | undefined {
    return this.at === undefined ? undefined : Math.max(0, this.at - Date.now());
  }
}

/**
 * Chunks in flight for a pool of `size` workers: enough that a worker busy with a long task (and so
 * slow to refill) does not leave the others without work; bounded, so unbounded inputs use bounded
 * memory.
 */
export function mapWindow(size: number): number {
  return Math.max(8, 4 * size);
}

/**
 * Finished chunks waiting for an earlier, slower one (input order) do not hold the window: it counts
 * unfinished chunks, else one long task would leave the other workers idle until it ends. Those
 * waiting results are bounded too, at this many windows.
 */
const MAX_WAITING_WINDOWS = 16;

export interface ChunkJob {
  call: string;
  runtime: Runtime;
  op: CallOp;
  fn: Function;
  reducer?: Function;
  iterables: unknown[];
  options: ChunkOptions;
  ordered: boolean;
}

interface InFlight {
  future: Future<unknown>;
  size: number;
}

/** Where a chunked call stands, for observers (the dashboard's telemetry). */
export interface ChunkProgress {
  call: string;
  fn: string;
  /** Items whose chunk finished. */
  done: number;
  /** Items sent so far. */
  submitted: number;
  /** All items: known when every input has a length, or once the input is exhausted. */
  total: number | undefined;
  ended: boolean;
  failed: boolean;
}

/** Told of every chunked call as it starts (telemetry, `scoop --dashboard`); unset, it costs nothing. */
let engineObserver: ((engine: ChunkEngine) => void) | undefined;
export function observeChunkEngines(observer: ((engine: ChunkEngine) => void) | undefined): void {
  engineObserver = observer;
}

/**
 * One chunked call. `start()` submits the first window at once (synchronously for synchronous
 * inputs, so a function or an argument that cannot travel throws at the call); `results()` streams
 * the chunks' values and keeps the window full while it is consumed. Leaving `results()` early
 * (break, error, timeout) withdraws the chunks still queued and closes the inputs.
 */
export class ChunkEngine {
  private readonly source: TupleSource;
  private readonly unary: boolean;
  private readonly deadline: Deadline;
  private readonly window: number;
  private readonly inFlight = new Map<number, InFlight>();
  /** Chunks submitted and not finished (inFlight also holds finished ones not consumed yet). */
  private unfinished = 0;
  private readonly completed: number[] = [];
  private wake: (() => void) | undefined;
  private signalled = false;
  private nextIndex = 0;
  private nextOrdered = 0;
  private exhausted = false;
  private closed = false;
  private filling: Promise<void> | undefined;
  private failure: { error: unknown } | undefined;
  private chunkSize: number;
  private itemsDone = 0;
  private itemsSubmitted = 0;
  private readonly started = performance.now();
  private streaming = false;
  /** The bar of the `progress` option, if one is drawn (progress-map.ts). */
  private readonly bar: MapProgress | undefined;

  constructor(private readonly job: ChunkJob) {
    if (typeof job.fn !== "function") throw new ArgumentError(`${job.call}() takes a function as its first argument`);
    this.source = zipSource(job.call, job.iterables);
    this.unary = job.iterables.length === 1;
    this.deadline = new Deadline(job.options.timeout);
    this.window = mapWindow(job.runtime.size);
    this.chunkSize = job.options.chunkSize ?? 1;
    this.bar = openMapProgress(job.call, job.fn, job.iterables, job.options.progress, job.runtime.isOrigin);
  }

  /** Submits the first window. Throws synchronously (and stops) when the inputs are synchronous and a chunk cannot be sent. */
  start(): void {
    try {
      this.fill();
    } catch (err) {
      this.close();
      throw err;
    }
    engineObserver?.(this);
  }

  /** Where this call stands (for observers; polled a few times a second, never on the task path). */
  progress(): ChunkProgress {
    let done = this.itemsDone;
    for (const e of this.inFlight.values()) if (e.future.done() && !e.future.hasError) done += e.size;
    let total: number | undefined = this.exhausted ? this.itemsSubmitted : undefined;
    if (total === undefined) {
      const lengths = this.job.iterables.map((it) =>
        Array.isArray(it) || ArrayBuffer.isView(it) ? (it as ArrayLike<unknown>).length : it instanceof Set || it instanceof Map ? it.size : undefined,
      );
      if (lengths.every((n) => n !== undefined)) total = Math.min(...(lengths as number[]));
    }
    return {
      call: this.job.call,
      fn: this.job.fn.name || "anonymous",
      done,
      submitted: this.itemsSubmitted,
      total,
      ended: this.closed,
      failed: this.failure !== undefined,
    };
  }

  /** Stops on the user's request: what is left is withdrawn and the consumer gets CancelledError. */
  cancel(): void {
    if (this.closed) return;
    this.failure ??= { error: new CancelledError(`${this.job.call}() was cancelled`) };
    this.close();
  }

  /** Stops: cancels the chunks not finished and closes the inputs. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.bar?.finish(
      this.failure
        ? this.failure.error instanceof CancelledError ? "cancelled" : "failed"
        : this.exhausted && this.inFlight.size === 0 ? "ok" : "stopped",
    );
    for (const e of this.inFlight.values()) e.future.cancel();
    this.inFlight.clear();
    this.source.close();
    this.signal();
  }

  private signal(): void {
    const w = this.wake;
    if (w) {
      this.wake = undefined;
      w();
    } else this.signalled = true;
  }

  /** Fills the window: at once for synchronous inputs, in the background for asynchronous ones. */
  private fill(): void {
    if (this.closed || this.exhausted || this.failure) return;
    if (this.source.sync) {
      this.fillSync();
      return;
    }
    if (this.filling) return;
    this.filling = this.fillAsync().then(
      () => {
        this.filling = undefined;
        this.signal();
      },
      (error) => {
        this.filling = undefined;
        this.failure ??= { error };
        this.signal();
      },
    );
  }

  private fillSync(): void {
    const take = this.unary ? this.source.takeValues : undefined;
    while (!this.exhausted && !this.closed && this.hasRoom()) {
      if (take) {
        const values = take.call(this.source, this.chunkSize);
        if (values.length < this.chunkSize) this.exhausted = true;
        if (values.length === 0) break;
        this.submit(values);
        continue;
      }
      const payload: unknown[] = [];
      while (payload.length < this.chunkSize) {
        const t = this.source.next() as unknown[] | undefined;
        if (t === undefined) {
          this.exhausted = true;
          break;
        }
        payload.push(this.unary ? t[0] : t);
      }
      if (payload.length === 0) break;
      this.submit(payload);
    }
  }

  private async fillAsync(): Promise<void> {
    while (!this.exhausted && !this.closed && this.hasRoom()) {
      const payload: unknown[] = [];
      while (payload.length < this.chunkSize) {
        const t = await this.source.next();
        if (this.closed) return;
        if (t === undefined) {
          this.exhausted = true;
          break;
        }
        payload.push(this.unary ? t[0] : t);
      }
      if (payload.length === 0) break;
      this.submit(payload);
      this.signal();
    }
  }

  private hasRoom(): boolean {
    return this.unfinished < this.window && this.inFlight.size < this.window * MAX_WAITING_WINDOWS;
  }

  private submit(payload: unknown[]): void {
    const { runtime, op, fn, reducer, ordered } = this.job;
    const future = runtime.submit<unknown>(op, fn, payload, reducer, this.unary);
    const index = this.nextIndex++;
    this.itemsSubmitted += payload.length;
    this.inFlight.set(index, { future, size: payload.length });
    this.unfinished++;
    this.bar?.submitted(payload.length);
    future.addDoneCallback(() => {
      this.unfinished--;
      if (this.bar && !future.hasError) this.bar.completed(payload.length);
      if (!ordered) this.completed.push(index);
      this.signal();
    });
  }

  private adapt(): void {
    if (this.job.options.chunkSize !== undefined) return;
    const rate = this.itemsDone / Math.max(0.001, performance.now() - this.started); // items per ms, whole pool
    const fit = Math.floor((rate * CHUNK_TARGET_MS) / Math.max(1, this.job.runtime.size));
    // Grow by doubling (the early rate estimate is pessimistic), shrink straight to the fit.
    const next = fit > this.chunkSize ? this.chunkSize * 2 : fit;
    this.chunkSize = Math.max(1, Math.min(MAX_AUTO_CHUNK, next));
  }

  /** Waits for a chunk to finish or the background fill to progress; TimeoutError at the deadline. */
  private async nextEvent(): Promise<void> {
    if (this.signalled) {
      this.signalled = false;
      return;
    }
    const ms = this.deadline.remaining();
    await new Promise<void>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
      if (ms !== undefined) {
        timer = setTimeout(() => {
          this.wake = undefined;
          reject(
            new TimeoutError(`${this.job.call}() timed out after ${this.deadline.timeout} ms with ${this.inFlight.size} chunk(s) unfinished`),
          );
        }, ms);
      }
    });
    this.signalled = false;
  }

  /** Yields one ChunkResult per chunk; throws the first task error, or TimeoutError at the deadline. Once only. */
  async *results(): AsyncGenerator<ChunkResult, void, undefined> {
    if (this.streaming) throw new ArgumentError(`the results of one ${this.job.call}() call can be consumed once`);
    this.streaming = true;
    try {
      this.fill();
      for (;;) {
        this.throwIfFailed();
        if (this.closed) return;
        if (this.job.ordered) {
          let entry = this.inFlight.get(this.nextOrdered);
          while (entry && entry.future.done()) {
            this.inFlight.delete(this.nextOrdered);
            const values = await entry.future.result();
            const index = this.nextOrdered++;
            this.itemsDone += entry.size;
            this.adapt();
            this.fill();
            yield { index, values, size: entry.size };
            this.throwIfFailed();
            if (this.closed) return;
            entry = this.inFlight.get(this.nextOrdered);
          }
          // A failed chunk anywhere fails the call now, not when its turn comes.
          for (const e of this.inFlight.values()) if (e.future.done() && e.future.hasError) await e.future.result();
        } else {
          while (this.completed.length > 0) {
            const index = this.completed.shift()!;
            const entry = this.inFlight.get(index);
            if (!entry) continue;
            this.inFlight.delete(index);
            const values = await entry.future.result();
            this.itemsDone += entry.size;
            this.adapt();
            this.fill();
            yield { index, values, size: entry.size };
            this.throwIfFailed();
            if (this.closed) return;
          }
        }
        this.throwIfFailed();
        this.fill();
        if (this.inFlight.size === 0 && this.exhausted && !this.filling) return;
        if (!this.readyNow()) await this.nextEvent();
      }
    } finally {
      // Early exit (break, error, timeout) withdraws what is still queued and stops reading the input;
      // at the normal end it only closes the (already exhausted) input.
      this.close();
    }
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure.error;
  }

  /** Whether a chunk can be handed out without waiting. */
  private readyNow(): boolean {
    if (this.job.ordered) return this.inFlight.get(this.nextOrdered)?.future.done() === true;
    return this.completed.length > 0;
  }
}
