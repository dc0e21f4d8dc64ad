// A worker whose WELCOME and the pool's SHUTDOWN arrive together (it joined as the origin finished)
// leaves at once, instead of waiting for a heartbeat timeout or a launcher's kill.
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { Router } from "zeromq";
import { encodeHeader, MessageType } from "../../src/protocol/messages.js";
import { PACKAGE_VERSION, PROTOCOL_VERSION } from "../../src/version.js";
import { exitOf, FIXTURES, killAll, startWorker, type Proc } from "../support/cluster.js";
import { freePort } from "../support/processes.js";

const procs: Proc[] = [];
after(() => killAll(procs));

test("WELCOME followed at once by SHUTDOWN: the worker exits 0 within a second", async () => {
  const port = await freePort();
  const broker = new Router({ linger: 1000 });
  await broker.bind(`tcp://127.0.0.1:${port}`);
  const w = startWorker(`${FIXTURES}scripts/whoami.ts`, [], {
    IS_ORIGIN: "0",
    WORKER_NAME: "late",
    BROKER_ADDRESS: `tcp://127.0.0.1:${port}`,
    META_ADDRESS: `tcp://127.0.0.1:${await freePort()}`,
  });
  procs.push(w);
  const [id] = await broker.receive();
  const welcome = {
    protocol: PROTOCOL_VERSION,
    version: PACKAGE_VERSION,
    brokerName: "broker",
    index: 1,
    size: 1,
    hosts: [],
    heartbeatInterval: 1000,
    heartbeatTimeout: 30_000,
    heartbeatToken: "t",
  };
  await broker.send([id!, encodeHeader([MessageType.Welcome, welcome, []])]);
  await broker.send([id!, encodeHeader([MessageType.Shutdown, 0])]);
  const t0 = Date.now();
  assert.equal(await exitOf(w, 20_000), 0, w.stderr);
  assert.ok(Date.now() - t0 < 1500, `left after ${Date.now() - t0} ms`);
  broker.close();
});
