// The seed's manual launch, end to end: broker, then non-origin workers by env vars, then the origin.
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { brokerEnv, exitOf, FIXTURES, killAll, startBroker, startWorker, type Proc } from "../support/cluster.js";
import { freePort, listOurProcesses, waitFor } from "../support/processes.js";

const procs: Proc[] = [];
after(() => killAll(procs));

const SPREAD = `${FIXTURES}scripts/spread.ts`;

test("broker, two workers by env vars, then the origin: correct results, work on all three, everything exits", async () => {
  const broker = await startBroker(["-v"]);
  procs.push(broker);
  const env = brokerEnv(broker);
  const w1 = startWorker(SPREAD, [], { ...env, IS_ORIGIN: "0", WORKER_NAME: "w1" });
  const w2 = startWorker(SPREAD, [], { ...env, IS_ORIGIN: "0", WORKER_NAME: "w2" });
  procs.push(w1, w2);
  await waitFor(() => (broker.stderr.match(/joined/g) ?? []).length >= 2, { timeout: 15_000, what: "w1 and w2 to join" });
  const origin = startWorker(SPREAD, ["60"], env);
  procs.push(origin);
  assert.equal(await exitOf(origin), 0, origin.stderr);
  const out = JSON.parse(origin.stdout.trim());
  const expected = Array.from({ length: 60 }, (_, i) => i * i).reduce((a, b) => a + b, 0);
  assert.equal(out.sum, expected);
  assert.deepEqual(out.workers, ["origin", "w1", "w2"]);
  assert.equal(out.isOrigin, true);
  assert.equal(await exitOf(w1), 0, w1.stderr);
  assert.equal(await exitOf(w2), 0, w2.stderr);
  assert.equal(await exitOf(broker), 0, broker.stderr);
  for (const p of [broker, w1, w2, origin]) {
    assert.equal((await listOurProcesses(`${p.child.pid}`)).filter((x) => x.pid === p.child.pid).length, 0);
  }
});

test("workers started before the broker wait for it and then work", async () => {
  const tPort = await freePort();
  const mPort = await freePort();
  const env = { BROKER_ADDRESS: `tcp://127.0.0.1:${tPort}`, META_ADDRESS: `tcp://127.0.0.1:${mPort}` };
  const w1 = startWorker(SPREAD, [], { ...env, IS_ORIGIN: "0", WORKER_NAME: "early1" });
  const w2 = startWorker(SPREAD, [], { ...env, IS_ORIGIN: "0", WORKER_NAME: "early2" });
  procs.push(w1, w2);
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(w1.child.exitCode, null, "an early worker must wait, not exit");
  const broker = await startBroker(["--tPort", String(tPort), "--mPort", String(mPort), "-v"]);
  procs.push(broker);
  await waitFor(() => (broker.stderr.match(/joined/g) ?? []).length >= 2, { timeout: 15_000, what: "early workers to join" });
  const origin = startWorker(SPREAD, ["40"], env);
  procs.push(origin);
  assert.equal(await exitOf(origin), 0, origin.stderr);
  assert.deepEqual(JSON.parse(origin.stdout).workers, ["early1", "early2", "origin"]);
  assert.equal(await exitOf(w1), 0);
  assert.equal(await exitOf(w2), 0);
  assert.equal(await exitOf(broker), 0);
});

test("a worker that joins late gets the constants set before it came, and takes tasks", async () => {
  const broker = await startBroker();
  procs.push(broker);
  const env = brokerEnv(broker);
  const script = `${FIXTURES}scripts/latejoin.ts`;
  const origin = startWorker(script, [], env);
  procs.push(origin);
  await waitFor(() => origin.stdout.includes("READY"), { timeout: 15_000, what: "the origin to set its constant" });
  const late = startWorker(script, [], { ...env, IS_ORIGIN: "0", WORKER_NAME: "late" });
  procs.push(late);
  assert.equal(await exitOf(origin), 0, origin.stderr);
  const line = origin.stdout.split("\n").find((l) => l.startsWith("{"))!;
  const out = JSON.parse(line);
  assert.deepEqual(out.late, { answer: 42 });
  assert.equal(out.size, 2);
  assert.equal(await exitOf(late), 0, late.stderr);
  assert.equal(await exitOf(broker), 0);
});
