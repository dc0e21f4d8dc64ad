/**
 * Worker-side liveness: a heartbeat thread tells the broker this process is alive, and the main
 * thread watches how long ago the broker was last heard, to exit with a clear message rather than
 * hang when the broker is gone.
 */
import { Worker } from "node:worker_threads";
import { encodeHeader, MessageType } from "../protocol/messages.js";
import type { PoolKeys } from "../transport/curve.js";
import { PHASE_BOOTING, PHASE_CANCELLED } from "./heartbeat-phase.js";

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

  /** [0]: the thread's phase (see PHASE_*), claimed by whichever side gets there first. */
  private readonly phase: Int32Array;

  constructor(private readonly o: HeartbeatOptions) {
    const state = new SharedArrayBuffer(8);
    const phase = new SharedArrayBuffer(4);
    this.lastHeard = new BigInt64Array(state);
    this.phase = new Int32Array(phase);
    Atomics.store(this.lastHeard, 0, BigInt(Date.now()));
    this.thread = new Worker(new URL("./heartbeat-thread.js", import.meta.url), {
      // Headers encoded here: the thread then boots without the serializer (a process cannot exit
      // while one of its threads is still booting, so a short run waits for it).
      workerData: {
        brokerAddress: o.brokerAddress,
        metaAddress: o.metaAddress,
        beat: encodeHeader([MessageType.Heartbeat, o.index, o.token]),
        brokerBeat: encodeHeader([MessageType.Heartbeat]),
        interval: o.interval,
        state,
        phase,
        keys: o.keys,
      },
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
    // A thread still booting (a short run: a worker thread takes ~40 ms to start) is told not to
    // open its sockets at all; then nothing needs to be waited for.
    if (Atomics.compareExchange(this.phase, 0, PHASE_BOOTING, PHASE_CANCELLED) === PHASE_BOOTING) {
      void this.thread.terminate();
      return (this.stopped = Promise.resolve());
    }
    const exited = new Promise<void>((resolve) => this.thread.once("exit", () => resolve()));
    this.thread.postMessage("stop");
    const timer = setTimeout(() => void this.thread.terminate(), 1000);
    this.stopped = exited.then(() => clearTimeout(timer));
    return this.stopped;
  }
}
