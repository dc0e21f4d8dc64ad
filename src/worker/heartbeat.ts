/**
 * Worker-side liveness: a heartbeat thread tells the broker this process is alive, and the main
 * thread watches how long ago the broker was last heard, to exit with a clear message rather than
 * hang when the broker is gone.
 */
import { Worker } from "node:worker_threads";
import type { PoolKeys } from "../transport/curve.js";

export interface HeartbeatOptions {
  brokerAddress: string;
  metaAddress: string;
  index: number;
  token: string;
  interval: number;
  timeout: number;
  keys?: PoolKeys;
  /** Called once when the broker has been silent longer than `timeout`. */
  onBrokerLost: (silentMs: number) => void;
}

export class HeartbeatMonitor {
  private readonly thread: Worker;
  private readonly lastHeard: BigInt64Array;
  private readonly watch: NodeJS.Timeout;
  private stopped: Promise<void> | undefined;

  constructor(private readonly o: HeartbeatOptions) {
    const state = new SharedArrayBuffer(8);
    this.lastHeard = new BigInt64Array(state);
    Atomics.store(this.lastHeard, 0, BigInt(Date.now()));
    this.thread = new Worker(new URL("./heartbeat-thread.js", import.meta.url), {
      workerData: { brokerAddress: o.brokerAddress, metaAddress: o.metaAddress, index: o.index, token: o.token, interval: o.interval, state, keys: o.keys },
    });
    this.thread.unref();
    this.thread.on("error", () => {});
    this.watch = setInterval(() => {
      const silent = Date.now() - Number(Atomics.load(this.lastHeard, 0));
      if (silent > o.timeout) {
        clearInterval(this.watch);
        o.onBrokerLost(silent);
      }
    }, o.interval);
    this.watch.unref();
  }

  /** Marks the broker as heard now (any message from it counts). */
  heard(): void {
    Atomics.store(this.lastHeard, 0, BigInt(Date.now()));
  }

  /**
   * Stops the thread and waits for it to end: the process must not exit while the thread still holds
   * ZeroMQ sockets (the native addon aborts the process on such an exit).
   */
  async stop(): Promise<void> {
    clearInterval(this.watch);
    if (this.stopped) return this.stopped;
    const exited = new Promise<void>((resolve) => this.thread.once("exit", () => resolve()));
    this.thread.postMessage("stop");
    const timer = setTimeout(() => void this.thread.terminate(), 1000);
    this.stopped = exited.then(() => clearTimeout(timer));
    return this.stopped;
  }
}
