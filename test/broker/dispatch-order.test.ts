// Which asking worker the broker hands a task to: the one holding the fewest tasks when not all can
// get one; and a task that carries binary frames not back to the worker that submitted it while
// another worker is nearly free (the data would cross two sockets for nothing), but still to it
// once nobody else can take it. Protocol-level peers on a real broker.
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { makeTaskId, MessageType } from "../../src/protocol/messages.js";
import { barePeer, type BarePeer } from "../support/bare-peer.js";
import { killAll, startBroker, type BrokerProc, type Proc } from "../support/cluster.js";
import { waitFor } from "../support/processes.js";

const procs: Proc[] = [];
const peers: BarePeer[] = [];
after(() => {
  for (const p of peers) p.close();
  killAll(procs);
});

const peer = async (address: string, name: string): Promise<BarePeer> => {
  const p = await barePeer(address, name);
  peers.push(p);
  return p;
};

test("a task with binary frames goes to another asking worker first, and back to its submitter only when no one else asks", async () => {
  const broker = await startBroker(["--name", "broker"]);
  procs.push(broker);
  const a = await peer(broker.taskAddress, "a");
  const b = await peer(broker.taskAddress, "b");
  // a asks first (so a plain split would serve it first) and for more than b.
  await a.send([MessageType.Request, 10, 0]);
  await b.send([MessageType.Request, 2, 0]);
  await new Promise((r) => setTimeout(r, 100));
  const ids = [1, 2, 3, 4].map((seq) => makeTaskId(a.index, seq));
  const frames = ids.flatMap(() => [Buffer.from("envelope"), Buffer.alloc(64 * 1024, 7)]);
  await a.send([MessageType.Submit, ids, [2, 2, 2, 2]], frames);
  await waitFor(() => a.got.length + b.got.length === 4, { timeout: 5_000, what: "all four tasks dispatched" });
  assert.deepEqual(b.got, ids.slice(0, 2), "b, asking, takes a's data-carrying tasks while it has credit");
  assert.deepEqual(a.got, ids.slice(2), "the rest go back to a: nobody else asks");

  // A task without binary frames is shared as usual: a asks first, so it gets it.
  const small = makeTaskId(a.index, 5);
  await a.send([MessageType.Submit, [small], [1]], [Buffer.from("envelope")]);
  await waitFor(() => a.got.includes(small), { timeout: 5_000, what: "the small task to go to a" });
});

test("with fewer tasks than asking workers, the worker holding the fewest gets the next one", async () => {
  const broker = await startBroker(["--name", "broker"]);
  procs.push(broker);
  const a = await peer(broker.taskAddress, "a");
  const b = await peer(broker.taskAddress, "b");
  const c = await peer(broker.taskAddress, "c"); // c only submits
  await a.send([MessageType.Request, 10, 0]);
  await b.send([MessageType.Request, 10, 0]);
  await new Promise((r) => setTimeout(r, 100));
  const id = (seq: number) => makeTaskId(c.index, seq);
  const envelope = () => [Buffer.from("envelope")];
  // Three tasks, two asking workers: one gets two of them and now holds more.
  await c.send([MessageType.Submit, [id(1), id(2), id(3)], [1, 1, 1]], [...envelope(), ...envelope(), ...envelope()]);
  await waitFor(() => a.got.length + b.got.length === 3, { timeout: 5_000, what: "three tasks dispatched" });
  const [busier, lighter] = a.got.length > b.got.length ? [a, b] : [b, a];
  assert.equal(busier.got.length, 2);
  // One task at a time from now on: each goes to the one holding fewer, whatever the turn order.
  for (let seq = 4; seq <= 6; seq++) {
    await c.send([MessageType.Submit, [id(seq)], [1]], envelope());
    await waitFor(() => a.got.length + b.got.length === seq, { timeout: 5_000, what: `task ${seq} dispatched` });
  }
  assert.equal(lighter.got.length, 3, `${JSON.stringify({ a: a.got.length, b: b.got.length })}: the lighter one catches up first`);
  assert.equal(busier.got.length, 3);
});

/** A broker where worker a asked for 10 and holds all six tasks that submit-only client c sent. */
async function aHoldsSix(): Promise<{ broker: BrokerProc; a: BarePeer; c: BarePeer; ids: number[] }> {
  const broker = await startBroker(["--name", "broker"]);
  procs.push(broker);
  const a = await peer(broker.taskAddress, "a");
  const c = await peer(broker.taskAddress, "c"); // c only submits
  await a.send([MessageType.Request, 10, 0]);
  await new Promise((r) => setTimeout(r, 100));
  const ids = [1, 2, 3, 4, 5, 6].map((seq) => makeTaskId(c.index, seq));
  await c.send([MessageType.Submit, ids, [1, 1, 1, 1, 1, 1]], ids.map(() => Buffer.from("envelope")));
  await waitFor(() => a.got.length === 6, { timeout: 5_000, what: "a to hold all six" });
  return { broker, a, c, ids };
}

test("an idle worker with nothing queued makes the broker ask the busiest worker for half its unstarted tasks", async () => {
  const { broker, a, c, ids } = await aHoldsSix();
  const b = await peer(broker.taskAddress, "b");
  await b.send([MessageType.Request, 10, 1]); // idle
  await waitFor(() => a.releases.length === 1, { timeout: 5_000, what: "a RELEASE to a" });
  assert.equal(a.releases[0], 3, "half of what it holds");
  // a gives back two it has not started, and one id it never held (ignored).
  await a.send([MessageType.Returned, [ids[5]!, ids[4]!, makeTaskId(c.index, 99)]]);
  await waitFor(() => b.got.length === 2, { timeout: 5_000, what: "b to get the returned tasks" });
  assert.deepEqual([...b.got].sort(), [ids[4], ids[5]].sort());
  // Another idle report: a holds 4 (>= 3) and answered the last RELEASE, so it is asked again.
  await b.send([MessageType.Request, 0, 1]);
  await waitFor(() => a.releases.length === 2, { timeout: 5_000, what: "a second RELEASE" });
  assert.equal(a.releases[1], 2);
});

test("a worker that gives tasks back unasked gives up its credit: they go to the next worker that asks", async () => {
  const { broker, a, c, ids } = await aHoldsSix();
  // a finds its tasks long and returns the three it would reach last; it still had credit for four.
  await a.send([MessageType.Returned, [ids[3]!, ids[4]!, ids[5]!]]);
  await c.send([MessageType.Submit, [makeTaskId(c.index, 7)], [1]], [Buffer.from("envelope")]);
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(a.got.length, 6, "nothing comes back to a before it asks again");
  const b = await peer(broker.taskAddress, "b");
  await b.send([MessageType.Request, 2, 0]);
  await waitFor(() => b.got.length === 2, { timeout: 5_000, what: "b to get two" });
  assert.deepEqual(b.got, [ids[3], ids[4]], "the returned tasks first, in order");
  await a.send([MessageType.Request, 1, 0]);
  await waitFor(() => a.got.length === 7, { timeout: 5_000, what: "a to get one" });
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(a.got.length, 7, "only what it asked for now");
  assert.equal(a.got[6], ids[5]);
});
