// Handshake refusals: version mismatch (both directions), duplicate WORKER_NAME, wrong BROKER_NAME.
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { Dealer, Router } from "zeromq";
import { decodeHeader, encodeHeader, MessageType } from "../../src/protocol/messages.js";
import { PACKAGE_VERSION, PROTOCOL_VERSION } from "../../src/version.js";
import { brokerEnv, exitOf, FIXTURES, killAll, startBroker, startWorker, type Proc } from "../support/cluster.js";
import { freePort, waitFor } from "../support/processes.js";

const procs: Proc[] = [];
after(() => killAll(procs));
const WHOAMI = `${FIXTURES}scripts/whoami.ts`;
const SPREAD = `${FIXTURES}scripts/spread.ts`;

const hello = (over: Record<string, unknown>) => ({
  protocol: PROTOCOL_VERSION,
  version: PACKAGE_VERSION,
  name: "raw",
  brokerName: "broker",
  origin: false,
  host: "test",
  pid: 1,
  executes: true,
  ...over,
});

async function rawHello(address: string, info: Record<string, unknown>): Promise<unknown[]> {
  const d = new Dealer({ linger: 0, receiveTimeout: 5000 });
  d.connect(address);
  await d.send([encodeHeader([MessageType.Hello, info as never])]);
  const frames = await d.receive();
  d.close();
  return decodeHeader(frames[0]!, frames.length - 1);
}

test("the broker refuses another version with one line naming both", async () => {
  const broker = await startBroker();
  procs.push(broker);
  const reply = await rawHello(broker.taskAddress, hello({ version: "9.9.9", protocol: 99 }));
  assert.equal(reply[0], MessageType.Refuse);
  assert.equal(
    reply[1],
    `version mismatch: worker "raw" runs scoop 9.9.9 (protocol 99), broker "broker" runs scoop ${PACKAGE_VERSION} (protocol ${PROTOCOL_VERSION})`,
  );
  broker.kill("SIGTERM");
  assert.equal(await exitOf(broker), 0);
});

test("a worker refuses a broker of another version: one line naming both, exit 2", async () => {
  const port = await freePort();
  const fake = new Router({ linger: 0 });
  await fake.bind(`tcp://127.0.0.1:${port}`);
  const serve = (async () => {
    const [id] = await fake.receive();
    const welcome = { protocol: 99, version: "9.9.9", brokerName: "broker", index: 1, size: 1, hosts: [] };
    await fake.send([id!, encodeHeader([MessageType.Welcome, welcome, []])]);
  })();
  const w = startWorker(WHOAMI, [], { BROKER_ADDRESS: `tcp://127.0.0.1:${port}`, META_ADDRESS: `tcp://127.0.0.1:${await freePort()}` });
  procs.push(w);
  assert.equal(await exitOf(w), 2);
  await serve;
  fake.close();
  assert.equal(
    w.stderr.trim(),
    `scoop-worker: version mismatch: broker "broker" runs scoop 9.9.9 (protocol 99), this worker runs scoop ${PACKAGE_VERSION} (protocol ${PROTOCOL_VERSION})`,
  );
});

test("a duplicate WORKER_NAME is refused with a clear message", async () => {
  const broker = await startBroker(["-v"]);
  procs.push(broker);
  const env = brokerEnv(broker);
  const first = startWorker(SPREAD, [], { ...env, IS_ORIGIN: "0", WORKER_NAME: "twin" });
  procs.push(first);
  await waitFor(() => broker.stderr.includes("twin joined"), { timeout: 15_000, what: "the first twin to join" });
  const second = startWorker(SPREAD, [], { ...env, IS_ORIGIN: "0", WORKER_NAME: "twin" });
  procs.push(second);
  assert.equal(await exitOf(second), 2);
  assert.match(second.stderr.trim(), /^scoop-worker: broker refused this worker: worker name "twin" is already used by .* pid \d+; this one is .* pid \d+/);
  assert.equal(second.stderr.trim().split("\n").length, 1);
  const origin = startWorker(SPREAD, ["4"], env);
  procs.push(origin);
  assert.equal(await exitOf(origin), 0, origin.stderr);
  assert.equal(await exitOf(first), 0);
});

test("a wrong BROKER_NAME is refused naming both names", async () => {
  const broker = await startBroker(["--name", "alpha"]);
  procs.push(broker);
  const w = startWorker(WHOAMI, [], { ...brokerEnv(broker), BROKER_NAME: "beta" });
  procs.push(w);
  assert.equal(await exitOf(w), 2);
  assert.equal(
    w.stderr.trim(),
    `scoop-worker: broker refused this worker: worker "origin" expects broker "beta" (BROKER_NAME) but this broker is "alpha"`,
  );
  broker.kill("SIGTERM");
  await exitOf(broker);
});
