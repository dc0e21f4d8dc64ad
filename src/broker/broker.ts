/**
 * The broker: routes tasks to workers that ask for them and results back to the workers that
 * submitted them, keeps shared constants for late joiners, and broadcasts shutdown. It never runs
 * user code and never decodes user payloads: it reads frame 0 (the header) and moves the rest.
 */
import { EventEmitter } from "node:events";
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { Publisher, Router } from "zeromq";
import { ConfigError, ProtocolError } from "../errors.js";
import { isLoopbackEndpoint } from "../protocol/address.js";
import { serverSocketOptions, ZapHandler, type PoolKeys } from "../transport/curve.js";
import { createLogger, type Logger } from "../log.js";
import {
  decodeHeader,
  encodeHeader,
  MessageType,
  submitterOf,
  type Header,
  type HelloInfo,
  type PoolInfo,
  type WelcomeInfo,
} from "../protocol/messages.js";
import { checkHello } from "../protocol/handshake.js";
import { SocketWriter } from "../transport/socket-writer.js";
import { PACKAGE_VERSION, PROTOCOL_VERSION } from "../version.js";
import { ConstantsStore } from "./constants-store.js";
import { TaskQueue, type QueuedTask } from "./task-queue.js";
import { WorkerRegistry, type WorkerEntry } from "./worker-registry.js";

export interface BrokerOptions {
  /** Name workers must name in BROKER_NAME. Default "broker". */
  name?: string;
  /** Bind address for tcp endpoints. Default 127.0.0.1 (loopback only). */
  host?: string;
  /** Task socket port; 0 or undefined picks a free one. */
  taskPort?: number;
  /** Meta socket port; 0 or undefined picks a free one. */
  metaPort?: number;
  /** Full endpoints instead of host/ports, e.g. `ipc:///tmp/x.sock`. */
  taskEndpoint?: string;
  metaEndpoint?: string;
  logger?: Logger;
  /** Heartbeat period in ms (broker → workers on the meta socket, and expected from workers). Default 1000. */
  heartbeatInterval?: number;
  /** A worker silent this long (ms) is dropped and its tasks requeued. Default 10000. */
  heartbeatTimeout?: number;
  /** How many times a task may be requeued after losing its worker before it fails. Default 3. */
  maxTaskRetries?: number;
  /** Largest accepted message in bytes (libzmq drops the connection of a peer that sends more). Default 1 GiB. */
  maxMessageSize?: number;
  /** CurveZMQ keys: encrypt every socket and admit only members. Required to bind beyond loopback. */
  keys?: PoolKeys;
  /**
   * Watches the pool (dashboard, metrics; see src/observe). With one, WELCOME asks workers for
   * telemetry and message bytes are counted; without, none of that happens.
   */
  observer?: BrokerObserver;
  /**
   * Also bind in-process endpoints ({@link Broker.inprocAddresses}) for a client living in this
   * process (Pool.start): messages then pass between the two as pointers, not through the kernel.
   */
  inproc?: boolean;
}

/** What the broker tells an observer. Called synchronously; an observer must not throw or block. */
export interface BrokerObserver {
  workerJoined(hello: HelloInfo): void;
  /** `lost`: dropped for silence, not a clean exit. */
  workerLeft(name: string, lost: boolean): void;
  /** A TELEMETRY frame from a worker, undecoded. */
  telemetry(name: string, frame: Buffer): void;
}

/** About this many bytes at most in one TASKS message. */
const MAX_DISPATCH_BYTES = 1024 * 1024;

/** At most this many tasks in one TASKS message, so one worker's batch cannot starve another. */
const MAX_DISPATCH_BATCH = 4096;

/**
 * A worker holding this many tasks is asked to give some back for an idle one. Fewer: one running
 * and one waiting is the normal prefetch, and moving the waiting one would only trade places.
 */
const MIN_HELD_TO_RELEASE = 3;

/** A worker holding fewer dispatched tasks than this can start a newly dispatched one about at once. */
const NEARLY_FREE_HELD = 2;

export interface BrokerStats {
  submitted: number;
  dispatched: number;
  completed: number;
  malformed: number;
  unknownPeers: number;
  refused: number;
  /** Tasks put back in the queue after their worker left or was lost. */
  requeued: number;
  /** Tasks given up (WorkerLostError) after too many losses. */
  givenUp: number;
  /** Tasks a worker handed back unstarted (RELEASE) so that an idle one could run them. */
  released: number;
  /** Bytes received and sent on the task socket; counted only when an observer is set. */
  bytesIn: number;
  bytesOut: number;
}

export class Broker extends EventEmitter {
  readonly name: string;
  private readonly router: Router;
  private readonly publisher: Publisher;
  private zap: ZapHandler | undefined;
  private readonly routerOut: SocketWriter;
  private readonly pubOut: SocketWriter;
  private readonly workers = new WorkerRegistry();
  private readonly queue = new TaskQueue();
  private readonly constants = new ConstantsStore();
  private readonly log: Logger;
  private closed = false;
  private shutdownCode: number | undefined;
  private monitor: NodeJS.Timeout | undefined;
  private someoneIdle = true;
  private readonly heartbeatInterval: number;
  private readonly heartbeatTimeout: number;
  private readonly maxTaskRetries: number;
  private readonly heartbeatToken = randomBytes(16).toString("hex");
  readonly stats: BrokerStats = {
    submitted: 0,
    dispatched: 0,
    completed: 0,
    malformed: 0,
    unknownPeers: 0,
    refused: 0,
    requeued: 0,
    released: 0,
    givenUp: 0,
    bytesIn: 0,
    bytesOut: 0,
  };
  private readonly observer: BrokerObserver | undefined;
  taskAddress = "";
  metaAddress = "";
  /** The in-process endpoints, when started with `inproc`. */
  inprocAddresses: { task: string; meta: string } | undefined;

  private constructor(private readonly options: BrokerOptions) {
    super();
    this.name = options.name ?? "broker";
    this.heartbeatInterval = options.heartbeatInterval ?? 1000;
    this.heartbeatTimeout = options.heartbeatTimeout ?? 10_000;
    this.maxTaskRetries = options.maxTaskRetries ?? 3;
    this.observer = options.observer;
    const curve = options.keys ? serverSocketOptions(options.keys) : {};
    this.router = new Router({
      sendHighWaterMark: 0,
      receiveHighWaterMark: 0,
      linger: 2000,
      maxMessageSize: options.maxMessageSize ?? 2 ** 30,
      ...curve,
    });
    this.publisher = new Publisher({ sendHighWaterMark: 0, linger: 2000, ...curve });
    this.log = options.logger ?? createLogger(`broker ${this.name}`, "warn");
    const onSendError = (err: unknown) => this.log.debug("send failed:", (err as Error).message);
    this.routerOut = new SocketWriter(this.router, onSendError);
    this.pubOut = new SocketWriter(this.publisher, onSendError);
  }

  /** Binds both sockets and starts serving. */
  static async start(options: BrokerOptions = {}): Promise<Broker> {
    const host = options.host ?? "127.0.0.1";
    const loopback = (e: string | undefined) => e === undefined || isLoopbackEndpoint(e);
    if (!options.keys && (!isLoopbackEndpoint(`tcp://${host.includes(":") ? `[${host}]` : host}:1`) || !loopback(options.taskEndpoint) || !loopback(options.metaEndpoint))) {
      throw new ConfigError(`binding beyond loopback (${host}) needs keys: make them with \`npx scoop keygen DIR\` and pass --key-file DIR/pool.key`);
    }
    const broker = new Broker(options);
    if (options.keys) broker.zap = await ZapHandler.start(options.keys);
    await broker.bind();
    void broker.serve();
    broker.monitor = setInterval(() => broker.beat(), broker.heartbeatInterval);
    broker.monitor.unref();
    return broker;
  }

  get queueLength(): number {
    return this.queue.length;
  }

  get size(): number {
    return this.workers.executors().length;
  }

  private async bind(): Promise<void> {
    const host = this.options.host ?? "127.0.0.1";
    const endpoint = (port: number | undefined) => `tcp://${host.includes(":") ? `[${host}]` : host}:${port ? port : "*"}`;
    await this.router.bind(this.options.taskEndpoint ?? endpoint(this.options.taskPort));
    await this.publisher.bind(this.options.metaEndpoint ?? endpoint(this.options.metaPort));
    this.taskAddress = this.publicAddress(this.router.lastEndpoint!);
    this.metaAddress = this.publicAddress(this.publisher.lastEndpoint!);
    if (this.options.inproc) {
      const base = `inproc://scoop-${this.name}-${randomBytes(6).toString("hex")}`;
      const inproc = { task: `${base}-task`, meta: `${base}-meta` };
      await this.router.bind(inproc.task);
      await this.publisher.bind(inproc.meta);
      this.inprocAddresses = inproc;
    }
  }

  /** A wildcard bind is reachable under the host's name, which is what remote workers need to be told. */
  private publicAddress(endpoint: string): string {
    return endpoint.replace("tcp://0.0.0.0:", `tcp://${hostname()}:`);
  }

  private async serve(): Promise<void> {
    try {
      for await (const frames of this.router) {
        this.handle(frames);
      }
    } catch (err) {
      if (!this.closed) this.log.error("task socket failed:", (err as Error).message);
    }
  }

  private handle(frames: Buffer[]): void {
    const routingId = frames[0]!;
    if (this.observer) for (const f of frames) this.stats.bytesIn += f.length;
    if (frames.length < 2) {
      this.stats.malformed++;
      this.log.debug("dropped a message with no header");
      return;
    }
    let header: Header;
    try {
      header = decodeHeader(frames[1]!, frames.length - 2);
    } catch (err) {
      this.stats.malformed++;
      this.log.debug("dropped a malformed message:", err instanceof ProtocolError ? err.message : String(err));
      return;
    }
    const worker = this.workers.get(routingId);
    if (header[0] === MessageType.Hello) {
      this.onHello(routingId, header[1], worker);
      return;
    }
    if (header[0] === MessageType.Heartbeat && header.length === 3) {
      // From a worker's heartbeat thread: its own socket, so identified by index and token.
      const w = this.workers.byWorkerIndex(header[1]);
      if (w && header[2] === this.heartbeatToken) w.lastSeen = Date.now();
      else this.stats.unknownPeers++;
      return;
    }
    if (!worker) {
      this.stats.unknownPeers++;
      this.log.debug(`dropped message type ${header[0]} from a peer that did not handshake`);
      // A worker we dropped (presumed dead) that comes back must learn it is no longer in the pool.
      if (header[0] === MessageType.Result || header[0] === MessageType.Request || header[0] === MessageType.Submit) {
        this.routerOut.write([Buffer.from(routingId), encodeHeader([MessageType.Refuse, "this worker was dropped from the pool (silent too long)"])]);
      }
      return;
    }
    worker.lastSeen = Date.now();
    switch (header[0]) {
      case MessageType.Request:
        this.onRequest(worker, header[1], header[2] === 1);
        break;
      case MessageType.Submit:
        this.onSubmit(worker, header[1], header[2], frames);
        break;
      case MessageType.Result:
        this.onResult(worker, header[1], header[2], frames);
        if (header.length === 5) this.onRequest(worker, header[3], header[4] === 1);
        break;
      case MessageType.Cancel:
        this.onCancel(worker, header[1]);
        break;
      case MessageType.Returned:
        this.onReturned(worker, header[1]);
        break;
      case MessageType.SetConst:
        this.onSetConst(worker, header[1], header[2], frames.slice(2));
        break;
      case MessageType.GetConst:
        this.onGetConst(worker, header[1]);
        break;
      case MessageType.Shutdown:
        if (worker.hello.origin) this.shutdown(header[1]);
        else this.refuseQuietly(worker, "SHUTDOWN from a worker that is not the origin");
        break;
      case MessageType.Heartbeat:
        break;
      case MessageType.Bye:
        this.dropWorker(worker, "left");
        break;
      case MessageType.Telemetry:
        if (this.observer) this.observer.telemetry(worker.hello.name, frames[2]!);
        else this.refuseQuietly(worker, "TELEMETRY that nobody asked for");
        break;
      default:
        this.stats.malformed++;
        this.log.debug(`dropped unexpected message type ${header[0]} from ${worker.hello.name}`);
    }
  }

  private send(worker: WorkerEntry, header: Header, payload: Buffer[] = []): void {
    const frames = [worker.routingId, encodeHeader(header), ...payload];
    if (this.observer) for (let i = 1; i < frames.length; i++) this.stats.bytesOut += frames[i]!.length;
    this.routerOut.write(frames);
  }

  private onHello(routingId: Buffer, hello: HelloInfo, existing: WorkerEntry | undefined): void {
    const refuse = (reason: string) => {
      this.stats.refused++;
      this.log.info("refused a worker:", reason);
      this.routerOut.write([Buffer.from(routingId), encodeHeader([MessageType.Refuse, reason])]);
    };
    const problem = checkHello(hello, { brokerName: this.name });
    if (problem) return refuse(problem);
    if (this.shutdownCode !== undefined) return refuse("the pool is shutting down");
    let entry = existing;
    if (!entry) {
      if (hello.origin) {
        const origin = [...this.workers.all()].find((w) => w.hello.origin);
        if (origin) return refuse(`this pool already has an origin ("${origin.hello.name}", ${origin.hello.host} pid ${origin.hello.pid}); start other workers with IS_ORIGIN=0`);
      }
      const clash = this.workers.byWorkerName(hello.name);
      if (clash) {
        return refuse(
          `worker name "${hello.name}" is already used by ${clash.hello.host} pid ${clash.hello.pid}; ` +
            `this one is ${hello.host} pid ${hello.pid} — give each worker a unique WORKER_NAME`,
        );
      }
      entry = this.workers.add(routingId, hello, Date.now());
      this.log.info(`worker ${hello.name} joined from ${hello.host} (pid ${hello.pid})`);
      this.observer?.workerJoined(hello);
    }
    const info: WelcomeInfo = {
      protocol: PROTOCOL_VERSION,
      version: PACKAGE_VERSION,
      brokerName: this.name,
      index: entry.index,
      heartbeatInterval: this.heartbeatInterval,
      heartbeatTimeout: this.heartbeatTimeout,
      heartbeatToken: this.heartbeatToken,
      ...this.poolInfo(),
      ...(this.observer ? { observe: true } : {}),
    };
    const names: string[] = [];
    const values: Buffer[] = [];
    for (const [n, e] of this.constants.entries()) {
      names.push(n);
      values.push(e.frame);
    }
    this.send(entry, [MessageType.Welcome, info, names], values);
    this.publishInfo();
    this.emit("worker", hello.name);
  }

  private poolInfo(): PoolInfo {
    const executors = this.workers.executors();
    return { size: executors.length, hosts: executors.map((w) => w.hello.host) };
  }

  private publishInfo(): void {
    this.pubOut.write([encodeHeader([MessageType.Info, this.poolInfo()])]);
  }

  private onRequest(worker: WorkerEntry, n: number, idle: boolean): void {
    if (!worker.hello.executes) return;
    worker.credit += n;
    if (worker.credit > 0) this.workers.hungry.add(worker);
    worker.idle = idle && worker.credit > 0;
    if (worker.idle) this.workers.idle.add(worker);
    else this.workers.idle.delete(worker);
    this.dispatch();
    if (worker.idle && this.queue.length === 0) this.releaseFor(worker);
  }

  /**
   * `idle` has nothing to run and nothing is queued: the worker holding the most tasks hands back
   * half of those it has not started (they wait in its prefetch while `idle` could run them now).
   * The broker still has their frames, so only ids travel.
   */
  private releaseFor(idle: WorkerEntry): void {
    let victim: WorkerEntry | undefined;
    for (const w of this.workers.executors()) {
      if (w !== idle && !w.releasing && w.held.size >= MIN_HELD_TO_RELEASE && (!victim || w.held.size > victim.held.size)) victim = w;
    }
    if (!victim) return;
    victim.releasing = true;
    this.send(victim, [MessageType.Release, Math.floor(victim.held.size / 2)]);
  }

  /**
   * Tasks given back, asked for (RELEASE) or not (a worker that got more than it can start soon).
   * The worker's unused credit goes with them: it holds enough, and asks again when it runs low.
   */
  private onReturned(worker: WorkerEntry, ids: number[]): void {
    worker.releasing = false;
    worker.credit = 0;
    this.workers.hungry.delete(worker);
    const back: QueuedTask[] = [];
    for (const id of ids) {
      // Not held any more (cancelled, or requeued): nothing to give back.
      const task = worker.held.get(id);
      if (!task) continue;
      worker.held.delete(id);
      back.push(task);
    }
    if (back.length === 0) return;
    this.stats.released += back.length;
    this.queue.unshiftAll(back);
    this.dispatch();
  }

  /**
   * Tells every worker whether someone is idle: while nobody is, workers keep the tasks they submit
   * and run them themselves (no round trip); once someone is, they send them here to be shared.
   */
  private publishIdle(): void {
    const someone = this.workers.idle.size > 0;
    if (someone === this.someoneIdle) return;
    this.someoneIdle = someone;
    this.pubOut.write([encodeHeader([MessageType.Idle, someone ? 1 : 0])]);
  }

  /** Counts and logs (at debug) a message that breaks the rules, and drops it. */
  private refuseQuietly(worker: WorkerEntry, what: string): void {
    this.stats.malformed++;
    this.log.debug(`dropped ${what} (from ${worker.hello.name})`);
  }

  private onSubmit(worker: WorkerEntry, ids: number[], counts: number[], frames: Buffer[]): void {
    // A task id carries its submitter's index: ids forged for another submitter would steer results
    // to the wrong place, so the whole message is dropped.
    for (const id of ids) {
      if (submitterOf(id) !== worker.index || this.queue.has(id)) return this.refuseQuietly(worker, "SUBMIT with ids that are not its own");
    }
    let at = 2;
    for (let i = 0; i < ids.length; i++) {
      const c = counts[i]!;
      this.queue.push({ id: ids[i]!, frames: frames.slice(at, at + c), losses: 0 });
      at += c;
    }
    this.stats.submitted += ids.length;
    this.dispatch();
  }

  /**
   * Hands queued tasks to workers that asked, splitting a burst evenly between them so one worker's
   * large credit cannot take work an idle neighbour could start now.
   */
  private dispatch(): void {
    const hungry = this.workers.hungry;
    while (this.queue.length > 0 && hungry.size > 0) {
      const share = Math.max(1, Math.ceil(this.queue.length / hungry.size));
      // Fewer tasks than asking workers: the ones holding the fewest go first (join the shortest
      // queue), so a task does not wait behind others while a neighbour has less to do.
      const order = this.queue.length < hungry.size ? [...hungry].sort((a, b) => a.held.size - b.held.size) : [...hungry];
      for (const worker of order) {
        if (this.queue.length === 0) break;
        const n = Math.min(worker.credit, share, MAX_DISPATCH_BATCH);
        const ids: number[] = [];
        const counts: number[] = [];
        const payload: Buffer[] = [];
        let bytes = 0;
        // Large tasks leave one or a few per message, so a worker starts on the first while the
        // rest of its share is still on the wire.
        while (ids.length < n && bytes < MAX_DISPATCH_BYTES) {
          const head = this.queue.peek();
          if (!head || (this.isOwnLargeTask(head, worker) && this.anotherNearlyFree(worker))) break;
          const task = this.queue.shift()!;
          ids.push(task.id);
          counts.push(task.frames.length);
          for (const f of task.frames) {
            payload.push(f);
            bytes += f.length;
          }
          worker.held.set(task.id, task);
        }
        if (ids.length === 0) {
          // Only its own large task was at the head: another hungry worker takes it this round.
          if (this.queue.length > 0) continue;
          break;
        }
        worker.credit -= ids.length;
        worker.idle = false;
        this.workers.idle.delete(worker);
        hungry.delete(worker);
        if (worker.credit > 0) hungry.add(worker); // to the back: round-robin
        this.stats.dispatched += ids.length;
        this.send(worker, [MessageType.Tasks, ids, counts], payload);
      }
    }
    this.publishIdle();
  }

  /**
   * A task with out-of-band binary frames that this very worker submitted: its submitter sent it
   * away (busy, or moving the data was judged cheaper than waiting), so handing it back would move
   * the data twice for nothing while another worker can start it about as soon.
   */
  private isOwnLargeTask(task: QueuedTask, worker: WorkerEntry): boolean {
    return task.frames.length > 1 && submitterOf(task.id) === worker.index;
  }

  /**
   * Another asking worker holds fewer than two of our tasks. Only then is a submitter's own large
   * task kept from it: a worker with a long prefetch would otherwise take the whole burst while
   * the submitter, which asks too, idles.
   */
  private anotherNearlyFree(worker: WorkerEntry): boolean {
    for (const w of this.workers.hungry) if (w !== worker && w.held.size < NEARLY_FREE_HELD) return true;
    return false;
  }

  private onResult(worker: WorkerEntry, ids: number[], counts: number[], frames: Buffer[]): void {
    const bySubmitter = new Map<number, { ids: number[]; counts: number[]; payload: Buffer[] }>();
    let at = 2;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      const c = counts[i]!;
      const slice = frames.slice(at, at + c);
      at += c;
      const sub = submitterOf(id);
      // No frame: the worker ran a task it submitted and settled it itself; only another's result
      // could be lost that way, so such a claim is refused.
      if (c === 0 && sub !== worker.index) {
        this.refuseQuietly(worker, "RESULT without a value for a task it did not submit");
        continue;
      }
      // A result for a task this worker no longer holds was already requeued or delivered: drop it so
      // the submitter sees each result once.
      if (!worker.held.delete(id)) continue;
      worker.tasksDone++;
      this.stats.completed++;
      if (c === 0) continue;
      let group = bySubmitter.get(sub);
      if (!group) bySubmitter.set(sub, (group = { ids: [], counts: [], payload: [] }));
      group.ids.push(id);
      group.counts.push(c);
      for (const f of slice) group.payload.push(f);
    }
    for (const [sub, g] of bySubmitter) {
      const target = this.workers.byWorkerIndex(sub);
      if (!target) {
        this.log.debug(`dropped ${g.ids.length} results for departed submitter #${sub}`);
        continue;
      }
      this.send(target, [MessageType.Results, g.ids, g.counts], g.payload);
    }
  }

  private onCancel(sender: WorkerEntry, ids: number[]): void {
    const forward = new Map<WorkerEntry, number[]>();
    for (const id of ids) {
      if (submitterOf(id) !== sender.index) continue; // only a task's submitter may cancel it
      if (this.queue.remove(id)) continue;
      for (const w of this.workers.all()) {
        // Forget it as held: a result that still comes is dropped, and a loss will not requeue it.
        if (w.held.delete(id)) {
          let l = forward.get(w);
          if (!l) forward.set(w, (l = []));
          l.push(id);
          break;
        }
      }
    }
    for (const [w, l] of forward) this.send(w, [MessageType.Cancel, l]);
  }

  private onSetConst(worker: WorkerEntry, requestId: number, names: string[], frames: Buffer[]): void {
    const clash = this.constants.conflict(names);
    if (clash) {
      this.send(worker, [
        MessageType.ConstAck,
        requestId,
        `shared constant "${clash.name}" is already defined (by ${clash.owner}); constants are write-once`,
      ]);
      return;
    }
    const wake = this.constants.set(names, frames, worker.hello.name);
    this.send(worker, [MessageType.ConstAck, requestId, null]);
    const copies = frames.map((f) => Buffer.from(f));
    this.pubOut.write([encodeHeader([MessageType.Const, names]), ...copies]);
    for (const key of wake) {
      const w = [...this.workers.all()].find((x) => x.key === key);
      if (w) this.send(w, [MessageType.Const, names], frames);
    }
  }

  private onGetConst(worker: WorkerEntry, name: string): void {
    const e = this.constants.get(name);
    if (e) this.send(worker, [MessageType.Const, [name]], [e.frame]);
    else this.constants.wait(name, worker.key);
  }

  /** Publishes the broker's heartbeat and drops workers that went silent. */
  private beat(): void {
    if (this.closed) return;
    this.pubOut.write([encodeHeader([MessageType.Heartbeat])]);
    const now = Date.now();
    for (const w of [...this.workers.all()]) {
      if (now - w.lastSeen > this.heartbeatTimeout) this.dropWorker(w, `lost (silent for ${now - w.lastSeen} ms)`, true);
    }
  }

  /**
   * Drops a worker and gives the tasks it held back to the queue, in front. When it was lost (not a
   * clean exit), each task counts a loss; past the retry bound the submitter gets WorkerLostError.
   */
  dropWorker(worker: WorkerEntry, why: string, lost = false): void {
    this.workers.remove(worker);
    const held = [...worker.held.values()];
    worker.held.clear();
    const requeue: QueuedTask[] = [];
    const failed = new Map<number, { ids: number[]; reasons: string[] }>();
    for (const t of held) {
      if (lost) {
        t.losses++;
        (t.lostOn ??= []).push(worker.hello.name);
      }
      if (t.losses > this.maxTaskRetries) {
        const sub = submitterOf(t.id);
        let f = failed.get(sub);
        if (!f) failed.set(sub, (f = { ids: [], reasons: [] }));
        f.ids.push(t.id);
        f.reasons.push(`task lost with ${t.losses} workers in a row: ${t.lostOn!.join(", ")}`);
      } else requeue.push(t);
    }
    this.queue.unshiftAll(requeue);
    this.stats.requeued += requeue.length;
    this.stats.givenUp += held.length - requeue.length;
    for (const [sub, f] of failed) {
      const target = this.workers.byWorkerIndex(sub);
      if (target) this.send(target, [MessageType.Lost, f.ids, f.reasons]);
    }
    (lost ? this.log.warn : this.log.info)(`worker ${worker.hello.name} ${why}; ${requeue.length} task(s) requeued, ${held.length - requeue.length} failed`);
    this.publishInfo();
    this.observer?.workerLeft(worker.hello.name, lost);
    this.emit("worker-left", worker.hello.name);
    if (lost && worker.hello.origin) {
      // Nobody is left to collect the results: the origin's death ends the pool.
      if (this.shutdownCode === undefined) this.log.warn("the origin was lost: ending the pool");
      this.shutdown(1);
      return;
    }
    this.dispatch();
  }

  /**
   * Tells every worker to stop, then reports the origin's exit code through the "shutdown" event.
   * Idempotent.
   */
  shutdown(code = 0): void {
    if (this.shutdownCode !== undefined) return;
    this.shutdownCode = code;
    this.log.info(`shutting down (origin exit code ${code})`);
    const msg = encodeHeader([MessageType.Shutdown, code]);
    this.pubOut.write([msg]);
    for (const w of this.workers.all()) this.routerOut.write([w.routingId, msg]);
    this.emit("shutdown", code);
  }

  /**
   * Closes both sockets once what was queued is handed to libzmq. `peersGone`: the caller knows
   * every worker process has exited (the launcher does), so nobody is left to read a last message.
   */
  async close(options: { peersGone?: boolean } = {}): Promise<void> {
    if (this.closed) return;
    clearInterval(this.monitor);
    await Promise.race([Promise.all([this.routerOut.idle(), this.pubOut.idle()]), new Promise((r) => setTimeout(r, 1000))]);
    // "Handed to libzmq" is not "on the wire": give its I/O thread a moment before the process may
    // exit, or a loaded machine can lose the last SHUTDOWN and leave a worker waiting for a timeout.
    if (this.shutdownCode !== undefined && !options.peersGone) await new Promise((r) => setTimeout(r, 150));
    this.closed = true;
    this.router.close();
    this.publisher.close();
    this.zap?.close();
  }
}
