// One message per task boundary: a RESULT may carry the worker's next REQUEST, and a worker that ran
// a task it submitted itself (shared through the broker, handed back) settles it at home and tells
// the broker with a frameless item, which the broker counts but does not send back. A frameless
// item for another submitter's task would lose that result: the broker refuses it and keeps the
// task held. Protocol-level peers on a real broker.
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { makeTaskId, MessageType } from "../../src/protocol/messages.js";
import { barePeer, type BarePeer } from "../support/bare-peer.js";
import { killAll, startBroker, type Proc } from "../support/cluster.js";
import { waitFor } from "../support/processes.js";

const procs: Proc[] = [];
const peers: BarePeer[] = [];
after(() => {
  for (const p of peers) p.close();
  killAll(procs);
});

const envelope = () => [Buffer.from("envelope")];

test("a RESULT with a folded REQUEST gets the next task; a frameless own result is not sent back", async () => {
  const broker = await startBroker(["--name", "broker"]);
  procs.push(broker);
  const a = await barePeer(broker.taskAddress, "a");
  peers.push(a);
  await a.send([MessageType.Request, 1, 0]);
  const ids = [1, 2, 3].map((seq) => makeTaskId(a.index, seq));
  await a.send([MessageType.Submit, ids, [1, 1, 1]], [...envelope(), ...envelope(), ...envelope()]);
  await waitFor(() => a.got.length === 1, { timeout: 5_000, what: "the first task" });
  assert.equal(a.got.length, 1, "credit 1: one task");
  // Done with its own task, settled at home: no frame; and the next request rides along.
  await a.send([MessageType.Result, [ids[0]!], [0], 2, 0]);
  await waitFor(() => a.got.length === 3, { timeout: 5_000, what: "the folded request to be served" });
  await a.send([MessageType.Result, [ids[1]!, ids[2]!], [0, 1], 0, 1], envelope());
  await waitFor(() => a.results.length === 1, { timeout: 5_000, what: "the result with a value to come back" });
  await new Promise((r) => setTimeout(r, 200));
  assert.deepEqual(a.results, [ids[2]], "frameless results are not echoed back; the one with a value is");
});

test("a frameless result for another submitter's task is refused and the task stays held", async () => {
  const broker = await startBroker(["--name", "broker", "--heartbeat-timeout", "60000"]);
  procs.push(broker);
  const a = await barePeer(broker.taskAddress, "a");
  const c = await barePeer(broker.taskAddress, "c"); // c only submits
  peers.push(a, c);
  await a.send([MessageType.Request, 1, 0]);
  const id = makeTaskId(c.index, 1);
  await c.send([MessageType.Submit, [id], [1]], envelope());
  await waitFor(() => a.got.length === 1, { timeout: 5_000, what: "the task to reach a" });
  await a.send([MessageType.Result, [id], [0]]);
  await new Promise((r) => setTimeout(r, 200));
  assert.deepEqual(c.results, [], "nothing was delivered to the submitter");
  // Still held by a: its real result goes through.
  await a.send([MessageType.Result, [id], [1]], [Buffer.from("value")]);
  await waitFor(() => c.results.length === 1, { timeout: 5_000, what: "the real result" });
  assert.deepEqual(c.results, [id]);
});
