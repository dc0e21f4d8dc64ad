/**
 * The engine under map, mapAsCompleted, mapReduce and mapScan: it pulls argument tuples lazily,
 * packs them into chunk tasks, keeps a bounded window of chunks in flight (so unbounded inputs use
 * bounded memory), and hands back each chunk's values in input order or in completion order.
 *
 * Chunk size adapts to measured throughput (as joblib's auto batching does): it doubles while chunks
 * are cheap and settles at about CHUNK_TARGET_MS of work per chunk per worker.
 */
import { ArgumentError, TimeoutError } from "../errors.js";
import type { CallOp } from "../protocol/envelope.js";
import { checkTimeout, type Future } from "./future.js";
import { zipSource, type TupleSource } from "./iterate.js";
import type { Runtime } from "./runtime.js";

export interface ChunkOptions {
  /** Items per task. Default: adaptive. */
  chunkSize?: number;
  /** Milliseconds for the whole call; then it rejects with TimeoutError. */
  timeout?: number;
}

export interface ChunkResult {
  index: number;
  values: unknown;
  size: number;
}

const CHUNK_TARGET_MS = 10;
const MAX_AUTO_CHUNK = 65_536;

export function validateChunkOptions(call: string, o: ChunkOptions): void {
  if (o.chunkSize !== undefined && (!Number.isInteger(o.chunkSize) || o.chunkSize < 1)) {
    throw new ArgumentError(`${call}(): chunkSize must be a positive integer, got ${String(o.chunkSize)}`);
  }
  checkTimeout(o.timeout, `${call}()`);
}

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

/** Yields one ChunkResult per chunk; throws the first task error, or TimeoutError at the deadline. */
export async function* runChunks(job: ChunkJob): AsyncGenerator<ChunkResult, void, undefined> {
  const { runtime, op, fn, reducer, options, ordered } = job;
  if (typeof fn !== "function") throw new ArgumentError(`${job.call}() takes a function as its first argument`);
  const source: TupleSource = zipSource(job.call, job.iterables);
  const unary = job.iterables.length === 1;
  const deadline = options.timeout === undefined || options.timeout === Infinity ? undefined : Date.now() + options.timeout;
  const window = Math.max(4, 2 * runtime.size + 2);
  const inFlight = new Map<number, { future: Future<unknown>; size: number }>();
  const completed: number[] = [];
  let wake: (() => void) | undefined;
  let nextIndex = 0;
  let nextOrdered = 0;
  let exhausted = false;
  let chunkSize = options.chunkSize ?? 1;
  let itemsDone = 0;
  const started = performance.now();

  const onDone = (index: number) => {
    completed.push(index);
    wake?.();
  };

  const fill = async () => {
    while (!exhausted && inFlight.size < window) {
      const payload: unknown[] = [];
      while (payload.length < chunkSize) {
        let t = source.next();
        if (t instanceof Promise) t = await t;
        if (t === undefined) {
          exhausted = true;
          break;
        }
        payload.push(unary ? t[0] : t);
      }
      if (payload.length === 0) break;
      const index = nextIndex++;
      const future = runtime.submit<unknown>(op, fn, payload, reducer, unary);
      inFlight.set(index, { future, size: payload.length });
      future.addDoneCallback(() => onDone(index));
    }
  };

  const adapt = () => {
    if (options.chunkSize !== undefined) return;
    const rate = itemsDone / Math.max(0.001, performance.now() - started); // items per ms, whole pool
    const fit = Math.floor((rate * CHUNK_TARGET_MS) / Math.max(1, runtime.size));
    // Grow by doubling (the early rate estimate is pessimistic), shrink straight to the fit.
    const next = fit > chunkSize ? chunkSize * 2 : fit;
    chunkSize = Math.max(1, Math.min(MAX_AUTO_CHUNK, next));
  };

  const waitForCompletion = async () => {
    if (completed.length > 0) return;
    await new Promise<void>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      wake = () => {
        clearTimeout(timer);
        wake = undefined;
        resolve();
      };
      if (deadline !== undefined) {
        timer = setTimeout(() => {
          wake = undefined;
          reject(new TimeoutError(`${job.call}() timed out after ${options.timeout} ms with ${inFlight.size} chunk(s) unfinished`));
        }, Math.max(0, deadline - Date.now()));
      }
    });
  };

  try {
    await fill();
    while (inFlight.size > 0) {
      await waitForCompletion();
      if (ordered) {
        // Completions are noted; hand out the lowest index only once it is done.
        completed.length = 0;
        let entry = inFlight.get(nextOrdered);
        while (entry && entry.future.done()) {
          inFlight.delete(nextOrdered);
          const values = await entry.future.result();
          itemsDone += entry.size;
          adapt();
          yield { index: nextOrdered, values, size: entry.size };
          nextOrdered++;
          entry = inFlight.get(nextOrdered);
        }
        // A failed chunk anywhere fails the map now, not when its turn comes.
        for (const e of inFlight.values()) if (e.future.done() && e.future.hasError) await e.future.result();
      } else {
        while (completed.length > 0) {
          const index = completed.shift()!;
          const entry = inFlight.get(index);
          if (!entry) continue;
          inFlight.delete(index);
          const values = await entry.future.result();
          itemsDone += entry.size;
          adapt();
          yield { index, values, size: entry.size };
        }
      }
      await fill();
    }
  } finally {
    // Early exit (break, error, timeout): withdraw what is still queued and stop reading the input.
    for (const e of inFlight.values()) e.future.cancel();
    source.close();
  }
}
