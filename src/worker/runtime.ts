/**
 * The runtime of a process connected to a broker: it submits tasks and settles their futures, runs
 * the tasks the broker hands it (through TaskExecutor), and holds the shared constants. Outgoing
 * messages of one event-loop turn are coalesced, so a burst of submits or results shares messages.
 */
import { BrokerLostError, ConstantError, PoolClosedError, TimeoutError, WorkerLostError } from "../errors.js";
import { Future, checkTimeout } from "../futures/future.js";
import type { Runtime } from "../futures/runtime.js";
import type { Logger } from "../log.js";
import { decodeValue, encodeValue } from "../protocol/codec.js";
import { CallOp, ResultStatus, type FunctionRef } from "../protocol/envelope.js";
import { makeTaskId, MessageType, submitterOf, type Header, type WelcomeInfo } from "../protocol/messages.js";
import type { BrokerConnection } from "./connection.js";
import { TaskExecutor, type FunctionResolver } from "./executor.js";
import { binaryBytes, splitBacklog, startsSoonerHere, TransferCost } from "./placement.js";

export interface FunctionRegistry extends FunctionResolver {
  refOf(fn: Function): FunctionRef;
}

export interface WorkerRuntimeOptions {
  connection: BrokerConnection;
  welcome: WelcomeInfo;
  constants: Map<string, Buffer>;
  registry: FunctionRegistry;
  workerName: string;
  isOrigin: boolean;
  /** false for a submit-only client. */
  executes: boolean;
  logger: Logger;
  prefetch?: number;
}

/** Tasks shorter than this (measured average) are kept on the submitting worker while nobody is idle. */
const LOCAL_TASK_MAX_MS = 1;

/** Submits of one turn sent as soon as this many are waiting. */
const STREAM_SUBMITS = 256;

/** Bytes per message, roughly: bigger batches are split so large arguments stream. */
const MAX_BATCH_BYTES = 1024 * 1024;

/** Items per message: keeps a huge burst from becoming one giant multipart message. */
const MAX_BATCH = 4096;

class Batch {
  ids: number[] = [];
  /** Ids withdrawn (cancelled) before the batch left: skipped when it is sent. */
  dropped: Set<number> | undefined;
  counts: number[] = [];
  frames: Buffer[] = [];
  bytes = 0;
  add(id: number, frames: Buffer[]): void {
    this.ids.push(id);
    this.counts.push(frames.length);
    if (frames.length === 1) {
      this.frames.push(frames[0]!);
      this.bytes += frames[0]!.length;
    } else {
      for (const f of frames) {
        this.frames.push(f);
        this.bytes += f.length;
      }
    }
  }
  get length(): number {
    return this.ids.length;
  }

  /** This batch without its dropped ids. */
  compact(): Batch {
    if (!this.dropped) return this;
    const out = new Batch();
    let at = 0;
    for (let i = 0; i < this.ids.length; i++) {
      const c = this.counts[i]!;
      if (!this.dropped.has(this.ids[i]!)) out.add(this.ids[i]!, this.frames.slice(at, at + c));
      at += c;
    }
    return out;
  }
}

export class WorkerRuntime implements Runtime {
  readonly isOrigin: boolean;
  readonly workerName: string;
  readonly brokerName: string;
  readonly logger: Logger;
  readonly executor: TaskExecutor;
  /** The broker has an observer (dashboard, metrics) and wants TELEMETRY from this worker. */
  readonly observe: boolean;
  private readonly conn: BrokerConnection;
  private readonly registry: FunctionRegistry;
  private readonly index: number;
  private seq = 0;
  private readonly pending = new Map<number, Future<unknown>>();
  private submits = new Batch();
  private results = new Batch();
  private credit = 0;
  private requestQueued = false;
  private requestIdle = false;
  /** Whether the broker says some worker is idle; until it says otherwise, assume so. */
  private othersIdle = true;
  /** Tasks this worker submitted and runs itself; their results never leave the process. */
  private readonly localIds = new Set<number>();
  /** Tasks with binary data sent to other workers and not answered yet: their bytes and when they left. */
  private readonly shipped = new Map<number, { bytes: number; at: number; fn: Function | undefined }>();
  private shippedTotal = 0;
  private readonly transfer = new TransferCost();
  /** Ids in the submit batch that has not left yet: a cancel then just drops them. */
  private readonly unsent = new Set<number>();
  private readonly executes: boolean;
  private cancels: number[] = [];
  private flushQueued = false;
  private poolSize: number;
  private poolHosts: string[];
  private readonly constFrames = new Map<string, Buffer>();
  private readonly constValues = new Map<string, unknown>();
  private readonly constWaiters = new Map<string, Array<(v: unknown) => void>>();
  private readonly constAcks = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  private constRequestSeq = 0;
  private running = true;
  private shutdownListeners: Array<(code: number) => void> = [];
  private brokerShutdownCode: number | undefined;

  constructor(o: WorkerRuntimeOptions) {
    this.conn = o.connection;
    this.registry = o.registry;
    this.workerName = o.workerName;
    this.isOrigin = o.isOrigin;
    this.brokerName = o.welcome.brokerName;
    this.index = o.welcome.index;
    this.poolSize = o.welcome.size;
    this.poolHosts = o.welcome.hosts;
    this.logger = o.logger;
    this.executes = o.executes;
    this.observe = o.welcome.observe === true;
    for (const [k, v] of o.constants) this.constFrames.set(k, v);
    this.executor = new TaskExecutor({
      registry: o.registry,
      workerName: o.workerName,
      logger: o.logger,
      prefetch: o.prefetch,
      sendResult: (id, frames) => {
        if (this.localIds.delete(id)) return this.settle(id, frames);
        // Its own task, shared through the broker and handed back: settled here at once; the
        // broker only needs to hear that it is done, not to carry the value back. Its data never
        // left, so its round trip says nothing of what shipping costs.
        const own = submitterOf(id) === this.index;
        if (own) {
          this.unship(id);
          this.settle(id, frames);
        }
        this.results.add(id, own ? [] : frames);
        this.queueFlush();
      },
      requestTasks: (n, idle) => {
        this.credit += n;
        this.requestIdle = idle;
        this.requestQueued = true;
        this.queueFlush();
      },
      returnTasks: (ids) => {
        // The broker drops this worker's credit on RETURNED: a request still waiting here is void too.
        this.credit = 0;
        this.requestQueued = false;
        this.conn.send([MessageType.Returned, ids]);
      },
    });
    this.conn.onMessage((h, p) => this.onMessage(h, p));
  }

  get size(): number {
    return this.poolSize;
  }

  /** Tasks submitted from this process so far (telemetry). */
  get submittedCount(): number {
    return this.seq;
  }

  /** Sends one TELEMETRY frame to the broker's observer (only when {@link observe} is set). */
  sendTelemetry(frame: Buffer): void {
    if (this.observe) this.conn.send([MessageType.Telemetry], [frame]);
  }

  get isRunning(): boolean {
    return this.running;
  }

  hosts(): string[] {
    return [...this.poolHosts];
  }

  /** Calls `listener(exitCode)` when the broker announces the end of the pool. */
  onShutdown(listener: (code: number) => void): void {
    // The SHUTDOWN may already have come, e.g. with the WELCOME of a worker that joined as the
    // origin finished: messages received early are delivered while this runtime is being built.
    if (this.brokerShutdownCode !== undefined) listener(this.brokerShutdownCode);
    else this.shutdownListeners.push(listener);
  }

  submit<R>(op: CallOp, fn: Function, payload: unknown[], extra?: Function, unary = false): Future<R> {
    if (!this.running) throw new PoolClosedError("cannot submit: the pool is shut down");
    const ref = this.registry.refOf(fn);
    const envelope = [op, ref, payload, extra ? this.registry.refOf(extra) : null, unary];
    const frames = encodeValue(envelope, this.registry);
    const id = makeTaskId(this.index, ++this.seq);
    const future = new Future<R>(id, fn.name || "anonymous", (f) => {
      this.pending.delete(f.id);
      this.unship(f.id);
      if (this.localIds.delete(f.id)) this.executor.cancel([f.id]);
      else if (this.unsent.has(f.id)) (this.submits.dropped ??= new Set()).add(f.id);
      else {
        this.cancels.push(f.id);
        this.queueFlush();
      }
    });
    this.pending.set(id, future as Future<unknown>);
    // Keep the task here when this worker has nothing queued (it would idle while the task
    // travels), or when nobody else is idle and tasks are short (no round trip; the parent's worker
    // stays busy). Not for long tasks: one kept here is committed to this worker until its event
    // loop is free again, while a neighbour that runs dry meanwhile could have taken it.
    // Tasks carrying binary data (frames.length > 1) stay when this worker would finish its backlog
    // before the data reached another one.
    const local =
      this.executor.queued === 0 ||
      (frames.length > 1
        ? startsSoonerHere(this.executor.localQueued, this.executor.typicalDataTaskMs(fn), this.shippedTotal, binaryBytes(frames), this.transfer.msPerByte)
        : !this.othersIdle && this.executor.averageTaskMs < LOCAL_TASK_MAX_MS);
    if (this.executes && this.running && local) {
      this.localIds.add(id);
      this.executor.acceptLocal(id, frames, fn);
    } else {
      this.sendAway(id, frames, fn);
      // A long burst leaves in slices, so workers start on its head while its tail is still being
      // submitted; a short one leaves whole at the end of this turn.
      if (this.submits.length >= STREAM_SUBMITS) this.flush();
      else this.queueFlush();
    }
    return future;
  }

  private sendAway(id: number, frames: Buffer[], fn: Function | undefined): void {
    this.submits.add(id, frames);
    this.unsent.add(id);
    if (frames.length > 1) {
      const bytes = binaryBytes(frames);
      this.shipped.set(id, { bytes, at: performance.now(), fn });
      this.shippedTotal += bytes;
    }
  }

  /** A shipped task is settled (`answered`: its result came back) or given up. */
  private unship(id: number, answered = false): void {
    const s = this.shipped.get(id);
    if (s === undefined) return;
    this.shipped.delete(id);
    this.shippedTotal -= s.bytes;
    if (answered) this.transfer.observe(s.bytes, performance.now() - s.at, this.executor.typicalDataTaskMs(s.fn));
  }

  private queueFlush(): void {
    if (this.flushQueued) return;
    this.flushQueued = true;
    queueMicrotask(() => this.flush());
  }

  /**
   * Sends a batch as messages of at most MAX_BATCH items and about MAX_BATCH_BYTES: large arguments
   * then stream (the first task can start while the next ones are still on the wire) instead of
   * waiting for one huge message to arrive whole.
   */
  private sendBatch(type: MessageType.Submit | MessageType.Result, b: Batch, request?: [credit: number, idle: number]): void {
    // `request` (RESULT only) rides with the last message of the batch.
    const header = (ids: number[], counts: number[], last: boolean) =>
      (last && request ? [type, ids, counts, ...request] : [type, ids, counts]) as Header;
    if (b.length <= MAX_BATCH && b.bytes <= MAX_BATCH_BYTES) {
      this.conn.send(header(b.ids, b.counts, true), b.frames);
      return;
    }
    let at = 0;
    let i = 0;
    while (i < b.length) {
      const ids: number[] = [];
      const counts: number[] = [];
      let bytes = 0;
      let n = 0;
      while (i < b.length && ids.length < MAX_BATCH && (ids.length === 0 || bytes < MAX_BATCH_BYTES)) {
        const c = b.counts[i]!;
        for (let k = 0; k < c; k++) bytes += b.frames[at + n + k]!.length;
        ids.push(b.ids[i]!);
        counts.push(c);
        n += c;
        i++;
      }
      this.conn.send(header(ids, counts, i === b.length), b.frames.slice(at, at + n));
      at += n;
    }
  }

  private flush(): void {
    this.flushQueued = false;
    if (this.results.length) {
      const b = this.results;
      this.results = new Batch();
      // The usual task boundary (a result, and a request for the next task) is one message: each
      // message wakes I/O threads in three processes, on cores the tasks are using. Results go
      // first (in nested work a parent elsewhere waits for them); a request saying "idle" waits
      // for this turn's submits, which the broker must have before it asks others to give work back.
      if (this.requestQueued && (!this.requestIdle || this.submits.length === 0)) {
        this.sendBatch(MessageType.Result, b, [this.credit, this.requestIdle ? 1 : 0]);
        this.credit = 0;
        this.requestQueued = false;
      } else this.sendBatch(MessageType.Result, b);
    }
    if (this.submits.length) {
      const batch = this.submits.compact();
      if (batch.length) this.sendBatch(MessageType.Submit, batch);
      this.submits = new Batch();
      this.unsent.clear();
    }
    if (this.cancels.length) {
      this.conn.send([MessageType.Cancel, this.cancels]);
      this.cancels = [];
    }
    if (this.requestQueued) {
      this.conn.send([MessageType.Request, this.credit, this.requestIdle ? 1 : 0]);
      this.credit = 0;
      this.requestQueued = false;
    }
  }

  private onMessage(header: Header, payload: Buffer[]): void {
    switch (header[0]) {
      case MessageType.Tasks:
        this.executor.accept(header[1], header[2], payload);
        break;
      case MessageType.Results:
        this.onResults(header[1], header[2], payload);
        break;
      case MessageType.Cancel:
        this.executor.cancel(header[1]);
        break;
      case MessageType.Release:
        this.executor.release(header[1]);
        break;
      case MessageType.Const:
        header[1].forEach((name, i) => this.storeConst(name, payload[i]!));
        break;
      case MessageType.ConstAck: {
        const ack = this.constAcks.get(header[1]);
        this.constAcks.delete(header[1]);
        if (ack) header[2] === null ? ack.resolve() : ack.reject(new ConstantError(header[2]));
        break;
      }
      case MessageType.Idle:
        this.othersIdle = header[1] === 1;
        if (this.othersIdle) this.shareBacklog();
        break;
      case MessageType.Info:
        this.poolSize = header[1].size;
        this.poolHosts = header[1].hosts;
        break;
      case MessageType.Shutdown:
        this.stopFromBroker(header[1]);
        break;
      case MessageType.Lost:
        header[1].forEach((id, i) => {
          this.unship(id);
          const f = this.pending.get(id);
          this.pending.delete(id);
          const workers = /: (.*)$/.exec(header[2][i]!)?.[1]?.split(", ") ?? [];
          f?.reject(new WorkerLostError(`${f.label} #${id}: ${header[2][i]}`, workers));
        });
        break;
      default:
        this.logger.debug(`ignored message type ${header[0]}`);
    }
  }

  private onResults(ids: number[], counts: number[], payload: Buffer[]): void {
    let at = 0;
    for (let i = 0; i < ids.length; i++) {
      const c = counts[i]!;
      const frames = c === 1 ? [payload[at]!] : payload.slice(at, at + c);
      at += c;
      this.settle(ids[i]!, frames);
    }
  }

  private settle(id: number, frames: Buffer[]): void {
    this.unship(id, true);
    const future = this.pending.get(id);
    if (!future) return; // cancelled, or a duplicate
    this.pending.delete(id);
    let decoded: unknown;
    try {
      decoded = decodeValue(frames, this.registry);
    } catch (err) {
      future.reject(err);
      return;
    }
    const [status, value] = decoded as [ResultStatus, unknown];
    if (status === ResultStatus.Ok) future.resolve(value);
    else future.reject(value);
  }

  /**
   * Someone is idle: hand the local tasks not started yet to the broker, keeping a fair share here,
   * and also those with binary data that would start here before their data reached another worker.
   */
  private shareBacklog(): void {
    const keep = Math.max(1, Math.ceil(this.executor.localQueued / Math.max(1, this.poolSize)));
    const backlog = this.executor.takeLocalBacklog(keep);
    if (backlog.length === 0) return;
    const { ship, stay } = splitBacklog(backlog, keep, (t) => this.executor.typicalDataTaskMs(t.fn), this.shippedTotal, this.transfer.msPerByte);
    for (const t of ship) {
      this.localIds.delete(t.id);
      this.sendAway(t.id, t.frames, t.fn);
    }
    for (const t of stay) this.executor.acceptLocal(t.id, t.frames, t.fn);
    this.queueFlush();
  }

  private storeConst(name: string, frame: Buffer): void {
    if (!this.constFrames.has(name)) this.constFrames.set(name, frame);
    const waiters = this.constWaiters.get(name);
    if (waiters) {
      this.constWaiters.delete(name);
      const v = this.constValue(name);
      for (const w of waiters) w(v);
    }
  }

  private constValue(name: string): unknown {
    if (this.constValues.has(name)) return this.constValues.get(name);
    const v = decodeValue([this.constFrames.get(name)!], this.registry);
    this.constValues.set(name, v);
    return v;
  }

  async setConst(values: Record<string, unknown>): Promise<void> {
    const names = Object.keys(values);
    for (const n of names) {
      if (this.constFrames.has(n)) throw new ConstantError(`shared constant "${n}" is already defined; constants are write-once`);
    }
    const frames = names.map((n) => encodeValue(values[n], this.registry, { inline: true })[0]!);
    const id = ++this.constRequestSeq;
    const acked = new Promise<void>((resolve, reject) => this.constAcks.set(id, { resolve, reject }));
    this.conn.send([MessageType.SetConst, id, names], frames);
    await acked;
    names.forEach((n, i) => this.storeConst(n, frames[i]!));
  }

  getConst(name: string, timeout?: number): Promise<unknown> {
    checkTimeout(timeout, "getConst()");
    if (this.constFrames.has(name)) return Promise.resolve(this.constValue(name));
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const waiter = (v: unknown) => {
        clearTimeout(timer);
        resolve(v);
      };
      let list = this.constWaiters.get(name);
      if (!list) {
        this.constWaiters.set(name, (list = []));
        this.conn.send([MessageType.GetConst, name]);
      }
      list.push(waiter);
      if (timeout !== undefined && timeout !== Infinity) {
        timer = setTimeout(() => {
          const l = this.constWaiters.get(name);
          if (l) l.splice(l.indexOf(waiter), 1);
          reject(new TimeoutError(`getConst("${name}") timed out after ${timeout} ms: no worker has set it`));
        }, timeout);
      }
    });
  }

  /** Starts taking tasks from the broker. */
  startExecuting(): void {
    this.executor.start();
  }

  async shutdown(_wait: boolean): Promise<void> {
    this.endPool(0);
  }

  /** Asks the broker to end the pool with the origin's exit code. */
  endPool(code: number): void {
    if (!this.running) return;
    this.flush();
    this.conn.send([MessageType.Shutdown, code]);
    this.stop(new PoolClosedError("the pool was shut down"));
  }

  private stopFromBroker(code: number): void {
    if (!this.running) return;
    this.brokerShutdownCode = code;
    this.stop(new PoolClosedError("the pool was shut down by the broker"));
    for (const l of this.shutdownListeners) l(code);
  }

  /** The broker is gone: fail everything waiting, stop executing. */
  brokerLost(reason: string): void {
    if (!this.running) return;
    this.stop(new BrokerLostError(reason));
  }

  private stop(reason: Error): void {
    this.running = false;
    this.executor.stop();
    for (const f of this.pending.values()) f.reject(reason);
    this.pending.clear();
    this.shipped.clear();
    this.shippedTotal = 0;
  }

  /** Flushes and closes the broker connection. */
  async close(): Promise<void> {
    this.flush();
    await this.conn.close();
  }
}
