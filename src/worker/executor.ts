/**
 * Executes the tasks the broker hands this worker. Synchronous tasks run back to back in short time
 * slices; a task that returns a promise (an async task awaiting futures) is left pending and the
 * executor moves on, so a worker whose tasks wait on their children keeps serving others (SCOOP's
 * greenlets). It asks the broker for more work before it runs dry, sized from measured task times.
 */
import { SerializationError } from "../errors.js";
import type { Logger } from "../log.js";
import { decodeValue, encodeValue, type ClassRegistry } from "../protocol/codec.js";
import { describeRef, ResultStatus, type Envelope, type FunctionRef } from "../protocol/envelope.js";
import { Fifo } from "../util/fifo.js";
import { invoke, isThenable } from "./invoke.js";

export interface FunctionResolver extends ClassRegistry {
  resolveCached(ref: FunctionRef): Function | undefined;
  resolve(ref: FunctionRef): Promise<Function>;
}

export interface ExecutorHost {
  registry: FunctionResolver;
  workerName: string;
  logger: Logger;
  sendResult(id: number, frames: Buffer[]): void;
  /** Asks the broker for n more tasks; `idle`: nothing left to run here. */
  requestTasks(n: number, idle: boolean): void;
  /**
   * Gives tasks the broker handed over (not started) back to it, with the credit not used yet:
   * the broker then sends nothing more until the next request.
   */
  returnTasks(ids: number[]): void;
  /** Fixed number of tasks to keep at hand instead of the adaptive amount. */
  prefetch?: number;
}

export interface PendingTask {
  id: number;
  frames: Buffer[];
  /** The function, for a task this worker submitted itself (see takeLocalBacklog). */
  fn?: Function;
}

/** A slice of synchronous work before yielding to I/O, so results and requests leave promptly. */
const SLICE_MS = 4;
/** How much queued work (in ms of measured task time) a worker keeps at hand. */
const PREFETCH_MS = 4;
const MAX_PREFETCH = 2048;
/** Two at hand even for long tasks: the next one is already here when the current one ends. */
const MIN_PREFETCH = 2;
/** Task time assumed before any is measured: short, so a new worker asks for a useful batch. */
const INITIAL_TASK_MS = 0.05;
/** Runs of a function whose median is its typical time. */
const TYPICAL_SAMPLES = 9;
/** Waiting tasks beyond the prefetch target go back to the broker once they add up to this much work. */
const RETURN_MIN_MS = 2 * PREFETCH_MS;

export class TaskExecutor {
  /** Tasks handed over by the broker. */
  private readonly ready = new Fifo<PendingTask>();
  /** Tasks this worker submitted and keeps (no broker round trip); they run first. */
  private readonly local = new Fifo<PendingTask>();
  private readonly cancelled = new Set<number>();
  /** Ids waiting in either queue: only those can still be cancelled, so `cancelled` cannot grow forever. */
  private readonly queuedIds = new Set<number>();
  /** Tasks asked for and not received yet. */
  private outstanding = 0;
  /** Started tasks whose promise has not settled. */
  private suspended = 0;
  private avgTaskMs = INITIAL_TASK_MS;
  /** Functions whose tasks with binary arguments ran here: a first call (compilation, cold caches) is not timed. */
  private readonly warmFns = new WeakSet<Function>();
  /**
   * Recent run times of tasks with binary arguments, per function (first calls left out), newest
   * last: where such a task should run depends on how long one takes (see placement.ts).
   */
  private readonly dataTaskTimes = new WeakMap<Function, number[]>();
  private pumping = false;
  private reportedIdle = false;
  private stopped = true;
  completed = 0;
  /** Called with the task id when a task starts and when it ends (tracing hooks); a failed task's end also gets its error. */
  onTaskStart: ((id: number, fn: string) => void) | undefined;
  onTaskEnd: ((id: number, ok: boolean, error?: unknown) => void) | undefined;
  /**
   * Wraps the synchronous part of every task's call when set (tracing: which task submits what, and
   * when a task suspends on its futures). Returns what `call` returns.
   */
  runTask: (<T>(id: number, call: () => T) => T) | undefined;

  constructor(private readonly host: ExecutorHost) {}

  /** Starts asking the broker for work. */
  start(): void {
    this.stopped = false;
    this.topUp();
  }

  stop(): void {
    this.stopped = true;
  }

  get queued(): number {
    return this.ready.length + this.local.length;
  }

  /**
   * Measured synchronous time per task (moving average), in ms; first calls count, so it errs long,
   * which keeps prefetch modest.
   */
  get averageTaskMs(): number {
    return this.avgTaskMs;
  }

  /**
   * How long a task of `fn` with binary arguments typically runs here, in ms: the median of its
   * recent runs (a run the OS preempted reads ten times too long; a median shrugs it off), leaving
   * out its first call, which can take 10× more; the initial guess until one has been timed.
   */
  typicalDataTaskMs(fn: Function | undefined): number {
    const times = fn && this.dataTaskTimes.get(fn);
    if (!times || times.length === 0) return INITIAL_TASK_MS;
    return [...times].sort((a, b) => a - b)[times.length >> 1]!;
  }

  /** Local tasks (submitted here) not started yet. */
  get localQueued(): number {
    return this.local.length;
  }

  /** Runs a task submitted by this very worker, without a trip through the broker. */
  acceptLocal(id: number, frames: Buffer[], fn?: Function): void {
    this.queuedIds.add(id);
    this.local.push({ id, frames, fn });
    this.schedule();
  }

  /** Gives up the local tasks past the first `keep` (not started yet), e.g. to feed idle workers. */
  takeLocalBacklog(keep: number): PendingTask[] {
    return this.local.drainFrom(keep).filter((t) => {
      this.queuedIds.delete(t.id);
      return !this.cancelled.delete(t.id);
    });
  }

  /**
   * Gives back to the broker up to `n` tasks it handed over and that have not started, newest first
   * (the ones this worker would reach last), with the unused credit; then asks again if this leaves
   * less than the prefetch target at hand. Always answers, even with no id: the broker waits for it.
   */
  release(n: number): void {
    const out = this.ready.drainFrom(Math.max(0, this.ready.length - n));
    for (const t of out) {
      this.queuedIds.delete(t.id);
      this.cancelled.delete(t.id);
    }
    this.host.returnTasks(out.map((t) => t.id));
    this.outstanding = 0;
    this.reportedIdle = false;
    this.topUp();
  }

  get inFlight(): number {
    return this.suspended;
  }

  accept(ids: number[], counts: number[], payload: Buffer[]): void {
    this.outstanding = Math.max(0, this.outstanding - ids.length);
    this.reportedIdle = false;
    let at = 0;
    for (let i = 0; i < ids.length; i++) {
      const c = counts[i]!;
      this.queuedIds.add(ids[i]!);
      this.ready.push({ id: ids[i]!, frames: c === 1 ? [payload[at]!] : payload.slice(at, at + c), fn: undefined });
      at += c;
    }
    this.schedule();
  }

  /** A cancelled task that has not started is skipped; one that is running is left to finish. */
  cancel(ids: number[]): void {
    for (const id of ids) if (this.queuedIds.has(id)) this.cancelled.add(id);
  }

  private schedule(): void {
    if (!this.pumping) {
      this.pumping = true;
      setImmediate(() => this.pump());
    }
  }

  private pump(): void {
    const start = performance.now();
    // The average, and so the target, changes only at the end of a slice.
    const target = this.prefetchTarget();
    let ran = 0;
    while (!this.stopped) {
      const task = this.local.shift() ?? this.ready.shift();
      if (!task) break;
      this.queuedIds.delete(task.id);
      if (this.cancelled.size > 0 && this.cancelled.delete(task.id)) continue;
      this.run(task);
      ran++;
      // Low enough to ask for more: end the slice, so the request leaves while what is left runs.
      if (this.wanted(target) > 0) break;
      // The clock is read every 8 tasks, and after the first one: the average may still be the
      // initial guess (or measured on other tasks) while this one took 50 ms.
      if ((ran & 7) === 0 || ran === 1 || this.avgTaskMs > 0.5) {
        if (performance.now() - start > SLICE_MS) break;
      }
    }
    if (ran > 0) {
      const per = (performance.now() - start) / ran;
      this.avgTaskMs = this.avgTaskMs * 0.7 + per * 0.3;
    }
    this.pumping = false;
    // Credit asked for while tasks were short outlives them: a burst of long ones then lands here
    // by the dozen, committed to this worker while another may soon run dry. The excess goes back,
    // and the broker hands the rest of the burst out as workers free up.
    const excess = this.ready.length - this.prefetchTarget();
    if (excess > 0 && excess * this.avgTaskMs >= RETURN_MIN_MS && !this.stopped) this.release(excess);
    else this.topUp();
    if (this.queued > 0 && !this.stopped) this.schedule();
  }

  /** About PREFETCH_MS of work at the measured task time, and always at least one task in sight. */
  private prefetchTarget(): number {
    return this.host.prefetch ?? Math.max(MIN_PREFETCH, Math.min(MAX_PREFETCH, Math.round(PREFETCH_MS / Math.max(this.avgTaskMs, 0.001))));
  }

  /**
   * How many tasks to ask for now, 0 for none: in sizeable steps (half the target), not one task per
   * message, but never leaving the worker with nothing coming.
   */
  private wanted(target: number): number {
    const have = this.ready.length + this.outstanding;
    const want = target - have;
    return want > 0 && (have === 0 || want * 2 >= target) ? want : 0;
  }

  /** Keeps the prefetch target queued or requested. */
  private topUp(): void {
    if (this.stopped) return;
    const want = this.wanted(this.prefetchTarget());
    const idle = this.queued === 0;
    // Says so when it runs dry, so others send it their work.
    if (want > 0) {
      this.outstanding += want;
      this.reportedIdle = idle;
      this.host.requestTasks(want, idle);
    } else if (idle && !this.reportedIdle) {
      this.reportedIdle = true;
      this.host.requestTasks(0, true);
    }
  }

  private run(task: PendingTask): void {
    let envelope: Envelope;
    try {
      envelope = decodeValue(task.frames, this.host.registry) as Envelope;
    } catch (err) {
      this.fail(task.id, new SerializationError(`could not decode task #${task.id}: ${(err as Error).message}`));
      return;
    }
    const fn = this.host.registry.resolveCached(envelope[1]);
    const reduceRef = envelope[3] ?? undefined;
    const reduceFn = reduceRef && this.host.registry.resolveCached(reduceRef);
    const timed = task.frames.length > 1;
    if (fn && (!reduceRef || reduceFn)) {
      this.execute(task.id, envelope, fn, reduceFn || undefined, timed);
      return;
    }
    // First use of a module on this worker: import it, then run (asynchronously, like an async task).
    this.suspended++;
    Promise.all([this.host.registry.resolve(envelope[1]), reduceRef ? this.host.registry.resolve(reduceRef) : undefined]).then(
      ([f, r]) => {
        this.suspended--;
        this.execute(task.id, envelope, f, r, timed);
      },
      (err) => {
        this.suspended--;
        this.fail(task.id, err);
      },
    );
  }

  /** `timed`: a task with binary arguments, whose run time is noted for {@link typicalDataTaskMs}. */
  private execute(id: number, envelope: Envelope, fn: Function, reduceFn: Function | undefined, timed: boolean): void {
    if (!timed) return this.callAndSettle(id, envelope, fn, reduceFn);
    if (!this.warmFns.has(fn)) {
      this.warmFns.add(fn);
      return this.callAndSettle(id, envelope, fn, reduceFn);
    }
    const t0 = performance.now();
    this.callAndSettle(id, envelope, fn, reduceFn);
    let times = this.dataTaskTimes.get(fn);
    if (!times) this.dataTaskTimes.set(fn, (times = []));
    if (times.push(performance.now() - t0) > TYPICAL_SAMPLES) times.shift();
  }

  private callAndSettle(id: number, envelope: Envelope, fn: Function, reduceFn: Function | undefined): void {
    this.onTaskStart?.(id, describeRef(envelope[1]));
    let r: unknown;
    try {
      r = this.runTask === undefined ? this.call(envelope, fn, reduceFn) : this.runTask(id, () => this.call(envelope, fn, reduceFn));
    } catch (err) {
      this.fail(id, err);
      return;
    }
    if (isThenable(r)) {
      this.suspended++;
      Promise.resolve(r).then(
        (v) => {
          this.suspended--;
          this.succeed(id, v, envelope[1]);
        },
        (err) => {
          this.suspended--;
          this.fail(id, err);
        },
      );
    } else {
      this.succeed(id, r, envelope[1]);
    }
  }

  private call(envelope: Envelope, fn: Function, reduceFn: Function | undefined): unknown {
    return invoke(
      envelope[0],
      fn as (...a: unknown[]) => unknown,
      envelope[2],
      reduceFn as ((...a: unknown[]) => unknown) | undefined,
      envelope[4] === true,
    );
  }

  private succeed(id: number, value: unknown, ref: FunctionRef): void {
    let frames: Buffer[];
    try {
      frames = encodeValue([ResultStatus.Ok, value], this.host.registry);
    } catch (err) {
      this.fail(id, new SerializationError(`the result of ${describeRef(ref)} cannot travel: ${(err as Error).message}`));
      return;
    }
    this.completed++;
    this.onTaskEnd?.(id, true);
    this.host.sendResult(id, frames);
  }

  private fail(id: number, err: unknown): void {
    if (err instanceof Error) {
      try {
        Object.defineProperty(err, "workerName", { value: this.host.workerName, enumerable: true, configurable: true, writable: true });
      } catch {
        // frozen error objects keep their shape; the waiter still gets them
      }
    }
    let frames: Buffer[];
    try {
      frames = encodeValue([ResultStatus.Error, err], this.host.registry);
    } catch {
      const e = err instanceof Error ? err : undefined;
      frames = encodeValue([ResultStatus.Error, { name: e?.name ?? "Error", message: e?.message ?? String(err), stack: e?.stack, workerName: this.host.workerName }]);
    }
    this.completed++;
    this.onTaskEnd?.(id, false, err);
    this.host.sendResult(id, frames);
  }
}
