// Never lose a result: a worker killed (-9), stopped (SIGSTOP), or holding the most prefetched tasks,
// in the middle of a 10,000-task map. The map completes, every result correct and delivered once.
// And never drop a live one: a worker busy in a long synchronous task still beats (its own thread).
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { brokerEnv, exitOf, FIXTURES, killAll, startBroker, startWorker, type Proc } from "../support/cluster.js";
import { waitFor } from "../support/processes.js";

const procs: Proc[] = [];
after(() => killAll(procs));
const SCRIPT = `${FIXTURES}faults/longmap.ts`;
const FAST_HEARTBEAT = ["--heartbeat-interval", "200", "--heartbeat-timeout", "1500", "-v"];

async function pool(victimEnv: Record<string, string> = {}, mode = "map") {
  const broker = await startBroker(FAST_HEARTBEAT);
  procs.push(broker);
  const env = brokerEnv(broker);
  const victim = startWorker(SCRIPT, [], { ...env, IS_ORIGIN: "0", WORKER_NAME: "victim", ...victimEnv });
  const survivor = startWorker(SCRIPT, [], { ...env, IS_ORIGIN: "0", WORKER_NAME: "survivor" });
  procs.push(victim, survivor);
  await waitFor(() => (broker.stderr.match(/joined/g) ?? []).length >= 2, { timeout: 15_000, what: "workers to join" });
  const origin = startWorker(SCRIPT, ["10000", mode], { ...env, SCOOP_EXECUTE: "0" });
  procs.push(origin);
  await waitFor(() => origin.stdout.includes("PROGRESS"), { timeout: 30_000, what: "the map to be under way" });
  return { broker, victim, survivor, origin };
}

function checkReport(origin: Proc): Record<string, number> {
  const report = JSON.parse(origin.stdout.trim().split("\n").pop()!);
  assert.equal(report.got, 10_000, "every result delivered exactly once");
  assert.equal(report.bad, 0, "every result correct and in order");
  return report.byWorker;
}

test("kill -9 of a worker in the middle of a 10,000-task map: the map completes", async () => {
  const { broker, victim, survivor, origin } = await pool();
  victim.kill("SIGKILL");
  assert.equal(await exitOf(origin, 60_000), 0, origin.stderr);
  const byWorker = checkReport(origin);
  assert.ok(byWorker.survivor! > 0);
  assert.match(broker.stderr, /worker victim lost \(silent for \d+ ms\); \d+ task\(s\) requeued/);
  assert.equal(await exitOf(survivor), 0);
  assert.equal(await exitOf(broker), 0);
});

test("a silent worker (SIGSTOP) is dropped, its tasks run elsewhere, and it leaves when it wakes", async () => {
  const { broker, victim, survivor, origin } = await pool();
  victim.kill("SIGSTOP");
  assert.equal(await exitOf(origin, 60_000), 0, origin.stderr);
  checkReport(origin);
  assert.match(broker.stderr, /worker victim lost/);
  victim.kill("SIGCONT");
  // Its late results are discarded (the report above already counted each result once); it is told so.
  assert.notEqual(await exitOf(victim, 20_000), null, "the woken worker must exit by itself");
  assert.equal(await exitOf(survivor), 0);
  await exitOf(broker);
});

test("killing the worker that holds the most prefetched tasks loses nothing", async () => {
  // The victim asks for 3,000 tasks at a time, so it holds far more than the survivor when it dies.
  const { broker, victim, survivor, origin } = await pool({ SCOOP_PREFETCH: "3000" }, "submit");
  victim.kill("SIGKILL");
  assert.equal(await exitOf(origin, 60_000), 0, origin.stderr);
  checkReport(origin);
  const requeued = Number(/worker victim lost \(silent for \d+ ms\); (\d+) task\(s\) requeued/.exec(broker.stderr)?.[1]);
  assert.ok(requeued > 100, `the victim held many tasks (requeued ${requeued})`);
  assert.equal(await exitOf(survivor), 0);
  assert.equal(await exitOf(broker), 0);
});

test("a worker busy in one synchronous task for twice the heartbeat timeout stays in the pool", async () => {
  const broker = await startBroker(FAST_HEARTBEAT);
  procs.push(broker);
  const env = brokerEnv(broker);
  const script = `${FIXTURES}faults/busy.ts`;
  const busy = startWorker(script, [], { ...env, IS_ORIGIN: "0", WORKER_NAME: "busy" });
  procs.push(busy);
  await waitFor(() => broker.stderr.includes("joined"), { timeout: 15_000, what: "the worker to join" });
  const origin = startWorker(script, ["3200"], { ...env, SCOOP_EXECUTE: "0" });
  procs.push(origin);
  assert.equal(await exitOf(origin, 30_000), 0, origin.stderr);
  assert.deepEqual(JSON.parse(origin.stdout.trim()), { who: "busy" });
  assert.doesNotMatch(broker.stderr, /lost/, "a busy worker is not a dead one");
  assert.equal(await exitOf(busy), 0);
  await exitOf(broker);
});
