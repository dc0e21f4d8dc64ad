// The origin's death ends the pool; the broker's death makes workers and the origin exit with one line.
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { brokerEnv, exitOf, FIXTURES, killAll, startBroker, startWorker, type Proc } from "../support/cluster.js";
import { listOurProcesses, waitFor } from "../support/processes.js";

const procs: Proc[] = [];
after(() => killAll(procs));
const SCRIPT = `${FIXTURES}faults/longmap.ts`;
const FAST_HEARTBEAT = ["--heartbeat-interval", "200", "--heartbeat-timeout", "1500", "-v"];

async function pool() {
  const broker = await startBroker(FAST_HEARTBEAT);
  procs.push(broker);
  const env = brokerEnv(broker);
  const workers = [1, 2].map((i) => startWorker(SCRIPT, [], { ...env, IS_ORIGIN: "0", WORKER_NAME: `d${i}` }));
  procs.push(...workers);
  await waitFor(() => (broker.stderr.match(/joined/g) ?? []).length >= 2, { timeout: 15_000, what: "workers to join" });
  const origin = startWorker(SCRIPT, ["100000"], env);
  procs.push(origin);
  await waitFor(() => origin.stdout.includes("PROGRESS"), { timeout: 30_000, what: "the map to be under way" });
  return { broker, workers, origin };
}

async function noneLeft(ps: Proc[]): Promise<void> {
  const pids = new Set(ps.map((p) => p.child.pid));
  const alive = (await listOurProcesses(SCRIPT)).filter((x) => pids.has(x.pid));
  assert.deepEqual(alive, []);
}

test("killing the origin ends the pool: every worker and the broker exit", async () => {
  const { broker, workers, origin } = await pool();
  const t0 = Date.now();
  origin.kill("SIGKILL");
  for (const w of workers) assert.equal(await exitOf(w, 10_000), 0, w.stderr);
  assert.equal(await exitOf(broker, 10_000), 0);
  assert.ok(Date.now() - t0 < 8000, "within the heartbeat timeout and a margin");
  assert.match(broker.stderr, /the origin was lost: ending the pool/);
  await noneLeft([broker, ...workers, origin]);
});

test("killing the broker: workers and the origin exit with a one-line message after the timeout", async () => {
  const { broker, workers, origin } = await pool();
  broker.kill("SIGKILL");
  for (const p of [...workers, origin]) {
    assert.equal(await exitOf(p, 15_000), 1, p.stderr);
    assert.match(p.stderr, /lost the broker at tcp:\/\/127\.0\.0\.1:\d+: silent for \d+ s; exiting/);
    assert.doesNotMatch(p.stderr, /\n\s+at /, "no stack trace");
  }
  await noneLeft([broker, ...workers, origin]);
});
