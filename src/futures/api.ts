/**
 * The `futures` API: submit, map, mapAsCompleted, mapReduce, mapScan, asCompleted, wait, shutdown.
 * Every function works against a Runtime, so the same calls serve a worker process, an embedded
 * pool and the serial fallback.
 */
import { ArgumentError, TimeoutError } from "../errors.js";
import { CallOp } from "../protocol/envelope.js";
import { runChunks, validateChunkOptions, type ChunkOptions } from "./chunks.js";
import { checkTimeout, Future, isFuture, withTimeout } from "./future.js";
import { isIterable, type AnyIterable } from "./iterate.js";
import type { Runtime } from "./runtime.js";

/** Options of map, mapAsCompleted. */
export interface MapOptions extends ChunkOptions {}

/** Options of mapReduce. */
export interface MapReduceOptions<R> extends ChunkOptions {
  /** Leftmost value of the reduction; also the result for an empty input. */
  initial?: R;
}

/** The result type of a function, promises unwrapped. */
export type Result<F> = F extends (...args: any[]) => infer R ? Awaited<R> : never;
/** One iterable per parameter of `fn`, element types checked against the parameters. */
export type IterablesOf<A extends unknown[]> = { [K in keyof A]: AnyIterable<A[K]> };

export const FIRST_COMPLETED = "FIRST_COMPLETED" as const;
export const FIRST_EXCEPTION = "FIRST_EXCEPTION" as const;
export const ALL_COMPLETED = "ALL_COMPLETED" as const;
export type ReturnWhen = typeof FIRST_COMPLETED | typeof FIRST_EXCEPTION | typeof ALL_COMPLETED;

export interface WaitResult<T> {
  done: Set<Future<T>>;
  notDone: Set<Future<T>>;
}

/**
 * Results of {@link FuturesApi.map}: iterate it (`for await`) to stream values in input order, or
 * await it for the whole array. The first task error rejects either way.
 */
export class MapResult<R> implements AsyncIterable<R>, PromiseLike<R[]> {
  private all: Promise<R[]> | undefined;
  private consumed = false;

  constructor(private readonly start: () => AsyncGenerator<{ values: unknown }, void, undefined>) {}

  async *[Symbol.asyncIterator](): AsyncGenerator<R, void, undefined> {
    if (this.consumed) throw new ArgumentError("a map() result can be iterated or awaited once");
    this.consumed = true;
    for await (const chunk of this.start()) {
      for (const v of chunk.values as R[]) yield v;
    }
  }

  then<A = R[], B = never>(
    onFulfilled?: ((value: R[]) => A | PromiseLike<A>) | null,
    onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    this.all ??= (async () => {
      const out: R[] = [];
      for await (const v of this) out.push(v);
      return out;
    })();
    return this.all.then(onFulfilled, onRejected);
  }
}

function isOptions(v: unknown): boolean {
  return v !== null && typeof v === "object" && !isIterable(v) && Object.getPrototypeOf(v) === Object.prototype;
}

/** Splits `[...iterables, options?]`. */
function splitOptions<O>(rest: unknown[]): { iterables: unknown[]; options: O } {
  if (rest.length > 0 && isOptions(rest[rest.length - 1])) {
    return { iterables: rest.slice(0, -1), options: rest[rest.length - 1] as O };
  }
  return { iterables: rest, options: {} as O };
}

function checkFunction(call: string, fn: unknown, what = "its first argument"): void {
  if (typeof fn !== "function") throw new ArgumentError(`${call}() takes a function as ${what}, got ${fn === null ? "null" : typeof fn}`);
}

function checkFutures(call: string, fs: unknown): Future<unknown>[] {
  if (!isIterable(fs) || typeof (fs as AsyncIterable<unknown>)[Symbol.asyncIterator] === "function") {
    throw new ArgumentError(`${call}() takes an iterable of futures`);
  }
  const list = [...(fs as Iterable<unknown>)];
  list.forEach((f, i) => {
    if (!isFuture(f)) throw new ArgumentError(`${call}(): item ${i} is not a Future`);
  });
  return list as Future<unknown>[];
}

export interface FuturesApi {
  submit<A extends unknown[], R>(fn: (...args: A) => R, ...args: A): Future<Awaited<R>>;
  map<A extends unknown[], R>(fn: (...args: A) => R, ...iterables: [...IterablesOf<A>] | [...IterablesOf<A>, MapOptions]): MapResult<Awaited<R>>;
  mapAsCompleted<A extends unknown[], R>(
    fn: (...args: A) => R,
    ...iterables: [...IterablesOf<A>] | [...IterablesOf<A>, MapOptions]
  ): AsyncIterable<Awaited<R>>;
  mapReduce<A extends unknown[], R>(
    mapFn: (...args: A) => R | PromiseLike<R>,
    reduceFn: (a: R, b: R) => R | PromiseLike<R>,
    ...iterables: [...IterablesOf<A>] | [...IterablesOf<A>, MapReduceOptions<R>]
  ): Promise<R>;
  mapScan<A extends unknown[], R>(
    mapFn: (...args: A) => R | PromiseLike<R>,
    reduceFn: (a: R, b: R) => R | PromiseLike<R>,
    ...iterables: [...IterablesOf<A>] | [...IterablesOf<A>, ChunkOptions]
  ): Promise<R[]>;
  asCompleted<T>(fs: Iterable<Future<T>>, options?: { timeout?: number }): AsyncIterable<Future<T>>;
  wait<T>(fs: Iterable<Future<T>>, options?: { timeout?: number; returnWhen?: ReturnWhen }): Promise<WaitResult<T>>;
  shutdown(options?: { wait?: boolean }): Promise<void>;
  readonly FIRST_COMPLETED: typeof FIRST_COMPLETED;
  readonly FIRST_EXCEPTION: typeof FIRST_EXCEPTION;
  readonly ALL_COMPLETED: typeof ALL_COMPLETED;
}

/** Builds the futures API over a runtime getter (the module-level one, or a Pool's own). */
export function createFuturesApi(runtime: () => Runtime): FuturesApi {
  const submitted = new Set<Future<unknown>>();

  const api: FuturesApi = {
    FIRST_COMPLETED,
    FIRST_EXCEPTION,
    ALL_COMPLETED,

    submit(fn, ...args) {
      checkFunction("submit", fn);
      const f = runtime().submit(CallOp.Call, fn, args);
      submitted.add(f);
      f.addDoneCallback(() => submitted.delete(f));
      return f as never;
    },

    map(fn, ...rest) {
      checkFunction("map", fn);
      const { iterables, options } = splitOptions<MapOptions>(rest);
      validateChunkOptions("map", options);
      const rt = runtime();
      return new MapResult(() => runChunks({ call: "map", runtime: rt, op: CallOp.Chunk, fn, iterables, options, ordered: true }));
    },

    async *mapAsCompleted(fn, ...rest) {
      checkFunction("mapAsCompleted", fn);
      const { iterables, options } = splitOptions<MapOptions>(rest);
      validateChunkOptions("mapAsCompleted", options);
      const rt = runtime();
      for await (const chunk of runChunks({ call: "mapAsCompleted", runtime: rt, op: CallOp.Chunk, fn, iterables, options, ordered: false })) {
        for (const v of chunk.values as unknown[]) yield v as never;
      }
    },

    async mapReduce(mapFn, reduceFn, ...rest) {
      checkFunction("mapReduce", mapFn);
      checkFunction("mapReduce", reduceFn, "its second argument");
      const { iterables, options } = splitOptions<MapReduceOptions<unknown>>(rest);
      validateChunkOptions("mapReduce", options);
      const rt = runtime();
      const hasInitial = "initial" in options;
      // One partial value per chunk, folded where the chunk ran; kept in input order for
      // associative but non-commutative reducers.
      let partials: unknown[] = [];
      for await (const chunk of runChunks({
        call: "mapReduce",
        runtime: rt,
        op: CallOp.MapReduceChunk,
        fn: mapFn,
        reducer: reduceFn,
        iterables,
        options,
        ordered: true,
      })) {
        partials.push(chunk.values);
      }
      if (hasInitial) partials.unshift(options.initial);
      if (partials.length === 0) {
        throw new ArgumentError("mapReduce() of an empty input needs an initial value: mapReduce(f, g, xs, { initial })");
      }
      // Tree reduction over adjacent pairs, each level's pairs in parallel on the workers.
      while (partials.length > 1) {
        const next: Array<unknown | Future<unknown>> = [];
        for (let i = 0; i + 1 < partials.length; i += 2) next.push(rt.submit(CallOp.Call, reduceFn, [partials[i], partials[i + 1]]));
        if (partials.length % 2 === 1) next.push(partials[partials.length - 1]);
        partials = await Promise.all(next.map((x) => (x instanceof Future ? x.result({ timeout: options.timeout }) : x)));
      }
      return partials[0] as never;
    },

    async mapScan(mapFn, reduceFn, ...rest) {
      checkFunction("mapScan", mapFn);
      checkFunction("mapScan", reduceFn, "its second argument");
      const { iterables, options } = splitOptions<ChunkOptions>(rest);
      validateChunkOptions("mapScan", options);
      const rt = runtime();
      // Blocked scan: each chunk scans itself where it runs; then every block after the first is
      // offset by the running total of the blocks before it.
      const blocks: unknown[][] = [];
      for await (const chunk of runChunks({
        call: "mapScan",
        runtime: rt,
        op: CallOp.ScanChunk,
        fn: mapFn,
        reducer: reduceFn,
        iterables,
        options,
        ordered: true,
      })) {
        blocks.push(chunk.values as unknown[]);
      }
      if (blocks.length <= 1) return (blocks[0] ?? []) as never;
      const offsets: unknown[] = [blocks[0]![blocks[0]!.length - 1]];
      for (let k = 1; k < blocks.length - 1; k++) {
        const last = blocks[k]![blocks[k]!.length - 1];
        offsets.push(await rt.submit(CallOp.Call, reduceFn, [offsets[k - 1], last]).result({ timeout: options.timeout }));
      }
      const adjusted = await Promise.all(
        blocks.slice(1).map((block, k) =>
          rt.submit<unknown[]>(CallOp.Chunk, reduceFn, block.map((x) => [offsets[k], x]), undefined, false).result({ timeout: options.timeout }),
        ),
      );
      return [...blocks[0]!, ...adjusted.flat()] as never;
    },

    asCompleted(fs, options = {}) {
      const list = checkFutures("asCompleted", fs);
      checkTimeout(options.timeout, "asCompleted()");
      return asCompletedIterable(list, options.timeout) as never;
    },

    async wait(fs, options = {}) {
      const list = checkFutures("wait", fs);
      checkTimeout(options.timeout, "wait()");
      const returnWhen = options.returnWhen ?? ALL_COMPLETED;
      if (![FIRST_COMPLETED, FIRST_EXCEPTION, ALL_COMPLETED].includes(returnWhen)) {
        throw new ArgumentError(`wait(): returnWhen must be FIRST_COMPLETED, FIRST_EXCEPTION or ALL_COMPLETED, got ${String(returnWhen)}`);
      }
      const sets = () => {
        const done = new Set(list.filter((f) => f.done()));
        return { done, notDone: new Set(list.filter((f) => !done.has(f))) } as never;
      };
      const satisfied = () => {
        if (list.every((f) => f.done())) return true;
        if (returnWhen === FIRST_COMPLETED) return list.some((f) => f.done());
        if (returnWhen === FIRST_EXCEPTION) return list.some((f) => f.done() && f.hasError && !f.cancelled());
        return false;
      };
      if (satisfied()) return sets();
      const reached = new Promise<void>((resolve) => {
        for (const f of list) f.addDoneCallback(() => satisfied() && resolve());
      });
      try {
        await withTimeout(reached, options.timeout, () => `wait() timed out after ${options.timeout} ms`);
      } catch (err) {
        if (err instanceof TimeoutError) Object.assign(err, sets());
        throw err;
      }
      return sets();
    },

    async shutdown(options = {}) {
      const wait = options.wait ?? true;
      if (wait) await Promise.allSettled([...submitted].map((f) => f.result()));
      await runtime().shutdown(wait);
    },
  };
  return api;
}

/**
 * Futures in completion order. Hand-written: an async generator would `await` each yielded Future
 * (it is a thenable) and hand out its value instead of the future.
 */
function asCompletedIterable<T>(list: Future<T>[], timeout: number | undefined): AsyncIterable<Future<T>> {
  return {
    [Symbol.asyncIterator](): AsyncIterator<Future<T>> {
      const ready: Future<T>[] = [];
      const waiting: Array<(f: Future<T>) => void> = [];
      const deadline = timeout === undefined || timeout === Infinity ? undefined : Date.now() + timeout;
      let handed = 0;
      for (const f of list) {
        f.addDoneCallback(() => {
          const w = waiting.shift();
          if (w) w(f);
          else ready.push(f);
        });
      }
      return {
        next(): Promise<IteratorResult<Future<T>>> {
          if (handed >= list.length) return Promise.resolve({ done: true, value: undefined });
          handed++;
          const f = ready.shift();
          if (f) return Promise.resolve({ done: false, value: f });
          const p = new Promise<Future<T>>((resolve) => waiting.push(resolve));
          const timed =
            deadline === undefined
              ? p
              : withTimeout(p, Math.max(0, deadline - Date.now()), () => `asCompleted() timed out after ${timeout} ms with ${list.length - handed + 1} future(s) pending`);
          return timed.then((value) => ({ done: false, value }));
        },
        return(): Promise<IteratorResult<Future<T>>> {
          handed = list.length;
          return Promise.resolve({ done: true, value: undefined });
        },
      };
    },
  };
}
