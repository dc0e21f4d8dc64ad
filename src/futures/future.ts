/**
 * Future<R>: the handle of one submitted task. It is also a PromiseLike, so `await future` works; the
 * explicit methods (`result`, `exception`, `cancel`, …) follow SCOOP / concurrent.futures, with real
 * timeouts and a cancel that really completes the future.
 */
import { CancelledError, TimeoutError } from "../errors.js";

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

  /** True while the task is known to be executing. */
  running(): boolean {
    return this.state === "running";
  }

  /** True when the future was cancelled. */
  cancelled(): boolean {
    return this.state === "cancelled";
  }

  /**
   * Cancels the task unless it already finished. A task that has not started never runs; a running
   * one's result is discarded. The future becomes done and its waiters get CancelledError.
   * @returns false when the future was already done, true otherwise.
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

  /** Resolves to the task's error (undefined when it succeeded); CancelledError rejects. */
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

  then<A = R, B = never>(
    onFulfilled?: ((value: R) => A | PromiseLike<A>) | null,
    onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    return this.result().then(onFulfilled, onRejected);
  }

  /** The value when done and successful (no waiting); used by iterators that already know it is done. */
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

  /** True when the task failed or was cancelled. */
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
