// `scoop --dashboard` and `--metrics`, end to end: a real pool, the page in a real headless Chromium
// (Debian's chromium driven by playwright-core), the Prometheus text parsed and checked against the
// run; `Pool.start({ dashboard: 0 })`; and an unobserved pool sends no telemetry at all.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { get } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { chromium, type BrowserContext } from "playwright-core";
import { exitOf, FIXTURES, start } from "../support/cluster.js";
import { listOurProcesses } from "../support/processes.js";
import { leftovers, ROOT, scoop, uniqueMarker } from "../launcher/scoop-helpers.js";

const DASH = `${FIXTURES}observe/dash.ts`;
const CHROMIUM = "/usr/bin/chromium";
const ARTIFACTS = join(ROOT, "test-artifacts");
const tmp = mkdtempSync(join(tmpdir(), "scoop-dashboard-test-"));
const cleanups: Array<() => unknown> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
  rmSync(tmp, { recursive: true, force: true });
});

/** One sample of the Prometheus text format: name, labels, value. */
interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/**
 * A strict little parser of the Prometheus text exposition format (0.0.4): `# HELP` and `# TYPE`
 * lines, then `name{label="value",…} number` samples. Throws on any line it does not understand, on a
 * sample without a TYPE, and on a TYPE given twice.
 */
function parsePrometheus(text: string): { types: Map<string, string>; samples: PromSample[] } {
  const types = new Map<string, string>();
  const samples: PromSample[] = [];
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    let m = /^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) .*$/.exec(line);
    if (m) continue;
    m = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (m) {
      assert.ok(!types.has(m[1]!), `TYPE of ${m[1]} given twice`);
      types.set(m[1]!, m[2]!);
      continue;
    }
    m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (-?(?:\d+(?:\.\d*)?(?:e[+-]?\d+)?|\.\d+|NaN|\+Inf|-Inf))(?: -?\d+)?$/.exec(line);
    assert.ok(m, `not a Prometheus text line: ${JSON.stringify(line)}`);
    const labels: Record<string, string> = {};
    if (m[2]) {
      const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)/g;
      let consumed = 0;
      for (let l = re.exec(m[2]); l; l = re.exec(m[2])) {
        labels[l[1]!] = l[2]!.replace(/\\n/g, "\n").replace(/\\"/g, '"').replace(/\\\\/g, "\\");
        consumed = re.lastIndex;
      }
      assert.equal(consumed, m[2].length, `bad labels in ${JSON.stringify(line)}`);
    }
    const base = m[1]!.replace(/_(bucket|sum|count)$/, "");
    assert.ok(types.has(m[1]!) || types.has(base), `sample ${m[1]} has no TYPE line`);
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return { types, samples };
}

function sample(p: ReturnType<typeof parsePrometheus>, name: string, labels: Record<string, string> = {}): number | undefined {
  return p.samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}

async function launchChromium(): Promise<BrowserContext> {
  const profile = mkdtempSync(join(tmp, "chromium-"));
  return chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1360, height: 1000 },
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

test("--dashboard: the page lists both workers, counts the map to its size, shows a task's error with its remote stack; --metrics matches the run", async (t) => {
  if (!existsSync(CHROMIUM)) {
    t.skip("no /usr/bin/chromium: run scripts/install-test-deps.sh");
    return;
  }
  const n = 60;
  const flag = join(tmp, "release-main");
  const marker = uniqueMarker();
  const run = scoop(["-n", "2", "--dashboard", "0", "--metrics", "0", DASH, String(n), "15", flag, marker]);
  cleanups.push(() => run.child.kill("SIGKILL"));
  await run.waitStderr(/scoop: metrics at \S+/);
  const dashboardUrl = /scoop: dashboard at (http:\/\/127\.0\.0\.1:\d+\/)\n/.exec(run.stderr)?.[1];
  const metricsUrl = /scoop: metrics at (http:\/\/127\.0\.0\.1:\d+\/metrics)\n/.exec(run.stderr)?.[1];
  assert.ok(dashboardUrl, `one line with the dashboard's URL on stderr:\n${run.stderr}`);
  assert.ok(metricsUrl, run.stderr);
  assert.equal(run.stderr.match(/dashboard at/g)?.length, 1);

  const browser = await launchChromium();
  cleanups.push(() => browser.close());
  const page = await browser.newPage();
  const pageErrors: string[] = [];
  page.on("pageerror", (e) => pageErrors.push(e.message));
  page.on("console", (m) => {
    if (m.type() === "error") pageErrors.push(m.text());
  });
  await page.goto(dashboardUrl);

  // Both workers in the table, while the run goes on.
  await page.waitForSelector('#workers tr[data-worker="origin"]', { timeout: 20_000 });
  await page.waitForSelector('#workers tr[data-worker="w1"]', { timeout: 20_000 });
  assert.equal(await page.locator("#workers tbody tr").count(), 2);
  assert.match((await page.locator('#workers tr[data-worker="w1"] td.host').textContent()) ?? "", /\S/);

  // The map's progress reaches its size, and the pool's done count includes every task.
  await page.waitForSelector(`.map .map-count[data-done="${n}"][data-total="${n}"]`, { timeout: 30_000 });
  assert.equal(await page.locator(".map-count").first().textContent(), `${n} / ${n}`);
  await page.waitForFunction((min) => Number(document.getElementById("kpi-done")!.textContent!.replace(/,/g, "")) >= min, n + 1, {
    timeout: 10_000,
  });
  const perWorker = await page.locator("#workers td.done").allTextContents();
  assert.equal(perWorker.map(Number).reduce((a, b) => a + b, 0), n + 1, "tasks done, per worker, from the workers' telemetry");

  // The failed task: its error with the remote stack.
  await page.waitForSelector("#errors .error", { timeout: 10_000 });
  const title = await page.locator("#errors .error-title").first().textContent();
  assert.equal(title, "RangeError: explode(7) failed on purpose");
  const stack = (await page.locator("#errors .stack").first().textContent()) ?? "";
  assert.match(stack, /^RangeError: explode\(7\) failed on purpose\n\s+at explode \(.*observe\/dash\.ts:\d+:\d+\)/);
  assert.ok(await page.locator("#errors details").first().evaluate((d) => (d as HTMLDetailsElement).open), "the newest stack is shown");
  assert.match((await page.locator("#errors .error-meta").first().textContent()) ?? "", /in explode \(task #\d+\) on (origin|w1)/);

  // Charts and task stream are drawn from data.
  assert.equal(await page.locator("#chart-queue .uplot").count(), 1);
  assert.equal(await page.locator("#chart-rate .uplot").count(), 1);
  await page.waitForFunction(() => /[1-9]\d* bars/.test(document.getElementById("stream-hint")!.textContent ?? ""), undefined, { timeout: 10_000 });
  assert.match((await page.locator("#legend").textContent()) ?? "", /square.*explode/);
  assert.equal(await page.locator("#status").textContent(), "running");

  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, "dashboard.png"), fullPage: true });
  assert.deepEqual(pageErrors, [], "no error in the page");

  // Metrics: valid Prometheus text whose counters match the run (n map tasks + 1 failing task).
  // Worker states come with telemetry (every 500 ms): scrape until the last frames have arrived.
  let prom: ReturnType<typeof parsePrometheus>;
  const settledBy = Date.now() + 5000;
  for (;;) {
    const res = await fetch(metricsUrl);
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
    prom = parsePrometheus(await res.text());
    if (sample(prom, "scoop_workers", { state: "idle" }) === 2 || Date.now() > settledBy) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(prom.types.get("scoop_tasks_done_total"), "counter");
  assert.equal(prom.types.get("scoop_queue_length"), "gauge");
  assert.equal(sample(prom, "scoop_tasks_done_total"), n + 1);
  assert.equal(sample(prom, "scoop_tasks_failed_total"), 1);
  assert.equal(sample(prom, "scoop_tasks_submitted_total"), n + 1);
  assert.equal(sample(prom, "scoop_tasks_requeued_total"), 0);
  assert.equal(sample(prom, "scoop_queue_length"), 0);
  const byWorker = (name: string) => ["origin", "w1"].map((w) => sample(prom, name, { worker: w }) ?? NaN);
  assert.equal(byWorker("scoop_worker_tasks_done_total").reduce((a, b) => a + b, 0), n + 1);
  const busy = byWorker("scoop_worker_busy_seconds_total");
  assert.ok(busy.every((b) => b >= 0 && b < 60), `busy seconds ${busy}`);
  assert.ok(busy[0]! + busy[1]! >= n * 0.015 * 0.9, `the map's ${n} tasks of 15 ms: busy seconds ${busy}`);
  assert.equal(sample(prom, "scoop_workers", { state: "idle" }), 2);
  const bytesIn = sample(prom, "scoop_message_bytes_total", { direction: "in" })!;
  assert.ok(bytesIn > 0 && sample(prom, "scoop_message_bytes_total", { direction: "out" })! > 0);
  // Tasks that went through the broker are a part of those the workers ran.
  const viaBroker = sample(prom, "scoop_broker_tasks_completed_total")!;
  assert.ok(viaBroker >= 0 && viaBroker <= n + 1, `broker completed ${viaBroker}`);

  // A page asked for under another host name is refused (DNS rebinding).
  const port = new URL(dashboardUrl).port;
  const rebound = await new Promise<number>((resolve, reject) => {
    get({ host: "127.0.0.1", port, path: "/state.json", headers: { host: `evil.example:${port}` } }, (r) => {
      r.resume();
      resolve(r.statusCode ?? 0);
    }).on("error", reject);
  });
  assert.equal(rebound, 403);

  // Let main return: the run ends normally and leaves nothing behind.
  writeFileSync(flag, "");
  const { code } = await run.exited;
  assert.equal(code, 0, run.stderr);
  assert.deepEqual(JSON.parse(run.stdout.trim()), { sum: Array.from({ length: n }, (_, i) => i * i).reduce((a, b) => a + b, 0), failure: "RangeError" });
  assert.deepEqual(await leftovers(marker), []);
  await assert.rejects(fetch(dashboardUrl), "the dashboard closes with the run");
});

test("Pool.start({ dashboard: 0, metrics: 0 }) serves both on free ports and exposes their URLs; close() closes them", async () => {
  const app = `${FIXTURES}observe/pool-app.mjs`;
  const p = start(process.execPath, [app]);
  assert.equal(await exitOf(p, 60_000), 0, p.stderr);
  const out = JSON.parse(p.stdout.trim());
  assert.match(out.dashboardUrl, /^http:\/\/127\.0\.0\.1:\d+\/$/);
  assert.match(out.metricsUrl, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
  assert.equal(out.pageType, "text/html; charset=utf-8");
  assert.equal(out.sum, Array.from({ length: 50 }, (_, i) => i * i).reduce((a, b) => a + b, 0));
  assert.deepEqual(out.workers, ["pool-worker-1", "pool-worker-2"]);
  assert.deepEqual(out.map, { done: 50, total: 50, state: "done", worker: "pool-client" });
  assert.equal(out.done, 50);
  assert.equal(out.metricsDone, 50);
  assert.equal(out.closed, true);
  assert.deepEqual(await listOurProcesses(app), []);
});

test("an unobserved pool: WELCOME does not ask for telemetry, and none is sent or counted", async () => {
  const { Broker } = await import("../../src/broker/broker.js");
  const broker = await Broker.start({ name: "plain" });
  cleanups.push(() => broker.close());
  // The origin's SHUTDOWN comes after anything else it sent, on the same socket.
  const ended = new Promise((resolve) => broker.once("shutdown", resolve));
  const env = { BROKER_ADDRESS: broker.taskAddress, META_ADDRESS: broker.metaAddress, BROKER_NAME: "plain" };
  const origin = start(process.execPath, [`${ROOT}dist/cli/worker.js`, DASH, "20", "1"], env);
  cleanups.push(() => origin.kill());
  assert.equal(await exitOf(origin, 60_000), 0, origin.stderr);
  await ended;
  assert.equal(broker.stats.malformed, 0, "no TELEMETRY message reached the broker");
  assert.equal(broker.stats.bytesIn + broker.stats.bytesOut, 0, "nothing is measured without an observer");
});
