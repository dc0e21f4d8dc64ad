/**
 * The `futures` API: submit, map, mapAsCompleted, mapReduce, mapScan, asCompleted, wait, shutdown.
 * Every function works against a Runtime, so the same calls serve a worker process, an embedded
 * pool and the serial fallback.
 */
import { ArgumentError, WaitTimeoutError } from "../errors.js";
import { CallOp } from "../protocol/envelope.js";
import { ChunkEngine, Deadline, validateChunkOptions, type ChunkJob, type ChunkOptions } from "./chunks.js";
import { checkTimeout, Future, isFuture, withTimeout, type CompletedFuture } from "./future.js";
import { isIterable, type AnyIterable } from "./iterate.js";
import type { Runtime } from "./runtime.js";

export type { ChunkOptions } from "./chunks.js";
export type { AnyIterable } from "./iterate.js";

/** Options of {@link FuturesApi.map} and {@link FuturesApi.mapAsCompleted}. */
export interface MapOptions extends ChunkOptions {}

/** Options of {@link FuturesApi.mapReduce}. */
export interface MapReduceOptions<R> extends ChunkOptions {
  /** Leftmost value of the reduction; also the result for an empty input. */
  initial?: R;
}

/** Options of {@link FuturesApi.mapScan}. */
export interface MapScanOptions extends ChunkOptions {}

/** Options of {@link FuturesApi.asCompleted}. */
export interface AsCompletedOptions {
  /** Milliseconds for the whole iteration; then the pending `next()` rejects with TimeoutError. */
  timeout?: number;
}

/** Options of {@link FuturesApi.wait}. */
export interface WaitCallOptions {
  /** Milliseconds to wait; then `wait` rejects with {@link WaitTimeoutError} (which carries `done`/`notDone`). */
  timeout?: number;
  /** When to return: `"ALL_COMPLETED"` (default), `"FIRST_COMPLETED"` or `"FIRST_EXCEPTION"`. */
  returnWhen?: ReturnWhen;
}

/** Options of {@link FuturesApi.shutdown}. */
export interface ShutdownOptions {
  /** Wait for the futures submitted from this process to finish first. Default true. */
  wait?: boolean;
}

/** The result type of a function, promises unwrapped. */
export type Result<F> = F extends (...args: any[]) => infer R ? Awaited<R> : never;
/** One iterable per parameter of `fn`, element types checked against the parameters. */
export type IterablesOf<A extends unknown[]> = { [K in keyof A]: AnyIterable<A[K]> };

/** `wait()` returns as soon as any future is done. */
export const FIRST_COMPLETED = "FIRST_COMPLETED" as const;
/** `wait()` returns as soon as any future fails (or when all are done). */
export const FIRST_EXCEPTION = "FIRST_EXCEPTION" as const;
/** `wait()` returns when every future is done (the default). */
export const ALL_COMPLETED = "ALL_COMPLETED" as const;
export type ReturnWhen = typeof FIRST_COMPLETED | typeof FIRST_EXCEPTION | typeof ALL_COMPLETED;

/** What {@link FuturesApi.wait} resolves to: the futures done, and the others. */
export interface WaitResult<T> {
  done: Set<Future<T>>;
  notDone: Set<Future<T>>;
}

/**
 * Results of {@link FuturesApi.map}: iterate it (`for await`) to stream values in input order, or
 * await it for the whole array. The first task error rejects either way. The tasks start when `map`
 * is called; only a bounded window of them is in flight ahead of the consumer. A result can be
 * consumed once (iterated or awaited; awaiting it twice gives the same array).
 */
export class MapResult<R> implements AsyncIterable<R>, PromiseLike<R[]> {
  private all: Promise<R[]> | undefined;

  /** @internal */
  constructor(private readonly engine: ChunkEngine) {}

  async *[Symbol.asyncIterator](): AsyncGenerator<R, void, undefined> {
    for await (const chunk of this.engine.results()) {
      for (const v of chunk.values as R[]) yield v;
    }
  }

  then<A = R[], B = never>(
    onFulfilled?: ((value: R[]) => A | PromiseLike<A>) | null,
    onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    this.all ??= (async () => {
      // Chunks kept as they come and copied once into an array of the final size: pushing item by
      // item costs 4x more on large maps.
      const parts: R[][] = [];
      let total = 0;
      for await (const chunk of this.engine.results()) {
        parts.push(chunk.values as R[]);
        total += (chunk.values as R[]).length;
      }
      if (parts.length === 1) return parts[0]!;
      const out = new Array<R>(total);
      let k = 0;
      for (const part of parts) for (let i = 0; i < part.length; i++) out[k++] = part[i]!;
      return out;
    })();
    return this.all.then(onFulfilled, onRejected);
  }

  /** Like `Promise.prototype.finally`. */
  finally(onFinally?: (() => void) | null): Promise<R[]> {
    return this.then().finally(onFinally);
  }

  /** Like `Promise.prototype.catch`. */
  catch<B = never>(onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null): Promise<R[] | B> {
    return this.then(undefined, onRejected);
  }

  /**
   * Stops the map: the tasks not started are withdrawn, the inputs are closed, and a consumer still
   * waiting (iterating or awaiting) gets CancelledError.
   */
  cancel(): void {
    this.engine.cancel();
  }
}

function isOptions(v: unknown): boolean {
  if (v === null || typeof v !== "object" || isIterable(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
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

/** The distinct futures of `fs`, in order; anything else is an ArgumentError. */
function checkFutures(call: string, fs: unknown): Future<unknown>[] {
  if (!isIterable(fs) || typeof (fs as AsyncIterable<unknown>)[Symbol.asyncIterator] === "function") {
    throw new ArgumentError(`${call}() takes an iterable of futures (an array, a Set, …)`);
  }
  const list = [...(fs as Iterable<unknown>)];
  list.forEach((f, i) => {
    if (!isFuture(f)) throw new ArgumentError(`${call}(): item ${i} is not a Future`);
  });
  return [...new Set(list as Future<unknown>[])];
}

/** Identity, sent by source: the "map" of the scan of block totals in mapScan. */
const identity = (x: unknown) => x;

/**
 * The functions of `futures`. Every function given to them runs on a worker, so it must be able to
 * travel: an exported function of a module of the program, a global such as `Math.cos`, or an inline
 * arrow that captures nothing (SPEC §4). Anything else is refused with a `SerializationError`.
 */
export interface FuturesApi {
  /**
   * Runs `fn(...args)` on a worker. Non-blocking: returns the task's {@link Future} at once. Callable
   * from `main` and from inside tasks (a task awaiting its children frees its worker meanwhile).
   * Throws `SerializationError` synchronously when `fn` or an argument cannot travel.
   *
   * ```ts
   * const f = futures.submit(square, 7);
   * console.log(await f); // 49
   * ```
   */
  submit<A extends unknown[], R>(fn: (...args: A) => R, ...args: A): Future<Awaited<R>>;

  /**
   * Calls `fn` on every element of the iterables, zipped as Python's `zip` does (it stops at the
   * shortest), in parallel on the workers. Inputs may be sync or async iterables, read lazily:
   * unbounded inputs are fine and memory stays bounded (a window of chunks is in flight ahead of the
   * consumer). The tasks start at the call; a function, or a first argument, that cannot travel
   * throws `SerializationError` synchronously. A trailing plain object is the options
   * (`{ chunkSize, timeout, progress }`); an unknown option key is an `ArgumentError`.
   *
   * The result is both an async iterable of the values in input order and a promise of the array.
   * The first task error rejects it.
   *
   * ```ts
   * const squares = await futures.map(square, [1, 2, 3]);        // [1, 4, 9]
   * for await (const s of futures.map(add, xs, ys)) use(s);      // streamed, in order
   * ```
   */
  map<A extends unknown[], R>(fn: (...args: A) => R, ...iterables: [...IterablesOf<A>] | [...IterablesOf<A>, MapOptions]): MapResult<Awaited<R>>;

  /**
   * Like {@link FuturesApi.map}, but yields each value as soon as it is ready (completion order).
   *
   * ```ts
   * for await (const r of futures.mapAsCompleted(slowSquare, [3, 1, 2])) console.log(r);
   * ```
   */
  mapAsCompleted<A extends unknown[], R>(
    fn: (...args: A) => R,
    ...iterables: [...IterablesOf<A>] | [...IterablesOf<A>, MapOptions]
  ): AsyncIterable<Awaited<R>>;

  /**
   * Maps `mapFn` over the zipped iterables and reduces the values with `reduceFn` as a tree: each
   * chunk is folded on the worker that mapped it, and the chunks' partial values are combined
   * pairwise by reduce tasks on the workers while the map still runs. `reduceFn` must be
   * associative; the order of the input is kept (it need not be commutative). One item gives its
   * mapped value; with `{ initial }` the reduction starts from it (and an empty input gives it); an
   * empty input without `initial` rejects with `ArgumentError`.
   *
   * ```ts
   * await futures.mapReduce(square, add, [10, 20, 30]);            // 1400
   * await futures.mapReduce(square, add, [], { initial: 0 });      // 0
   * ```
   */
  mapReduce<A extends unknown[], R>(
    mapFn: (...args: A) => R | PromiseLike<R>,
    reduceFn: (a: R, b: R) => R | PromiseLike<R>,
    ...iterables: [...IterablesOf<A>] | [...IterablesOf<A>, MapReduceOptions<R>]
  ): Promise<R>;

  /**
   * The inclusive prefix scan of the mapped values: `[m0, r(m0, m1), r(r(m0, m1), m2), …]`, computed
   * in blocks on the workers. `reduceFn` must be associative. An empty input gives `[]`.
   *
   * ```ts
   * await futures.mapScan(square, add, [10, 20, 30]);              // [100, 500, 1400]
   * ```
   */
  mapScan<A extends unknown[], R>(
    mapFn: (...args: A) => R | PromiseLike<R>,
    reduceFn: (a: R, b: R) => R | PromiseLike<R>,
    ...iterables: [...IterablesOf<A>] | [...IterablesOf<A>, MapScanOptions]
  ): Promise<R[]>;

  /**
   * The futures of `fs` (duplicates once), in the order they complete. It hands out the futures
   * themselves, typed {@link CompletedFuture} so that TypeScript does not mistake them for their
   * values in a `for await`: read each with `await f.result()`. With `{ timeout }`, a `next()` still
   * waiting when the time of the whole iteration is up rejects with `TimeoutError`.
   *
   * ```ts
   * const fs = [1, 2, 3].map((x) => futures.submit(square, x));
   * for await (const f of futures.asCompleted(fs, { timeout: 5000 })) total += await f.result();
   * ```
   */
  asCompleted<T>(fs: Iterable<Future<T>>, options?: AsCompletedOptions): AsyncIterable<CompletedFuture<T>>;

  /**
   * Waits for the futures of `fs` until `returnWhen` holds: `ALL_COMPLETED` (default),
   * `FIRST_COMPLETED` (any done) or `FIRST_EXCEPTION` (any failed — cancelled ones do not count —
   * or all done). Resolves to `{ done, notDone }`; never rejects because a future failed. With
   * `{ timeout }` it rejects with `WaitTimeoutError` (a `TimeoutError` carrying `done` and `notDone`).
   *
   * ```ts
   * const { done, notDone } = await futures.wait(fs, { returnWhen: futures.FIRST_EXCEPTION });
   * ```
   */
  wait<T>(fs: Iterable<Future<T>>, options?: WaitCallOptions): Promise<WaitResult<T>>;

  /**
   * Ends the pool (origin or embedding program): by default first waits for the futures submitted
   * from this process with `submit`, then every worker exits. Later submissions throw
   * `PoolClosedError`. A script launched with `scoop` need not call it: the pool ends with `main`.
   *
   * ```ts
   * await futures.shutdown();
   * ```
   */
  shutdown(options?: ShutdownOptions): Promise<void>;

  /** `"FIRST_COMPLETED"`, for {@link FuturesApi.wait}. */
  readonly FIRST_COMPLETED: typeof FIRST_COMPLETED;
  /** `"FIRST_EXCEPTION"`, for {@link FuturesApi.wait}. */
  readonly FIRST_EXCEPTION: typeof FIRST_EXCEPTION;
  /** `"ALL_COMPLETED"`, for {@link FuturesApi.wait}. */
  readonly ALL_COMPLETED: typeof ALL_COMPLETED;
}

/**
 * A streaming tree reduction: partial values pushed in input order are combined pairwise as soon as
 * two of equal depth are adjacent (a binary counter), each combination a task on the workers, so the
 * reduction overlaps the map and only O(log n) partials are held.
 */
class ReductionTree {
  private readonly stack: Array<{ level: number; value: Promise<unknown> }> = [];
  private readonly running = new Set<Future<unknown>>();
  private failure: { error: unknown } | undefined;
  count = 0;

  constructor(
    private readonly rt: Runtime,
    private readonly reduceFn: Function,
    private readonly deadline: Deadline,
  ) {}

  push(value: unknown): void {
    this.count++;
    let node = { level: 0, value: Promise.resolve(value) };
    while (this.stack.length > 0 && this.stack[this.stack.length - 1]!.level === node.level) {
      const left = this.stack.pop()!;
      node = { level: node.level + 1, value: this.combine(left.value, node.value) };
    }
    this.stack.push(node);
  }

  /** Throws the first failure of a reduce task, if any. */
  check(): void {
    if (this.failure) throw this.failure.error;
  }

  private combine(a: Promise<unknown>, b: Promise<unknown>): Promise<unknown> {
    const p = Promise.all([a, b]).then(([x, y]) => {
      if (this.failure) throw this.failure.error;
      const f = this.rt.submit<unknown>(CallOp.Call, this.reduceFn, [x, y]);
      this.running.add(f);
      f.addDoneCallback(() => this.running.delete(f));
      return f.result({ timeout: this.deadline.remaining() });
    });
    p.then(undefined, (error) => {
      this.failure ??= { error };
    });
    return p;
  }

  /** Combines what is left, in order. */
  async finish(): Promise<unknown> {
    let values = this.stack.map((n) => n.value);
    while (values.length > 1) {
      const next: Promise<unknown>[] = [];
      for (let i = 0; i + 1 < values.length; i += 2) next.push(this.combine(values[i]!, values[i + 1]!));
      if (values.length % 2 === 1) next.push(values[values.length - 1]!);
      values = next;
    }
    return values[0];
  }

  /** Withdraws the reduce tasks still queued. */
  abort(): void {
    for (const f of this.running) f.cancel();
  }
}

/** Builds the futures API over a runtime getter (the module-level one, or a Pool's own). */
export function createFuturesApi(runtime: () => Runtime): FuturesApi {
  const submitted = new Set<Future<unknown>>();

  const engine = (job: Omit<ChunkJob, "runtime">): ChunkEngine => new ChunkEngine({ ...job, runtime: runtime() });

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
      const e = engine({ call: "map", op: CallOp.Chunk, fn, iterables, options, ordered: true });
      e.start();
      return new MapResult(e);
    },

    mapAsCompleted(fn, ...rest) {
      checkFunction("mapAsCompleted", fn);
      const { iterables, options } = splitOptions<MapOptions>(rest);
      validateChunkOptions("mapAsCompleted", options);
      const e = engine({ call: "mapAsCompleted", op: CallOp.Chunk, fn, iterables, options, ordered: false });
      e.start();
      return {
        async *[Symbol.asyncIterator]() {
          for await (const chunk of e.results()) {
            for (const v of chunk.values as unknown[]) yield v as never;
          }
        },
      };
    },

    async mapReduce(mapFn, reduceFn, ...rest) {
      checkFunction("mapReduce", mapFn);
      checkFunction("mapReduce", reduceFn, "its second argument");
      const { iterables, options } = splitOptions<MapReduceOptions<unknown>>(rest);
      validateChunkOptions("mapReduce", options, ["initial"]);
      const rt = runtime();
      const deadline = new Deadline(options.timeout);
      // One partial value per chunk, folded where the chunk ran, in input order (the reducer need
      // not be commutative); the partials are combined as a tree while the map runs.
      const tree = new ReductionTree(rt, reduceFn, deadline);
      if ("initial" in options) tree.push(options.initial);
      const e = new ChunkEngine({
        call: "mapReduce",
        runtime: rt,
        op: CallOp.MapReduceChunk,
        fn: mapFn,
        reducer: reduceFn,
        iterables,
        options: { chunkSize: options.chunkSize, timeout: options.timeout, progress: options.progress },
        ordered: true,
      });
      try {
        e.start();
        for await (const chunk of e.results()) {
          tree.check();
          tree.push(chunk.values);
        }
        if (tree.count === 0) {
          throw new ArgumentError("mapReduce() of an empty input needs an initial value: mapReduce(f, g, xs, { initial })");
        }
        return (await withTimeout(tree.finish(), deadline.remaining(), () => `mapReduce() timed out after ${options.timeout} ms`)) as never;
      } catch (err) {
        tree.abort();
        throw err;
      }
    },

    async mapScan(mapFn, reduceFn, ...rest) {
      checkFunction("mapScan", mapFn);
      checkFunction("mapScan", reduceFn, "its second argument");
      const { iterables, options } = splitOptions<MapScanOptions>(rest);
      validateChunkOptions("mapScan", options);
      const rt = runtime();
      const deadline = new Deadline(options.timeout);
      // Blocked scan: each chunk scans itself where it runs; the block totals are scanned in one
      // task; then every block after the first is offset by the total of the blocks before it.
      const blocks: unknown[][] = [];
      const e = new ChunkEngine({ call: "mapScan", runtime: rt, op: CallOp.ScanChunk, fn: mapFn, reducer: reduceFn, iterables, options, ordered: true });
      e.start();
      for await (const chunk of e.results()) blocks.push(chunk.values as unknown[]);
      if (blocks.length <= 1) return (blocks[0] ?? []) as never;
      const totals = blocks.slice(0, -1).map((b) => b[b.length - 1]);
      const offsets = await rt
        .submit<unknown[]>(CallOp.ScanChunk, identity, totals, reduceFn, true)
        .result({ timeout: deadline.remaining() });
      const adjusted = await Promise.all(
        blocks.slice(1).map((block, k) =>
          rt
            .submit<unknown[]>(CallOp.Chunk, reduceFn, block.map((x) => [offsets[k], x]), undefined, false)
            .result({ timeout: deadline.remaining() }),
        ),
      );
      const out = blocks[0]!;
      for (const b of adjusted) for (const v of b) out.push(v);
      return out as never;
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
        return { done, notDone: new Set(list.filter((f) => !done.has(f))) };
      };
      const satisfied = () => {
        if (list.every((f) => f.done())) return true;
        if (returnWhen === FIRST_COMPLETED) return list.some((f) => f.done());
        if (returnWhen === FIRST_EXCEPTION) return list.some((f) => f.done() && f.hasError && !f.cancelled());
        return false;
      };
      if (satisfied()) return sets() as never;
      const reached = new Promise<void>((resolve) => {
        for (const f of list) f.addDoneCallback(() => satisfied() && resolve());
      });
      try {
        await withTimeout(reached, options.timeout, () => `wait() timed out after ${options.timeout} ms`);
      } catch (err) {
        const { done, notDone } = sets();
        throw new WaitTimeoutError(`wait() timed out after ${options.timeout} ms: ${done.size} done, ${notDone.size} not done`, done, notDone);
      }
      return sets() as never;
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
 * (it is a thenable) and hand out its value instead of the future; for the same reason a future is
 * never passed to a promise's `resolve` here, only inside a box.
 */
function asCompletedIterable<T>(list: Future<T>[], timeout: number | undefined): AsyncIterable<Future<T>> {
  return {
    [Symbol.asyncIterator](): AsyncIterator<Future<T>> {
      type Box = { f: Future<T> };
      const ready: Future<T>[] = [];
      const waiting: Array<(b: Box) => void> = [];
      const deadline = new Deadline(timeout);
      let handed = 0;
      let stopped = false;
      for (const f of list) {
        f.addDoneCallback(() => {
          if (stopped) return;
          const w = waiting.shift();
          if (w) w({ f });
          else ready.push(f);
        });
      }
      return {
        next(): Promise<IteratorResult<Future<T>>> {
          if (stopped || handed >= list.length) return Promise.resolve({ done: true, value: undefined });
          handed++;
          const f = ready.shift();
          if (f) return Promise.resolve({ done: false, value: f });
          let waiter!: (b: Box) => void;
          const p = new Promise<Box>((resolve) => waiting.push((waiter = resolve)));
          const ms = deadline.remaining();
          const timed =
            ms === undefined
              ? p
              : withTimeout(p, ms, () => {
                  // This next() gives up: its slot must not swallow a future that completes later.
                  const i = waiting.indexOf(waiter);
                  if (i >= 0) waiting.splice(i, 1);
                  handed--;
                  return `asCompleted() timed out after ${timeout} ms with ${list.length - handed} future(s) pending`;
                });
          return timed.then((box) => ({ done: false, value: box.f }));
        },
        return(): Promise<IteratorResult<Future<T>>> {
          stopped = true;
          return Promise.resolve({ done: true, value: undefined });
        },
      };
    },
  };
}
