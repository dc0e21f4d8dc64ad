// SPEC §4 across real processes: every value kind, a 64 MiB typed array, errors, function rules.
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { brokerEnv, exitOf, FIXTURES, killAll, startBroker, startWorker, type Proc } from "../support/cluster.js";
import { waitFor } from "../support/processes.js";

const procs: Proc[] = [];
after(() => killAll(procs));

test("values, errors and functions travel between workers as SPEC §4 says", async () => {
  const broker = await startBroker(["-v"]);
  procs.push(broker);
  const env = brokerEnv(broker);
  const script = `${FIXTURES}scripts/values.ts`;
  const w = startWorker(script, [], { ...env, IS_ORIGIN: "0", WORKER_NAME: "other" });
  procs.push(w);
  await waitFor(() => broker.stderr.includes("other joined"), { timeout: 15_000, what: "worker to join" });
  // Only the other worker executes tasks here, so every value really crosses a process boundary.
  const origin = startWorker(script, [], { ...env, SCOOP_EXECUTE: "0" });
  procs.push(origin);
  assert.equal(await exitOf(origin, 120_000), 0, origin.stderr);
  const report = JSON.parse(origin.stdout.trim().split("\n").pop()!);
  for (const key of ["undefined", "-0", "BigInt", "Map", "Set", "Date", "RegExp", "BigUint64Array", "DataView", "Error", "cycle", "class instance", "64 MiB Float64Array", "task errors", "functions"]) {
    assert.equal(report[key], "ok", key);
  }
  assert.equal(await exitOf(w), 0);
  assert.equal(await exitOf(broker), 0);
});
