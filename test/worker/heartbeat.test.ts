// The heartbeat thread beats to the broker on its own socket; stopped before it has started (a run
// shorter than a thread's start), it opens no socket at all, so the process need not wait for it.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Router } from "zeromq";
import type { HeartbeatMonitor as Monitor } from "../../src/worker/heartbeat.js";
import { ROOT } from "../support/cluster.js";

// The built module: its thread is a separate file that a worker thread loads without the TS loader.
const { HeartbeatMonitor } = (await import(`${ROOT}dist/worker/heartbeat.js`)) as { HeartbeatMonitor: typeof Monitor };

async function fakeBroker(): Promise<{ router: Router; address: string; accepted: () => number }> {
  const router = new Router({ linger: 0 });
  await router.bind("tcp://127.0.0.1:*");
  let accepted = 0;
  void (async () => {
    for await (const e of router.events) if (e.type === "accept") accepted++;
  })().catch(() => {});
  return { router, address: router.lastEndpoint!, accepted: () => accepted };
}

const monitor = (address: string) =>
  new HeartbeatMonitor({ brokerAddress: address, metaAddress: address, index: 1, token: "t", interval: 20, timeout: 60_000, onBrokerLost() {} });

test("a running heartbeat thread connects and beats; stop() waits for it to close", async () => {
  const b = await fakeBroker();
  const m = monitor(b.address);
  const [frames] = await Promise.all([b.router.receive()]);
  assert.ok(frames.length >= 2, "a heartbeat came");
  assert.ok(b.accepted() >= 1);
  await m.stop();
  b.router.close();
});

test("a heartbeat thread stopped while booting never opens a socket", async () => {
  const b = await fakeBroker();
  const m = monitor(b.address);
  await m.stop();
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(b.accepted(), 0, "no connection was ever made");
  b.router.close();
});
