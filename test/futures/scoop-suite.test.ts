// SCOOP's own test suite (test/tests.py) ported, and the SCOOP defects of SPEC §7 shown fixed, on real
// processes: a scoop-broker, the origin and, for the multi-worker run, two more scoop-workers. The
// fixture (test/fixtures/futures/suite.ts) runs every check in one process run and reports JSON.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { brokerEnv, exitOf, FIXTURES, killAll, startBroker, startWorker, type Proc } from "../support/cluster.js";
import { waitFor } from "../support/processes.js";

const procs: Proc[] = [];
const dirs: string[] = [];
after(() => {
  killAll(procs);
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const SUITE = `${FIXTURES}futures/suite.ts`;

/** Every check of tests.py, by name; the run must report each of them "ok". */
const SCOOP_CHECKS = [
  "TestMultiFunction small (n=4) is 77",
  "TestMultiFunction large (n=20) is 76153",
  "TestSingleFunction small (n=4) is 30",
  "TestSingleFunction large (n=20) is 2870",
  "TestMultiFunction partial (a bound-free wrapper of main) is 77",
  "TestMultiFunction execQueue: no future left pending after func0(6)",
  "TestApi as_Completed is 9455",
  "TestApi map is 9455",
  "TestApi map_lambda is 9455",
  "TestApi map_lambda_subfunc_not_global: a closure is refused at the call",
  "TestApi submit_with_keyword: an options object round-trips",
  "TestApi map_imported_func: Math.cos over 0..9",
  "TestApi submit is 100",
  "TestApi exception",
  "TestApi done",
  "TestApi cancel",
  "TestApi callback",
  "TestApi wait_no_timeout",
  "TestApi wait_with_timeout",
  "TestApi wait_nonblocking",
  "TestApi map_as_completed is 9455",
  "TestApi from_generator is 9455",
  "TestCoherent mapReduce is 1400",
  "TestCoherent doubleMapReduce",
  "TestCoherent mapScan is [100, 500, 1400]",
  "TestShared shareConstant: 100 tasks see the constants",
  "TestShared shareFunction: 100 tasks call a shared function",
];

/** The SPEC §7 defects that concern the API. */
const DEFECT_CHECKS = [
  "defect: timeouts are real (result, exception, wait, asCompleted, map, mapAsCompleted, mapReduce, mapScan, getConst)",
  "defect: FIRST_EXCEPTION is real (returns at the first failure, not when all are done)",
  "defect: cancel() marks the future done and its waiters get CancelledError",
  "defect: an error in a done callback is logged, never swallowed",
  "defect: map passes no keyword arguments silently: an unknown option is refused",
  "defect: mapScan is right for more than 2 items (and keeps order)",
  "defect: mapReduce on 0 and 1 items; initial; order kept",
];

interface Report {
  checks: Record<string, string>;
  values: Record<string, unknown>;
}

async function runSuite(workers: number): Promise<{ report: Report; origin: Proc; others: Proc[] }> {
  const dir = mkdtempSync(join(tmpdir(), "scoop-suite-"));
  dirs.push(dir);
  const broker = await startBroker(["-v"]);
  procs.push(broker);
  const env = { ...brokerEnv(broker), SCOOP_LOG_LEVEL: "info" };
  const others: Proc[] = [];
  for (let i = 1; i < workers; i++) others.push(startWorker(SUITE, [], { ...env, IS_ORIGIN: "0", WORKER_NAME: `w${i}` }));
  procs.push(...others);
  await waitFor(() => (broker.stderr.match(/joined/g) ?? []).length >= workers - 1, { timeout: 20_000, what: "the workers to join" });
  const origin = startWorker(SUITE, [dir], env);
  procs.push(origin);
  const code = await exitOf(origin, 120_000);
  assert.equal(code, 0, `origin exit code\n--- stdout ---\n${origin.stdout}\n--- stderr ---\n${origin.stderr}`);
  for (const w of others) assert.equal(await exitOf(w, 20_000), 0, `${w.stderr}`);
  assert.equal(await exitOf(broker, 20_000), 0, broker.stderr);
  const line = origin.stdout.split("\n").find((l) => l.startsWith('{"checks"'));
  assert.ok(line, `no report line in ${origin.stdout}`);
  return { report: JSON.parse(line) as Report, origin, others };
}

function assertAllOk(report: Report, names: string[]): void {
  const failed = Object.entries(report.checks).filter(([, v]) => v !== "ok");
  assert.deepEqual(failed, [], `failed checks:\n${failed.map(([k, v]) => `${k}: ${v}`).join("\n\n")}`);
  for (const n of names) assert.equal(report.checks[n], "ok", `check "${n}" did not run`);
}

for (const workers of [1, 3]) {
  test(`SCOOP's tests.py ported and SPEC §7 defects fixed, ${workers} worker(s)`, async () => {
    const { report, origin, others } = await runSuite(workers);
    assertAllOk(report, [...SCOOP_CHECKS, ...DEFECT_CHECKS]);
    const v = report.values;

    // SCOOP's expected values, as tests.py states them.
    assert.equal(v.multiSmall, 77);
    assert.equal(v.multiLarge, 76153);
    assert.equal(v.simpleSmall, 30);
    assert.equal(v.simpleLarge, 2870);
    assert.equal(v.asCompleted, 9455);
    assert.equal(v.map, 9455);
    assert.equal(v.mapLambda, 9455);
    assert.equal(v.mapReduce, 1400);
    assert.deepEqual(v.mapScan, [100, 500, 1400]);
    assert.deepEqual(v.keywords, { kwarg: 3.1415926 });
    assert.ok((v.cos as number) > 0.4 && (v.cos as number) < 0.5);

    // scoop.*: the pool as the origin sees it, and every worker took part.
    const info = v.info as { size: number; hosts: string[]; brokerName: string; workerName: string };
    assert.equal(info.size, workers);
    assert.equal(info.hosts.length, workers);
    assert.equal(info.brokerName, "broker");
    assert.equal(info.workerName, "origin");
    assert.deepEqual(v.workers, ["origin", ...others.map((_, i) => `w${i + 1}`)].sort());

    // Callback errors are logged by the worker that ran the callback, with its name.
    const all = [origin, ...others];
    const byName = new Map(all.map((p, i) => [i === 0 ? "origin" : `w${i}`, p]));
    assert.match(origin.stderr, /ERROR origin: error in a future's done callback: Error: callback boom in main/);
    for (const [i, w] of (v.callbackWorkers as string[]).entries()) {
      const p = byName.get(w)!;
      assert.match(p.stderr, new RegExp(`ERROR ${w}: error in a future's done callback: Error: callback boom t${i + 1} on ${w}`));
    }

    // The logger: levels (SCOOP_LOG_LEVEL=info hides debug) and the worker name on every line.
    for (const [name, p] of byName) {
      const records = p.stderr.split("\n").filter((l) => /^\[\d{4}-/.test(l));
      for (const l of records) assert.match(l, new RegExp(`^\\[\\S+\\] (DEBUG|INFO |WARN |ERROR) ${name}: `), `a log line of ${name} without its name: ${l}`);
      const lines = p.stderr.split("\n").filter((l) => l.includes("LOGCHECK"));
      for (const l of lines) assert.match(l, new RegExp(`^\\[\\S+\\] (INFO |WARN |ERROR) ${name}: LOGCHECK`), l);
      assert.ok(!lines.some((l) => l.includes("LOGCHECK debug")), `${name} printed a debug line at level info`);
    }
    assert.match(origin.stderr, /INFO  origin: LOGCHECK info main/);
    assert.match(origin.stderr, /WARN  origin: LOGCHECK warn main/);
    assert.match(origin.stderr, /ERROR origin: LOGCHECK error main/);
    for (const [i, w] of (v.logWorkers as string[]).entries()) {
      assert.match(byName.get(w)!.stderr, new RegExp(`INFO  ${w}: LOGCHECK info task${i}\\n`));
      assert.match(byName.get(w)!.stderr, new RegExp(`ERROR ${w}: LOGCHECK error task${i}\\n`));
    }
  });
}
