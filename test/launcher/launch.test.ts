// `scoop` on this machine, end to end with real processes: results and exit codes, options that
// reach the workers, failure reports, Ctrl-C, and no process left behind whatever happens.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { waitFor } from "../support/processes.js";
import { FIXTURES, leftovers, ROOT, scoop, scoopRun, uniqueMarker } from "./scoop-helpers.js";

const SPREAD = `${ROOT}test/fixtures/scripts/spread.ts`;
const LONG = `${FIXTURES}long.ts`;
const FACTS = `${FIXTURES}facts.ts`;
const tmp = mkdtempSync(join(tmpdir(), "scoop-launch-test-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

test("-n 3: correct results, every worker took part, the distribution is printed at -v, IPC only, nothing left", async () => {
  const marker = uniqueMarker();
  const r = await scoopRun(["-n", "3", "-vv", SPREAD, "60", marker, "3"]);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.equal(out.sum, Array.from({ length: 60 }, (_, i) => i * i).reduce((a, b) => a + b, 0));
  assert.deepEqual(out.workers, ["origin", "w1", "w2"]);
  assert.match(r.stderr, /3 workers on 1 host; hosts from this machine[^\n]*:\n\s+127\.0\.0\.1\s+3 workers \(origin, w1, w2\)/);
  assert.match(r.stderr, /worker w2 joined/);
  assert.match(r.stderr, /broker scoop-\d+ on ipc:\/\//, "one machine: IPC sockets, nothing on the network");
  assert.deepEqual(await leftovers(marker), []);
});

test("exit status is the origin's: 1 when main throws (stack printed), 2 without main, arguments reach main", async () => {
  const [fails, nomain, args] = await Promise.all([
    scoopRun(["-n", "2", `${ROOT}test/fixtures/scripts/fails.ts`]),
    scoopRun(["-n", "2", `${ROOT}test/fixtures/scripts/nomain.ts`]),
    scoopRun(["-n", "1", `${ROOT}test/fixtures/scripts/whoami.ts`, "a b", "--flag", "-n", "7"]),
  ]);
  assert.equal(fails.code, 1, fails.stderr);
  assert.match(fails.stderr, /RangeError: main failed on purpose\n\s+at (Module\.)?main/);
  assert.equal(nomain.code, 2, nomain.stderr);
  assert.match(nomain.stderr, /no exported main\(\) function/);
  assert.equal(args.code, 0, args.stderr);
  assert.deepEqual(JSON.parse(args.stdout).argv, ["a b", "--flag", "-n", "7"]);
});

test("--nice and --node-options reach every worker; --log takes the launcher's log", async () => {
  const log = join(tmp, "launch.log");
  const r = await scoopRun(["-n", "2", "--nice", "7", "--node-options", "--max-old-space-size=300 --no-warnings", "-v", "--log", log, FACTS, "2"]);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.equal(out.originNice, 7);
  for (const f of out.facts) {
    assert.equal(f.nice, 7, JSON.stringify(f));
    assert.ok(f.execArgv.includes("--max-old-space-size=300") && f.execArgv.includes("--no-warnings"), JSON.stringify(f.execArgv));
  }
  assert.doesNotMatch(r.stderr, /INFO/, "the log went to the file");
  assert.match(readFileSync(log, "utf8"), /INFO {2}scoop: 2 workers on 1 host[\s\S]*worker w1 joined[\s\S]*origin done, status 0/);
});

test("a worker that fails to start is reported with its stderr and the run stops (exit 1), once", async () => {
  const marker = uniqueMarker();
  const r = await scoopRun(["-n", "3", "--node-options", "--no-such-node-flag", SPREAD, "10", marker]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /worker (origin|w1|w2) on 127\.0\.0\.1 failed to start \(exit code 9\):\n\s+.*bad option: --no-such-node-flag/);
  assert.equal(r.stderr.match(/failed to start/g)?.length, 1, `one report, not one per worker:\n${r.stderr}`);
  assert.deepEqual(await leftovers(marker), []);
});

test("--debug writes per-worker task traces and broker samples; --profile one .cpuprofile per worker", async () => {
  const debug = join(tmp, "debug");
  const profile = join(tmp, "profile");
  const r = await scoopRun(["-n", "2", "--debug", debug, "--profile", profile, FACTS, "2"]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(readdirSync(debug).sort(), ["broker.jsonl", "launch.json", "origin.jsonl", "w1.jsonl"]);
  const records = ["origin", "w1"].flatMap((w) =>
    readFileSync(join(debug, `${w}.jsonl`), "utf8").split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as Record<string, unknown>),
  );
  // The facts tasks (the fixture first runs a few whoRuns tasks until both workers answer).
  const factIds = new Set(records.filter((x) => x.ev === "submit" && /facts/.test(String(x.fn))).map((x) => x.id));
  const starts = records.filter((x) => x.ev === "start" && factIds.has(x.id));
  const ends = records.filter((x) => x.ev === "end" && factIds.has(x.id));
  const submits = records.filter((x) => x.ev === "submit" && factIds.has(x.id));
  assert.equal(submits.length, 12);
  assert.equal(starts.length, 12);
  assert.equal(ends.length, 12);
  const submitted = new Map(submits.map((x) => [x.id, x]));
  for (const s of starts) {
    const sub = submitted.get(s.id);
    assert.ok(sub, "start and submit records join by task id");
    assert.match(String(s.fn), /facts/);
    assert.equal(typeof s.queued, "number");
    const end = ends.find((e) => e.id === s.id)!;
    assert.ok((sub.t as number) <= (s.t as number) + 1 && (s.t as number) <= (end.t as number), "submit <= start <= end");
    assert.ok((end.t as number) - (s.t as number) >= 25, "a task lasts its 30 ms");
  }
  for (const x of starts) assert.ok(x.worker === "origin" || x.worker === "w1");
  const samples = readFileSync(join(debug, "broker.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
  assert.ok(samples.length >= 1 && samples.every((s) => typeof s.queue === "number"));
  const last = samples.at(-1);
  // (a worker may keep some of its own tasks without the broker: not every task went through it)
  const all = records.filter((x) => x.ev === "submit").length;
  assert.ok(last.completed === last.submitted && last.submitted >= 1 && last.submitted <= all && last.workers === 2, JSON.stringify(last));
  assert.deepEqual(readdirSync(profile).sort(), ["origin.cpuprofile", "w1.cpuprofile"]);
  // The main thread's profile (where tasks run), not one of the helper threads' (module loader,
  // heartbeat), which write profiles too.
  for (const w of ["origin", "w1"]) {
    const prof = JSON.parse(readFileSync(join(profile, `${w}.cpuprofile`), "utf8")) as { nodes: { callFrame: { functionName: string } }[] };
    assert.ok(prof.nodes.some((n) => n.callFrame.functionName === "facts"), `${w}: the task function is in the profile`);
  }
});

test("Ctrl-C in the middle of a run stops every worker within 2 s, exit 130, no process left", async () => {
  const marker = uniqueMarker();
  const run = scoop(["-n", "3", "-v", LONG, "200", "2000", marker]);
  await run.waitStdout(/started/);
  await run.waitStderr(/(joined[\s\S]*){3}/);
  assert.equal((await leftovers(marker)).filter((p) => p.pid !== run.child.pid).length, 3, "three workers run");
  const t0 = Date.now();
  run.child.kill("SIGINT");
  const { code, at } = await run.exited;
  assert.ok(at - t0 < 2000, `stopped in ${at - t0} ms`);
  assert.equal(code, 130, run.stderr);
  assert.deepEqual(await leftovers(marker), []);
});

test("workers stuck in a long task are killed; SIGTERM works like Ctrl-C", async () => {
  const marker = uniqueMarker();
  const run = scoop(["-n", "2", "-v", LONG, "20000", "10", marker]);
  await run.waitStdout(/started/);
  await run.waitStderr(/(joined[\s\S]*){2}/);
  await new Promise((r) => setTimeout(r, 300)); // both workers are inside a 20 s task now
  const t0 = Date.now();
  run.child.kill("SIGTERM");
  const { code, at } = await run.exited;
  assert.ok(at - t0 < 2000, `stopped in ${at - t0} ms`);
  assert.equal(code, 143, run.stderr);
  assert.deepEqual(await leftovers(marker), []);
});

test("even a SIGKILLed launcher leaves no worker behind (lifeline)", async () => {
  const marker = uniqueMarker();
  const run = scoop(["-n", "2", "-v", LONG, "100", "2000", marker]);
  await run.waitStdout(/started/);
  run.child.kill("SIGKILL");
  await run.exited;
  await waitFor(async () => (await leftovers(marker)).length === 0, { timeout: 5000, what: "the workers to notice their launcher is gone" });
  assert.ok(!existsSync(join(tmp, "never")));
});
