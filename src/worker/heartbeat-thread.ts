/**
 * Runs in a worker thread: sends this worker's heartbeats and notes the broker's. A thread, so that a
 * task that keeps the main event loop busy for minutes is not mistaken for a dead worker, while a
 * stopped or killed process (all threads) still falls silent.
 */
import { parentPort, workerData } from "node:worker_threads";
import type { PoolKeys } from "../transport/curve.js";
import { PHASE_BOOTING, PHASE_RUNNING } from "./heartbeat-phase.js";

interface HeartbeatThreadData {
  brokerAddress: string;
  metaAddress: string;
  /** This worker's HEARTBEAT header (index and token). */
  beat: Uint8Array;
  /** The broker's HEARTBEAT header, the prefix its beats on the meta socket start with. */
  brokerBeat: Uint8Array;
  interval: number;
  /** BigInt64Array over a SharedArrayBuffer: [0] = last time (ms) the broker was heard. */
  state: SharedArrayBuffer;
  /** Int32Array over a SharedArrayBuffer: [0] = phase (heartbeat-phase.ts). */
  phase: SharedArrayBuffer;
  keys?: PoolKeys;
}

const data = workerData as HeartbeatThreadData;
const lastHeard = new BigInt64Array(data.state);

// The main thread may have stopped before this thread got here (a run shorter than the thread's
// start): then no socket is opened, and zeromq is not even loaded, so the process can exit at once.
if (Atomics.compareExchange(new Int32Array(data.phase), 0, PHASE_BOOTING, PHASE_RUNNING) === PHASE_BOOTING) await run();
else parentPort!.close();

async function run(): Promise<void> {
  const [{ Dealer, Subscriber }, { clientSocketOptions }] = await Promise.all([import("zeromq"), import("../transport/curve.js")]);
  // sendTimeout 0: a heartbeat that cannot be queued is dropped, never left pending (a pending send
  // at thread exit aborts the process inside the native addon).
  const curve = data.keys ? clientSocketOptions(data.keys) : {};
  const dealer = new Dealer({ linger: 0, sendHighWaterMark: 4, sendTimeout: 0, ...curve });
  const sub = new Subscriber({ linger: 0, ...curve });
  dealer.connect(data.brokerAddress);
  sub.connect(data.metaAddress);
  // Only the broker's heartbeats. Constants and the rest are the main thread's.
  sub.subscribe(Buffer.from(data.brokerBeat));
  const beat = Buffer.from(data.beat);

  const timer = setInterval(() => {
    dealer.send([beat]).catch(() => {});
  }, data.interval);

  void (async () => {
    try {
      for await (const _ of sub) Atomics.store(lastHeard, 0, BigInt(Date.now()));
    } catch {
      // socket closed on stop
    }
  })();

  parentPort!.on("message", (m) => {
    if (m === "stop") {
      clearInterval(timer);
      dealer.close();
      sub.close();
      parentPort!.close();
    }
  });
}
