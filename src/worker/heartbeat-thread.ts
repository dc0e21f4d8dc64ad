/**
 * Runs in a worker thread: sends this worker's heartbeats and notes the broker's. A thread, so that a
 * task that keeps the main event loop busy for minutes is not mistaken for a dead worker, while a
 * stopped or killed process (all threads) still falls silent.
 */
import { parentPort, workerData } from "node:worker_threads";
import { Dealer, Subscriber } from "zeromq";
import { encodeHeader, MessageType } from "../protocol/messages.js";
import { clientSocketOptions, type PoolKeys } from "../transport/curve.js";

interface HeartbeatThreadData {
  brokerAddress: string;
  metaAddress: string;
  index: number;
  token: string;
  interval: number;
  /** BigInt64Array over a SharedArrayBuffer: [0] = last time (ms) the broker was heard. */
  state: SharedArrayBuffer;
  keys?: PoolKeys;
}

const data = workerData as HeartbeatThreadData;
const lastHeard = new BigInt64Array(data.state);
// sendTimeout 0: a heartbeat that cannot be queued is dropped, never left pending (a pending send at
// thread exit aborts the process inside the native addon).
const curve = data.keys ? clientSocketOptions(data.keys) : {};
const dealer = new Dealer({ linger: 0, sendHighWaterMark: 4, sendTimeout: 0, ...curve });
const sub = new Subscriber({ linger: 0, ...curve });
dealer.connect(data.brokerAddress);
sub.connect(data.metaAddress);
// Only the broker's heartbeats: header [14] is msgpack 0x91 0x0e. Constants and the rest are the main thread's.
sub.subscribe(encodeHeader([MessageType.Heartbeat]));
const beat = encodeHeader([MessageType.Heartbeat, data.index, data.token]);

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
