#!/usr/bin/env node
// What observation costs: W1s (20,000 no-op submits awaited together, bench/workloads/job.ts) on 2
// workers, run by the real launcher with and without `--dashboard 0 --metrics 0`, alternately, and
// the median of each. With the dashboard, a page is connected (a server-sent events client reading
// /events) for the whole run, and the metrics are scraped every second, so the figure includes the
// pushes, not only the telemetry. The budget is 5 %: ratio (on / off) ≥ 0.95.
//
//   node bench/observe-overhead.mjs [--runs 5] [--n 20000] [--reps 5] [--workers 2] [--no-page]
//
// Each run reports the median of --reps timed bursts (after W1s's warm-up): one 0.2 s burst per
// process swings by ±15 % on 2 cores, more than the effect measured.
// --no-page: no page connected and no scrape (what telemetry alone costs).
import { machineBusy } from "./lib/machine.mjs";
import { spawn } from "node:child_process";
import { get } from "node:http";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const runs = opt("runs", 5);
const n = opt("n", 20_000);
const workers = opt("workers", 2);
const withPage = !args.includes("--no-page");
/** Timed bursts per run (after the warm-up), of which the run reports the median. */
const reps = opt("reps", 5);

/** Follows the page's event stream and scrapes the metrics until the run ends. */
function watch(dashboardUrl, metricsUrl) {
  let events = 0;
  let bytes = 0;
  let scrapes = 0;
  let stopped = false;
  const req = get(`${dashboardUrl}events`, (res) => {
    res.setEncoding("utf8");
    res.on("data", (d) => {
      bytes += d.length;
      events += d.split("\n\n").length - 1;
    });
    res.on("error", () => {});
  });
  req.on("error", () => {});
  const scrape = () => {
    if (stopped) return;
    get(metricsUrl, (res) => {
      res.resume();
      res.on("end", () => scrapes++);
    }).on("error", () => {});
  };
  const timer = setInterval(scrape, 1000);
  scrape();
  return () => {
    stopped = true;
    clearInterval(timer);
    req.destroy();
    return { events, bytes, scrapes };
  };
}

function once(observed) {
  return new Promise((resolve, reject) => {
    const extra = observed ? ["--dashboard", "0", "--metrics", "0"] : [];
    const child = spawn(
      process.execPath,
      [`${root}dist/cli/scoop.js`, "-n", String(workers), ...extra, `${root}bench/workloads/job.ts`, "W1s", JSON.stringify({ n, reps })],
      { cwd: root, stdio: ["ignore", "pipe", "pipe"] },
    );
    let out = "";
    let err = "";
    let stop;
    child.stdout.setEncoding("utf8").on("data", (d) => (out += d));
    child.stderr.setEncoding("utf8").on("data", (d) => {
      err += d;
      const dash = /dashboard at (\S+)/.exec(err);
      const metrics = /metrics at (\S+)/.exec(err);
      if (observed && !stop && dash && metrics) stop = withPage ? watch(dash[1], metrics[1]) : () => ({ events: 0, bytes: 0, scrapes: 0 });
    });
    child.on("exit", (code) => {
      const seen = stop?.();
      if (code !== 0) return reject(new Error(`scoop exited ${code}: ${err.trim().slice(-2000)}`));
      if (observed && !seen) return reject(new Error(`no dashboard URL on stderr: ${err}`));
      resolve({ rate: JSON.parse(out.trim().split("\n").pop()).figure, seen });
    });
  });
}


const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const off = [];
const on = [];
let seen;
const busyBefore = [];
for (let i = 0; i < runs; i++) {
  const busy = await machineBusy(300);
  if (busy !== null) busyBefore.push(busy);
  // Alternate, and alternate which goes first, so drift on the machine hits both alike.
  const order = i % 2 === 0 ? [false, true] : [true, false];
  for (const observed of order) {
    const r = await once(observed);
    (observed ? on : off).push(r.rate);
    if (observed) seen = r.seen;
  }
  const other = busy === null ? "" : `  (other load before: ${Math.round(busy * 100)} % of the cores)`;
  process.stderr.write(`run ${i + 1}/${runs}: off ${Math.round(off.at(-1))} tasks/s, on ${Math.round(on.at(-1))} tasks/s${other}\n`);
}
const mOff = median(off);
const mOn = median(on);
const result = {
  workload: `W1s n=${n}, ${workers} workers, median of ${reps} bursts per run`,
  runs,
  off: { median: Math.round(mOff), all: off.map(Math.round) },
  dashboard: { median: Math.round(mOn), all: on.map(Math.round), lastRunPage: seen },
  ratio: Math.round((mOn / mOff) * 1000) / 1000,
  // Each run's pair (on and off back to back) shares the machine's state of the moment: the median
  // of the pairs' ratios is steadier than the ratio of the medians when the machine drifts.
  pairRatioMedian: Math.round(median(on.map((v, i) => v / off[i])) * 1000) / 1000,
  overheadPercent: Math.round((1 - mOn / mOff) * 1000) / 10,
  otherLoadMax: busyBefore.length ? Math.round(Math.max(...busyBefore) * 100) / 100 : null,
};
if (result.otherLoadMax !== null && result.otherLoadMax > 0.15) {
  process.stderr.write("WARNING: something else used the machine between runs: these figures are noisy; rerun on a quiet machine\n");
}
console.log(JSON.stringify(result, null, 2));
