// cancel(): a task that has not started never runs (SPEC §3 Future.cancel, SPEC §7 "cancel() leaves
// the future not-done"). A side-effect file records every task that ran.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { brokerEnv, exitOf, FIXTURES, killAll, startBroker, startWorker, type Proc } from "../support/cluster.js";
import { waitFor } from "../support/processes.js";

const procs: Proc[] = [];
const dir = mkdtempSync(join(tmpdir(), "scoop-cancel-"));
after(() => {
  killAll(procs);
  rmSync(dir, { recursive: true, force: true });
});

const SCRIPT = `${FIXTURES}futures/cancel.ts`;

interface Report {
  sizeBefore: number;
  doneBeforeCancel: number;
  cancelReturns: boolean[];
  doneAfterCancel: boolean;
  waiters: string[];
  after: number;
  ranA: string[];
  sameTurnCancelReturns: boolean[];
  ranB: string[];
}

let report: Report | undefined;

test("a task cancelled while it waits in the broker's queue is done, its waiters get CancelledError, and it never runs", async () => {
  const broker = await startBroker(["-v"]);
  procs.push(broker);
  const env = brokerEnv(broker);
  const file = join(dir, "ran.txt");
  const origin = startWorker(SCRIPT, [file], { ...env, SCOOP_EXECUTE: "0" });
  procs.push(origin);
  await waitFor(() => origin.stdout.includes("CANCELLED") || origin.child.exitCode !== null, { timeout: 20_000, what: "the origin to cancel" });
  const w1 = startWorker(SCRIPT, [], { ...env, IS_ORIGIN: "0", WORKER_NAME: "w1" });
  procs.push(w1);
  assert.equal(await exitOf(origin, 60_000), 0, origin.stderr);
  assert.equal(await exitOf(w1, 20_000), 0, w1.stderr);
  assert.equal(await exitOf(broker, 20_000), 0, broker.stderr);
  report = JSON.parse(origin.stdout.split("\n").find((l) => l.startsWith("{"))!) as Report;
  assert.equal(report.sizeBefore, 0, "no worker executed tasks while they were cancelled");
  assert.equal(report.doneBeforeCancel, 0);
  assert.deepEqual(new Set(report.cancelReturns), new Set([true]), "cancel() of a queued task returns true");
  assert.equal(report.doneAfterCancel, true, "a cancelled future is done");
  assert.deepEqual(report.waiters, ["CancelledError"], "every waiter got CancelledError");
  assert.equal(report.after, 20);
  assert.deepEqual(
    report.ranA.filter((l) => l.startsWith("queued")),
    [],
    "a cancelled task ran",
  );
  assert.equal(report.ranA.filter((l) => l.startsWith("after")).length, 20, "the tasks submitted after the cancel ran");
});

test("a task cancelled in the turn it was submitted never runs", () => {
  assert.ok(report, "runs after the first test");
  assert.deepEqual(report.sameTurnCancelReturns, [true]);
  assert.deepEqual(report.ranB, [], "tasks cancelled in the turn they were submitted ran");
});
