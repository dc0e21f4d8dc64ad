// Live progress on the terminal: `scoop --progress` (the pool line, counted from the workers' own
// reports) and `futures.map(…, { progress: true })` bars; drawn on a terminal (a pseudo-terminal
// from util-linux `script` here), never on a pipe unless forced.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { test } from "node:test";
import { validateChunkOptions } from "../../src/futures/chunks.js";
import { ProgressDisplay } from "../../src/observe/progress-display.js";
import {
  decodeProgress,
  drawBar,
  encodeProgress,
  formatMapLine,
  PROGRESS_MARK,
  StatusArea,
  type MapReport,
  type WorkerReport,
} from "../../src/observe/progress.js";
import { ROOT, SCOOP_CLI, scoopRun } from "../launcher/scoop-helpers.js";

const FIB = join(ROOT, "test/fixtures/observe-trace/fib.ts");
const MAP = join(ROOT, "test/fixtures/observe-trace/map.ts");
const WORKER_CLI = join(ROOT, "dist/cli/worker.js");

const sh = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

/** Runs `node args…` on a pseudo-terminal (stdout and stderr both go to it); returns what it showed. */
function onTerminal(args: string[], timeout = 60_000): Promise<{ code: number | null; screen: string }> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  for (const k of ["IS_ORIGIN", "WORKER_NAME", "BROKER_NAME", "BROKER_ADDRESS", "META_ADDRESS", "SCOOP_LOG_LEVEL", "SCOOP_PROGRESS_RELAY", "SCOOP_PROGRESS_REPORT"]) delete env[k];
  const cmd = [process.execPath, ...args].map(sh).join(" ");
  const child = spawn("script", ["-qfec", cmd, "/dev/null"], { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
  let screen = "";
  child.stdout.setEncoding("utf8").on("data", (d: string) => (screen += d));
  child.stderr.setEncoding("utf8").on("data", (d: string) => (screen += d));
  const timer = setTimeout(() => child.kill("SIGKILL"), timeout);
  return new Promise((resolve) =>
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ code, screen });
    }),
  );
}

/** What the screen shows at the end: carriage returns and line erasures applied, line by line. */
function finalScreen(raw: string): string[] {
  const lines: string[] = [""];
  for (const piece of raw.replace(/\r\n/g, "\n").split(/(\r|\n|\x1b\[2K|\x1b\[1A)/)) {
    if (piece === "\n") lines.push("");
    else if (piece === "\r") lines[lines.length - 1] = lines[lines.length - 1]!; // cursor to column 0: the next text overwrites (we always erase first)
    else if (piece === "\x1b[2K") lines[lines.length - 1] = "";
    else if (piece === "\x1b[1A") lines.pop();
    else lines[lines.length - 1] += piece;
  }
  return lines.filter((l) => l !== "");
}

test("progress messages: one marker line each, found inside a partial line, damaged ones dropped", () => {
  const w: WorkerReport = { k: "w", s: 10, c: 1, d: 7, q: 2, r: 1, b: 0.75 };
  const line = encodeProgress(w);
  assert.ok(line.startsWith(PROGRESS_MARK) && line.endsWith("\n") && !line.slice(0, -1).includes("\n"));
  assert.deepEqual(decodeProgress(line.slice(0, -1)), { message: w });
  assert.deepEqual(decodeProgress(`partial${line.slice(0, -1)}`), { message: w, text: "partial" });
  assert.deepEqual(decodeProgress("plain text"), { text: "plain text" });
  assert.deepEqual(decodeProgress(`${PROGRESS_MARK}{"k":"w",`), {});
});

test("the status area redraws in place, erases before other output, keeps printed lines", () => {
  let out = "";
  const area = new StatusArea({ write: (s: string) => (out += s), columns: 20, isTTY: true });
  area.set(["one", "two"]);
  area.set(["three", "a line much longer than twenty columns"]);
  area.print("done: one", ["left"]);
  area.clear();
  assert.deepEqual(finalScreen(out), ["done: one"]);
  area.draw();
  assert.deepEqual(finalScreen(out), ["done: one", "left"]);
  assert.ok(out.includes("a line much longer…") && !out.includes("twenty"), "cut to the width, never wrapped");
});

test("map lines: bar, counts, rate, ETA; unknown totals; endings", () => {
  assert.equal(drawBar(0.5, 4), "██░░");
  assert.equal(drawBar(1, 3), "███");
  assert.equal(drawBar(0.0625, 2), "▏░");
  const m: MapReport = { k: "m", id: 1, label: "map(work)", done: 25, sub: 30, total: 100, ms: 2500 };
  assert.equal(formatMapLine(m, 80), "map(work)  ██████▊░░░░░░░░░░░░░░░░░░░░  25/100  25% · 10/s · 2.5 s · ETA 7.5 s");
  assert.ok(formatMapLine(m, 80).length <= 80);
  assert.equal(formatMapLine({ ...m, done: 100, end: "ok" }, 80), "map(work)  ██████████████████████████████  100/100 100% · done in 2.5 s (40/s)");
  assert.match(formatMapLine({ ...m, end: "failed" }, 80), /25\/100 +25% · failed after 2\.5 s$/);
  assert.equal(formatMapLine({ ...m, total: null }, 80), "map(work)  25 done (5 running) · 10/s · 2.5 s");
  assert.ok(formatMapLine(m, 40).length <= 60, "a narrow terminal drops the bar");
});

test("the pool line sums the workers' own reports; a silent worker is busy (a long task), a gone one is not", () => {
  let now = 1_000;
  let out = "";
  const d = new ProgressDisplay({ out: { write: (s: string) => (out += s), isTTY: true }, poolLine: true, pool: () => ({ queue: 3, workers: 3 }), now: () => now });
  const report = (r: Partial<WorkerReport>) => encodeProgress({ k: "w", s: 0, c: 0, d: 0, q: 0, r: 0, b: 0, ...r }).slice(0, -1);
  assert.equal(d.take("origin", report({ s: 50, d: 10, b: 0.9 })), undefined);
  d.take("w1", report({ s: 5, c: 1, d: 20, q: 4, b: 0.1 }));
  d.take("w2", report({ d: 3, b: 0.8 }));
  assert.equal(d.take("w2", "hello"), "hello");
  assert.deepEqual(d.totals(), { done: 33, submitted: 54, queued: 7, busy: 2, workers: 3 });
  now += 5_000; // nobody reported since: all stuck in long tasks
  assert.equal(d.totals().busy, 3);
  d.workerGone("w2");
  assert.equal(d.totals().busy, 2);
  assert.match(d.poolLine(), /^scoop: 33\/54 tasks done · \S+\/s · 2\/3 workers busy · 7 queued · 5\.0 s$/);
  d.take("origin", report({ s: 50, d: 31, b: 0.9 }));
  d.take("origin", encodeProgress({ k: "m", id: 1, label: "map(f)", done: 5, sub: 5, total: 5, ms: 100, end: "ok" }).slice(0, -1));
  d.finish();
  assert.deepEqual(finalScreen(out), ["map(f)  ██████████████████████████████  5/5 100% · done in 0.1 s (50/s)", "scoop: 54/54 tasks done in 5.0 s · 11/s on average · 3 workers"]);
});

test("the final line counts every worker that reported, even one the pool count never caught", () => {
  let out = "";
  // The broker's count is sampled: a worker that joined and left between two samples is not in it.
  const d = new ProgressDisplay({ out: { write: (s: string) => (out += s), isTTY: true }, poolLine: true, pool: () => ({ queue: 0, workers: 1 }), now: () => 1_000 });
  const report = (r: Partial<WorkerReport>) => encodeProgress({ k: "w", s: 0, c: 0, d: 0, q: 0, r: 0, b: 0, ...r }).slice(0, -1);
  d.take("origin", report({ s: 10, d: 6 }));
  d.take("w1", report({ d: 4 }));
  d.finish();
  assert.match(finalScreen(out).at(-1)!, /^scoop: 10\/10 tasks done in .* · 2 workers$/);
});

test("map's progress option: true, false or \"always\"", () => {
  validateChunkOptions("map", { progress: true });
  validateChunkOptions("map", { progress: "always" });
  validateChunkOptions("map", { progress: false });
  assert.throws(() => validateChunkOptions("map", { progress: "sometimes" }), /map\(\): progress must be true \(on a terminal\), "always" or false, got "sometimes"/);
});

test("scoop --progress on a terminal: a live line, and the final count of a nested run (tasks kept by workers included)", async (t) => {
  const started = Date.now();
  // 20 ms leaves (1.1 s of work in all): long enough that the second worker, which may take a few
  // hundred ms to start under load, surely joins and reports before the origin alone is done.
  const r = await onTerminal([SCOOP_CLI, "--progress", "-n", "2", FIB, "18", "10", "20"]);
  t.diagnostic(`run took ${Date.now() - started} ms`);
  assert.equal(r.code, 0, r.screen);
  const screen = finalScreen(r.screen);
  assert.ok(screen.includes("fib(18) = 2584 (ok)"), r.screen);
  // 109 fib tasks and 55 leaves: most never cross the broker, the count comes from the workers.
  assert.match(screen.at(-1)!, /^scoop: 164\/164 tasks done in \d+\.\d s · \S+\/s on average · 2 workers$/, r.screen);
  assert.match(r.screen, /scoop: \d+\/\d+ tasks done · \S+\/s · [0-2]\/[0-2] workers busy · \d+ queued · \d+\.\d s/, "the live line");
  assert.ok(!r.screen.includes(PROGRESS_MARK), "workers' reports never reach the screen");
});

test("scoop --progress without a terminal prints nothing; --progress=always does", async () => {
  const [plain, forced] = await Promise.all([
    scoopRun(["--progress", "-n", "2", FIB, "16", "10", "0"]),
    scoopRun(["--progress=always", "-n", "2", FIB, "16", "10", "0"]),
  ]);
  assert.equal(plain.code, 0, plain.stderr);
  assert.equal(plain.stdout, "fib(16) = 987 (ok)\n");
  assert.equal(plain.stderr, "", "logs stay clean");
  assert.equal(forced.code, 0, forced.stderr);
  assert.match(forced.stderr, /scoop: 62\/62 tasks done in /);
  assert.ok(!forced.stderr.includes(PROGRESS_MARK));
});

test("map(…, { progress: true }): a bar on the origin's terminal through the launcher, nothing without one, forced with \"always\"", async () => {
  const [tty, pipe, forced] = await Promise.all([
    // Tasks of 25 ms: the map lasts ~0.5 s, so the bar is drawn live a few times before the end.
    onTerminal([SCOOP_CLI, "-n", "2", MAP, "40", "true", "25"]),
    scoopRun(["-n", "2", MAP, "40", "true", "5"]),
    scoopRun(["-n", "2", MAP, "40", "always", "5"]),
  ]);
  assert.equal(tty.code, 0, tty.screen);
  const screen = finalScreen(tty.screen);
  assert.deepEqual(
    screen.map((l) => l.replace(/done in .*/, "done in …")),
    ["map(work)  ██████████████████████████████  40/40 100% · done in …", "sum 20540"],
    tty.screen,
  );
  assert.match(tty.screen, /map\(work\) +[█░▏▎▍▌▋▊▉]+ +\d+\/40 +\d+% · \S+\/s · \d+\.\d s/, "live states before the end");
  assert.equal(pipe.code, 0, pipe.stderr);
  assert.equal(pipe.stdout, "sum 20540\n");
  assert.equal(pipe.stderr, "", "no bar on a pipe");
  assert.equal(forced.code, 0, forced.stderr);
  assert.match(forced.stderr, /map\(work\) +█+ +40\/40 100% · done in /);
});

test("map's bar without the launcher (the origin's own terminal), and nothing on a pipe", async () => {
  const tty = await onTerminal([WORKER_CLI, MAP, "20", "true", "5"]);
  assert.equal(tty.code, 0, tty.screen);
  assert.match(finalScreen(tty.screen).join("\n"), /^map\(work\) +█+ +20\/20 100% · done in .*\nsum 2470$/m);
  const pipe = await new Promise<{ stderr: string }>((resolve) => {
    const env = { ...process.env };
    for (const k of ["BROKER_ADDRESS", "META_ADDRESS", "SCOOP_PROGRESS_RELAY"]) delete env[k];
    const c = spawn(process.execPath, [WORKER_CLI, MAP, "20", "true", "5"], { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    c.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    c.once("close", () => resolve({ stderr }));
  });
  assert.doesNotMatch(pipe.stderr, /map\(work\)/);
});
