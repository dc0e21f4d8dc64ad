/**
 * The fallback when no broker is configured: tasks run in this process, one event-loop turn after
 * they are submitted, with the same function and value rules as the distributed runtime, so a script
 * that works serially works in a pool.
 */
import { ConstantError, PoolClosedError, TimeoutError } from "../errors.js";
import { Future, checkTimeout } from "../futures/future.js";
import type { Runtime } from "../futures/runtime.js";
import type { Logger } from "../log.js";
import { decodeValue, encodeValue } from "../protocol/codec.js";
import type { CallOp } from "../protocol/envelope.js";
import { invoke, isThenable } from "./invoke.js";
import type { FunctionRegistry } from "./runtime.js";

export class SerialRuntime implements Runtime {
  readonly isOrigin = true;
  readonly brokerName = "serial";
  readonly size = 1;
  private seq = 0;
  private running = true;
  private readonly constants = new Map<string, unknown>();
  private readonly waiters = new Map<string, Array<(v: unknown) => void>>();

  constructor(
    readonly workerName: string,
    private readonly registry: FunctionRegistry | undefined,
    readonly logger: Logger,
  ) {}

  get isRunning(): boolean {
    return this.running;
  }

  hosts(): string[] {
    return ["localhost"];
  }

  submit<R>(op: CallOp, fn: Function, payload: unknown[], extra?: Function, unary = false): Future<R> {
    if (!this.running) throw new PoolClosedError("cannot submit: the pool is shut down");
    if (typeof fn !== "function") throw new TypeError("submit() takes a function");
    // Same rules as the distributed runtime: refuse what could not travel, and pass copies.
    if (this.registry) {
      this.registry.refOf(fn);
      if (extra) this.registry.refOf(extra);
    }
    const frames = encodeValue(payload, this.registry);
    let started = false;
    const future = new Future<R>(++this.seq, fn.name || "anonymous", () => {
      started = true; // cancelled before it ran: never run it
    });
    setImmediate(() => {
      if (started) return;
      started = true;
      future.markRunning();
      let r: unknown;
      try {
        r = invoke(op, fn as (...a: unknown[]) => unknown, decodeValue(frames, this.registry) as unknown[], extra as never, unary);
      } catch (err) {
        future.reject(err);
        return;
      }
      if (isThenable(r)) Promise.resolve(r).then((v) => future.resolve(v as R), (e) => future.reject(e));
      else future.resolve(r as R);
    });
    return future;
  }

  async setConst(values: Record<string, unknown>): Promise<void> {
    for (const n of Object.keys(values)) {
      if (this.constants.has(n)) throw new ConstantError(`shared constant "${n}" is already defined; constants are write-once`);
    }
    for (const [n, v] of Object.entries(values)) {
      this.constants.set(n, decodeValue(encodeValue(v, this.registry, { inline: true }), this.registry));
      const w = this.waiters.get(n);
      this.waiters.delete(n);
      w?.forEach((f) => f(this.constants.get(n)));
    }
  }

  getConst(name: string, timeout?: number): Promise<unknown> {
    checkTimeout(timeout, "getConst()");
    if (this.constants.has(name)) return Promise.resolve(this.constants.get(name));
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const w = (v: unknown) => {
        clearTimeout(timer);
        resolve(v);
      };
      let l = this.waiters.get(name);
      if (!l) this.waiters.set(name, (l = []));
      l.push(w);
      if (timeout !== undefined && timeout !== Infinity) {
        timer = setTimeout(() => {
          l!.splice(l!.indexOf(w), 1);
          reject(new TimeoutError(`getConst("${name}") timed out after ${timeout} ms: no worker has set it`));
        }, timeout);
      }
    });
  }

  async shutdown(): Promise<void> {
    this.running = false;
  }
}
