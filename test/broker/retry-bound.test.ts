// Bounded retries: a task whose every worker dies is requeued --max-task-retries times, then its
// submitter gets WorkerLostError naming the lost workers; the rest of the pool carries on.
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { brokerEnv, exitOf, FIXTURES, killAll, startBroker, startWorker, type Proc } from "../support/cluster.js";
import { waitFor } from "../support/processes.js";

const procs: Proc[] = [];
after(() => killAll(procs));
const SCRIPT = `${FIXTURES}faults/suicide.ts`;

test("a task that kills every worker it lands on fails with WorkerLostError after the retry bound", async () => {
  const broker = await startBroker(["--heartbeat-interval", "200", "--heartbeat-timeout", "1500", "--max-task-retries", "1", "-v"]);
  procs.push(broker);
  const env = brokerEnv(broker);
  const workers = ["k1", "k2", "k3"].map((name) => startWorker(SCRIPT, [], { ...env, IS_ORIGIN: "0", WORKER_NAME: name }));
  procs.push(...workers);
  await waitFor(() => (broker.stderr.match(/joined/g) ?? []).length >= 3, { timeout: 15_000, what: "workers to join" });
  const origin = startWorker(SCRIPT, [], { ...env, SCOOP_EXECUTE: "0" });
  procs.push(origin);
  assert.equal(await exitOf(origin, 60_000), 0, origin.stderr);
  const out = JSON.parse(origin.stdout.trim().split("\n").pop()!);
  assert.equal(out.isLost, true);
  assert.equal(out.error, "WorkerLostError");
  assert.equal(out.code, "ERR_SCOOP_WORKER_LOST");
  assert.equal(out.workers.length, 2, "lost once, retried once, lost again: two workers named");
  for (const w of out.workers) assert.match(w, /^k[123]$/);
  assert.match(out.message, /task lost with 2 workers in a row: k[123], k[123]/);
  assert.equal(out.ok, 42, "other tasks are unaffected");
  assert.equal(await exitOf(broker), 0);
});
