// `scoop trace DIR`: reading the traces of `scoop --debug DIR` (joined by task id across files), the
// summary, the Chrome trace events, and the timeline page in a real headless Chromium.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { summarize, formatSummary } from "../../src/observe/trace/analyze.js";
import { toChromeTrace, type TraceEvent } from "../../src/observe/trace/chrome.js";
import { loadTrace } from "../../src/observe/trace/load.js";
import { ROOT, SCOOP_CLI, scoopRun } from "../launcher/scoop-helpers.js";

const FIXTURES = join(ROOT, "test/fixtures/observe-trace");
const SAMPLE = join(FIXTURES, "sample");
const CHROMIUM = "/usr/bin/chromium";
const ARTIFACTS = join(ROOT, "test-artifacts");
const tmp = mkdtempSync(join(tmpdir(), "scoop-trace-test-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

function traceCli(args: string[]) {
  const r = spawnSync(process.execPath, [SCOOP_CLI, "trace", ...args], { cwd: ROOT, encoding: "utf8", timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Tasks run by test/fixtures/observe-trace/fib.ts: 2 at or below the cutoff (fib and its leaf), else 1 + T(n-1) + T(n-2). */
function fibTasks(n: number, cutoff: number): { fib: number; leaf: number } {
  if (n <= cutoff) return { fib: 1, leaf: 1 };
  const a = fibTasks(n - 1, cutoff);
  const b = fibTasks(n - 2, cutoff);
  return { fib: 1 + a.fib + b.fib, leaf: a.leaf + b.leaf };
}

function jsonl(file: string): Array<Record<string, unknown>> {
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

function checkChromeShape(events: TraceEvent[]): void {
  for (const e of events) {
    assert.equal(typeof e.name, "string");
    assert.ok(["X", "s", "f", "C", "M"].includes(e.ph), `phase ${e.ph}`);
    assert.equal(typeof e.pid, "number");
    if (e.ph !== "M") assert.ok(typeof e.ts === "number" && e.ts >= 0 && Number.isFinite(e.ts), JSON.stringify(e));
    if (e.ph === "X") assert.ok(typeof e.tid === "number" && typeof e.dur === "number" && e.dur >= 0, JSON.stringify(e));
  }
  // Flows: every start has its finish, and a start lies inside a task of the same thread.
  const starts = events.filter((e) => e.ph === "s");
  const finishes = new Map(events.filter((e) => e.ph === "f").map((e) => [e.id, e]));
  assert.equal(finishes.size, starts.length);
  const slices = events.filter((e) => e.ph === "X");
  for (const s of starts) {
    const f = finishes.get(s.id);
    assert.ok(f && f.bp === "e", `flow ${s.id} finishes`);
    assert.ok(
      slices.some((x) => x.pid === s.pid && x.tid === s.tid && x.ts! <= s.ts! && s.ts! <= x.ts! + x.dur!),
      `flow start ${JSON.stringify(s)} inside its parent's slice`,
    );
    assert.ok(slices.some((x) => x.pid === f.pid && x.tid === f.tid && x.ts === f.ts), `flow end ${JSON.stringify(f)} at its child's start`);
  }
  // Slices on one thread never overlap (so every viewer lays them out as they are).
  const byThread = new Map<string, TraceEvent[]>();
  for (const x of slices) (byThread.get(`${x.pid}/${x.tid}`) ?? byThread.set(`${x.pid}/${x.tid}`, []).get(`${x.pid}/${x.tid}`)!).push(x);
  for (const list of byThread.values()) {
    list.sort((a, b) => a.ts! - b.ts!);
    for (let i = 1; i < list.length; i++) assert.ok(list[i]!.ts! >= list[i - 1]!.ts! + list[i - 1]!.dur! - 0.001, "no overlap on a thread");
  }
}

test("a hand-made trace: runs joined by task id across files, parents, retries, failures, a truncated line", () => {
  const data = loadTrace(SAMPLE);
  assert.deepEqual(data.workers, ["origin", "w1", "w2"], "pool order from launch.json");
  assert.equal(data.runs.length, 5, "A, B, C, and D twice (lost on w2, run again on origin)");
  const run = (id: number, worker: string) => data.runs.find((r) => r.id === id && r.worker === worker)!;
  assert.equal(run(1, "w1").suspend, 1000115);
  assert.equal(run(1, "w1").submit?.worker, "origin");
  assert.equal(run(1, "w1").submit?.parent, undefined, "submitted by main");
  assert.equal(run(2, "w1").submit?.parent, 1);
  assert.equal(run(2, "w1").ok, false);
  assert.equal(run(3, "origin").submit?.worker, "w1", "C: submitted on w1, run on origin");
  assert.equal(run(4, "w2").end, undefined, "lost");
  assert.equal(run(4, "origin").end, 1000250);
  assert.ok(data.warnings.some((w) => /w2\.jsonl: 1 unreadable line/.test(w)), data.warnings.join("\n"));
  assert.ok(data.warnings.some((w) => /w2\.jsonl: 1 task\(s\) started and never ended/.test(w)), data.warnings.join("\n"));
  assert.deepEqual(data.workerSamples.get("origin")!.map((s) => s.queued), [0, 0, 0, 0, 1, 0, 0], "submit, start, end and queue records sample the queue");

  const s = summarize(data);
  assert.equal(s.tasks, 4);
  assert.equal(s.runs, 5);
  assert.equal(s.failed, 1);
  assert.equal(s.unfinished, 1);
  assert.equal(s.nested, 2);
  assert.equal(s.spanMs, 150);
  const w1 = s.workers.find((w) => w.worker === "w1")!;
  assert.equal(w1.runs, 2);
  assert.equal(w1.ownRuns, 1, "B was kept by w1");
  assert.equal(w1.busyMs, 5 + 24, "A until it suspended, then B");
  const child = s.functions.find((f) => f.fn === "child")!;
  assert.equal(child.runs, 2);
  assert.equal(child.failed, 1);
  assert.deepEqual([child.queued!.p50, child.queued!.max], [4, 17], "queued = start - submit, across workers");
  assert.equal(child.time!.mean, (24 + 20) / 2);
  const text = formatSummary(s);
  assert.match(text, /^4 tasks on 3 worker\(s\) in 150 ms \(2 submitted from inside tasks, 1 failed, 1 never ended, 1 retried\)/);
  assert.match(text, /^w1 +2 +1 +29\.0 ms +19\.3%$/m);
  assert.match(text, /^child \(1 failed\) +2 +22\.0 ms +20\.0 ms +24\.0 ms +10\.5 ms +4\.00 ms +17\.0 ms$/m);

  const chrome = toChromeTrace(data);
  const ev = chrome.traceEvents;
  checkChromeShape(ev);
  assert.equal(ev.filter((e) => e.ph === "X").length, 5);
  assert.equal(ev.filter((e) => e.ph === "s").length, 2, "B and C have a parent");
  const names = ev.filter((e) => e.name === "process_name").map((e) => e.args!.name);
  assert.deepEqual(names, ["broker", "worker origin", "worker w1", "worker w2"]);
  const brokerPid = ev.find((e) => e.name === "process_name" && e.args!.name === "broker")!.pid;
  assert.equal(brokerPid, 4, "after the workers, never 0");
  const a = ev.find((e) => e.ph === "X" && e.args!.id === 1)!;
  assert.equal(a.ts, 10_000);
  assert.equal(a.dur, 50_000);
  assert.equal(a.args!.active_ms, 5);
  const c = ev.find((e) => e.ph === "X" && e.args!.id === 3)!;
  assert.equal(c.args!.queued_ms, 17);
  assert.equal(c.args!.submitted_by, "w1");
  const b = ev.find((e) => e.ph === "X" && e.args!.id === 2)!;
  assert.notEqual(b.tid, a.tid, "B runs while A waits: another sub-lane of w1");
  assert.deepEqual(
    ev.filter((e) => e.ph === "C" && e.pid === brokerPid).map((e) => [e.ts, e.args!.queued]),
    [
      [0, 0],
      [5_000, 2],
      [105_000, 0],
    ],
    "broker queue from the first task on (the sample before it, at its time)",
  );
});

test("scoop trace: errors are one line, exit 2", () => {
  const missing = traceCli([join(tmp, "nope")]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /^scoop: .*nope: no such directory/);
  assert.equal(missing.stderr.trim().split("\n").length, 1);
  mkdirSync(join(tmp, "empty"));
  const empty = traceCli([join(tmp, "empty")]);
  assert.equal(empty.code, 2);
  assert.match(empty.stderr, /no worker trace/);
  const help = traceCli(["--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /Perfetto/);
});

test("--debug names a task's parent for what it submits after an await too", async () => {
  const dir = join(tmp, "chain");
  const run = await scoopRun(["--debug", dir, "-n", "2", join(FIXTURES, "chain.ts"), "6"]);
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stdout, "chains 30 30\n");
  const data = loadTrace(dir);
  const chains = data.runs.filter((r) => r.fn === "chain");
  const steps = data.runs.filter((r) => r.fn === "step");
  assert.equal(chains.length, 2);
  assert.equal(steps.length, 12);
  for (const c of chains) {
    const mine = steps.filter((s) => s.submit?.parent === c.id);
    assert.equal(mine.length, 6, `chain #${c.id} is the parent of its 6 steps`);
    assert.ok(mine.every((s) => s.submit!.worker === c.worker));
  }
  assert.ok(chains.every((c) => c.suspend !== undefined && c.suspend < c.end!), "an async task suspends");
  assert.ok(steps.every((s) => s.suspend === undefined), "a synchronous one does not");
});

test("nested fib under --debug: scoop trace writes the summary, a Chrome trace whose counts match, and a page Chromium draws without errors", async (t) => {
  const dir = join(tmp, "fib");
  const [n, cutoff] = [18, 10];
  const expected = fibTasks(n, cutoff);
  const total = expected.fib + expected.leaf;
  const run = await scoopRun(["--debug", dir, "-n", "2", join(FIXTURES, "fib.ts"), String(n), String(cutoff), "1"]);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /fib\(18\) = 2584 \(ok\)/);

  // What the traces say, straight from the files.
  const records = readdirSync(dir)
    .filter((f) => f.endsWith(".jsonl") && f !== "broker.jsonl")
    .flatMap((f) => jsonl(join(dir, f)));
  const starts = records.filter((r) => r.ev === "start");
  const submits = records.filter((r) => r.ev === "submit");
  assert.equal(starts.length, total, "one start per task (fib formula)");
  assert.equal(submits.length, total);
  assert.equal(submits.filter((s) => s.parent !== undefined).length, total - 1, "every task but the root was submitted from a task");
  const ran = new Map(starts.map((s) => [s.id, s]));
  for (const s of submits) {
    if (s.parent === undefined) continue;
    assert.ok(ran.has(s.parent), "a parent is a task that ran");
    const parent = ran.get(s.parent)!;
    assert.equal(parent.worker, s.worker, "a parent runs on the worker that submitted its child");
  }
  assert.ok(new Set(starts.map((s) => s.worker)).size >= 1);

  const t0 = Date.now();
  const cli = traceCli([dir]);
  const cliMs = Date.now() - t0;
  assert.equal(cli.code, 0, cli.stderr);
  assert.match(cli.stdout, new RegExp(`^${total} tasks on 2 worker\\(s\\) in \\S+ \\S+ \\(${total - 1} submitted from inside tasks\\)`, "m"));
  assert.match(cli.stdout, new RegExp(`^fib +${expected.fib} `, "m"));
  assert.match(cli.stdout, new RegExp(`^leaf +${expected.leaf} `, "m"));
  assert.match(cli.stdout, /^origin +\d+ +\d+ +\S+ \S+ +\d+\.\d%$/m);
  assert.match(cli.stdout, /^w1 +\d+ +\d+ +\S+ \S+ +\d+\.\d%$/m);
  assert.match(cli.stdout, /queued mean/);
  assert.match(cli.stdout, new RegExp(`timeline: +${join(dir, "trace.html")}`));
  t.diagnostic(`scoop trace took ${cliMs} ms`);

  const chrome = JSON.parse(readFileSync(join(dir, "trace.json"), "utf8")) as { traceEvents: TraceEvent[]; displayTimeUnit: string };
  assert.equal(chrome.displayTimeUnit, "ms");
  const ev = chrome.traceEvents;
  checkChromeShape(ev);
  const slices = ev.filter((e) => e.ph === "X");
  assert.equal(slices.length, total, "one complete event per task");
  assert.equal(slices.filter((e) => e.name === "fib").length, expected.fib);
  assert.equal(slices.filter((e) => e.name === "leaf").length, expected.leaf);
  assert.equal(new Set(slices.map((e) => e.args!.id)).size, total);
  assert.equal(ev.filter((e) => e.ph === "s").length, total - 1, "a flow from each parent to each child");
  assert.ok(ev.some((e) => e.ph === "C" && e.name === "broker queue"));
  assert.ok(ev.some((e) => e.ph === "C" && e.name === "worker queue"));
  const workerPids = new Set(ev.filter((e) => e.name === "process_name" && e.args!.name !== "broker").map((e) => e.pid));
  assert.equal(workerPids.size, 2);
  for (const x of slices) assert.ok(workerPids.has(x.pid));

  // The page, in a real browser.
  if (!existsSync(CHROMIUM)) {
    t.skip(`${CHROMIUM} is missing: run scripts/install-test-deps.sh`);
    return;
  }
  const html = readFileSync(join(dir, "trace.html"), "utf8");
  assert.doesNotMatch(html, /<script[^>]+src=|<link[^>]+href=|https?:\/\/(?!www\.w3\.org)/, "self-contained: no external script, style or URL");
  const { chromium } = await import("playwright-core");
  const profile = mkdtempSync(join(tmp, "chromium-"));
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    viewport: { width: 1400, height: 900 },
  });
  try {
    const page = await browser.newPage();
    const errors: string[] = [];
    const requests: string[] = [];
    page.on("console", (m) => {
      if (m.type() === "error") errors.push(m.text());
    });
    page.on("pageerror", (e) => errors.push(String(e)));
    page.on("request", (r) => {
      if (!r.url().startsWith("file:")) requests.push(r.url());
    });
    await page.goto(`file://${join(dir, "trace.html")}`);
    await page.waitForFunction(() => (window as unknown as { scoopTrace?: { frames: number } }).scoopTrace?.frames! >= 1);
    const stats = (await page.evaluate(() => (window as unknown as { scoopTrace: unknown }).scoopTrace)) as Record<string, number>;
    assert.equal(stats.runs, total);
    assert.equal(stats.workers, 2);
    assert.equal(stats.drawn, total, "every task drawn at the full view");
    assert.equal(stats.links, total - 1, "every parent → child link drawn");
    assert.match(await page.textContent("header")!, new RegExp(`${total} tasks on 2 worker`));
    assert.match((await page.textContent("#legend"))!, /fib[\s\S]*leaf/);

    // Hovering a task explains it.
    const box = (await page.locator("canvas").boundingBox())!;
    let explained = false;
    for (let x = box.x + 140; x < box.x + box.width - 20 && !explained; x += 6) {
      await page.mouse.move(x, box.y + 40);
      explained = await page.isVisible("#tip");
    }
    assert.ok(explained, "a tooltip appears over a busy strip");
    assert.match((await page.textContent("#tip"))!, /task#\d+worker(origin|w1)/);
    // Zoom in with the wheel, and back with a double-click.
    await page.mouse.move(box.x + box.width / 2, box.y + 60);
    await page.mouse.wheel(0, -600);
    await page.waitForFunction((n) => (window as unknown as { scoopTrace: { frames: number } }).scoopTrace.frames > n, stats.frames);
    const zoomed = (await page.evaluate(() => (window as unknown as { scoopTrace: unknown }).scoopTrace)) as Record<string, number>;
    assert.ok(zoomed.drawn < total, `zoomed in: ${zoomed.drawn} of ${total} tasks in view`);
    await page.mouse.dblclick(box.x + box.width / 2, box.y + 60);
    await page.mouse.move(box.x + 5, box.y + 5);
    await page.waitForFunction((n) => (window as unknown as { scoopTrace: { drawn: number } }).scoopTrace.drawn === n, total);

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, "trace-timeline.png"), fullPage: true });
    cpSync(join(dir, "trace.html"), join(ARTIFACTS, "trace-timeline.html"));
    assert.deepEqual(errors, [], "no console error");
    assert.deepEqual(requests, [], "no network request");
  } finally {
    await browser.close();
  }
});
