/**
 * Future<R>: the handle of one submitted task. It is also a PromiseLike, so `await future` works; the
 * explicit methods (`result`, `exception`, `cancel`, …) follow SCOOP / concurrent.futures, with real
 * timeouts and a cancel that really completes the future.
 */
import { CancelledError, TimeoutError } from "../errors.js";
import type { FuturesApi } from "./api.js";

type State = "pending" | "running" | "done" | "cancelled";

export interface WaitOptions {
  /** Milliseconds to wait before rejecting with TimeoutError. Undefined or Infinity waits forever. */
  timeout?: number;
}

/** Reports errors thrown by done callbacks; set by the runtime so they reach its logger. */
let reportCallbackError: (err: unknown) => void = (err) => {
  console.error("scoop: error in a future's done callback:", err);
};
export function setCallbackErrorReporter(fn: (err: unknown) => void): void {
  reportCallbackError = fn;
}

export function checkTimeout(timeout: number | undefined, call: string): void {
  if (timeout === undefined || timeout === Infinity) return;
  if (typeof timeout !== "number" || Number.isNaN(timeout) || timeout < 0) {
    throw new TypeError(`${call}: timeout must be a non-negative number of milliseconds, got ${String(timeout)}`);
  }
}

/** Runs `body` against a deadline: rejects with TimeoutError(what) when it passes first. */
export function withTimeout<T>(p: Promise<T>, timeout: number | undefined, what: () => string): Promise<T> {
  if (timeout === undefined || timeout === Infinity) return p;
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new TimeoutError(what())), timeout);
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}

const BRAND = Symbol.for("scoop.future");

/** True for a Future of any copy of this package (instanceof would miss a second copy). */
export function isFuture(v: unknown): v is Future<unknown> {
  return typeof v === "object" && v !== null && (v as { [BRAND]?: boolean })[BRAND] === true;
}

/**
 * The handle of one submitted task, returned by `futures.submit`. It is a `PromiseLike<R>`, so
 * `await future` gives the value (or throws the task's error); the methods follow SCOOP and Python's
 * `concurrent.futures`, with real timeouts and a `cancel()` that completes the future.
 *
 * ```ts
 * const f = futures.submit(square, 4);
 * f.addDoneCallback((done) => console.log("finished", done.cancelled()));
 * console.log(await f.result({ timeout: 5000 })); // 16
 * ```
 */
export class Future<R = unknown> implements PromiseLike<R> {
  readonly [BRAND] = true;
  private state: State = "pending";
  private value: R | undefined;
  private error: unknown;
  private failed = false;
  private callbacks: Array<(f: Future<R>) => void> | undefined;
  private settled: Promise<void> | undefined;
  private wake: (() => void) | undefined;

  /**
   * @param id task id, unique within the pool
   * @param label function name, for messages
   * @param onCancel asked to withdraw the task; the future is cancelled whatever it answers
   */
  constructor(
    readonly id: number,
    readonly label: string,
    private readonly onCancel?: (f: Future<R>) => void,
  ) {}

  /** True once the future has a result, an error, or was cancelled. */
  done(): boolean {
    return this.state === "done" || this.state === "cancelled";
  }

  /**
   * True while the task is known to be executing. In a pool the submitter is not told when a remote
   * task starts, so there it stays false until the future is done (the serial runtime reports it).
   */
  running(): boolean {
    return this.state === "running";
  }

  /** True when the future was cancelled. */
  cancelled(): boolean {
    return this.state === "cancelled";
  }

  /**
   * Cancels the task unless it already finished. The future becomes done at once and every waiter
   * (result, exception, await, wait, asCompleted) gets CancelledError. The task is withdrawn from the
   * broker's queue and from the worker holding it, so a task that has not started never runs; one
   * that already started on a remote worker finishes there and its result is discarded.
   * @returns true when the future is (now) cancelled; false when it was already done, or is known
   * to be running.
   */
  cancel(): boolean {
    if (this.done()) return this.state === "cancelled";
    if (this.state === "running") return false;
    this.onCancel?.(this);
    this.finish("cancelled", undefined, new CancelledError(`task ${this.label} #${this.id} was cancelled`), true);
    return true;
  }

  /** Resolves to the task's value, rejects with its error, or TimeoutError after `timeout` ms. */
  result(options: WaitOptions = {}): Promise<R> {
    checkTimeout(options.timeout, "result()");
    return withTimeout(this.settledPromise(), options.timeout, () => this.timeoutMessage("result()", options.timeout)).then(
      () => {
        if (this.failed) throw this.error;
        return this.value as R;
      },
    );
  }

  /**
   * Resolves to the task's error, or `undefined` when it succeeded; rejects with CancelledError for a
   * cancelled future, and with TimeoutError after `timeout` ms.
   */
  exception(options: WaitOptions = {}): Promise<unknown> {
    checkTimeout(options.timeout, "exception()");
    return withTimeout(this.settledPromise(), options.timeout, () => this.timeoutMessage("exception()", options.timeout)).then(
      () => {
        if (this.state === "cancelled") throw this.error;
        return this.failed ? this.error : undefined;
      },
    );
  }

  /** Calls `cb(future)` once the future is done (at once if it already is). Errors thrown by cb are reported, not swallowed. */
  addDoneCallback(cb: (f: Future<R>) => void): void {
    if (typeof cb !== "function") throw new TypeError("addDoneCallback() takes a function");
    if (this.done()) {
      this.runCallback(cb);
      return;
    }
    (this.callbacks ??= []).push(cb);
  }

  /**
   * Makes the future awaitable: `await f` is `await f.result()` (no timeout). A cancelled future
   * rejects with CancelledError.
   */
  then<A = R, B = never>(
    onFulfilled?: ((value: R) => A | PromiseLike<A>) | null,
    onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    return this.result().then(onFulfilled, onRejected);
  }

  /** @internal The value when done and successful (no waiting); used by iterators that already know it is done. */
  get settledValue(): R | undefined {
    return this.value;
  }

  /** @internal the runtime saw the task start */
  markRunning(): void {
    if (this.state === "pending") this.state = "running";
  }

  /** @internal */
  resolve(value: R): void {
    if (!this.done()) this.finish("done", value, undefined, false);
  }

  /** @internal */
  reject(error: unknown): void {
    if (!this.done()) this.finish("done", undefined, error, true);
  }

  /** True when the future is done with an error: the task failed, or the future was cancelled. */
  get hasError(): boolean {
    return this.failed;
  }

  private finish(state: State, value: R | undefined, error: unknown, failed: boolean): void {
    this.state = state;
    this.value = value;
    this.error = error;
    this.failed = failed;
    this.wake?.();
    const cbs = this.callbacks;
    this.callbacks = undefined;
    if (cbs) for (const cb of cbs) this.runCallback(cb);
  }

  private runCallback(cb: (f: Future<R>) => void): void {
    try {
      cb(this);
    } catch (err) {
      reportCallbackError(err);
    }
  }

  /** A promise settled (never rejected) when the future is done; created only when someone waits. */
  private settledPromise(): Promise<void> {
    if (this.done()) return Promise.resolve();
    return (this.settled ??= new Promise<void>((r) => (this.wake = r)));
  }

  private timeoutMessage(call: string, timeout: number | undefined): string {
    return `${call} timed out after ${timeout} ms waiting for task ${this.label} #${this.id}`;
  }
}

/**
 * A {@link Future} as {@link FuturesApi.asCompleted} hands it out: the very same object, done, with
 * `then` hidden from the type checker. TypeScript types a `for await` variable as the *awaited* type
 * of what the iterator yields, so a plain `Future<R>` would be typed as its value `R` there although
 * the loop receives the future. Read it with `await f.result()` (or `f.exception()`, `f.cancelled()`).
 */
export type CompletedFuture<R> = Future<R> & { then: never };
