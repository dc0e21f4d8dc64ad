#!/usr/bin/env node
// One broker holding 1,000,000 queued tasks: the origin submits them while no worker executes, the
// broker's RSS is sampled once its queue stops growing, then a worker drains it and every result is
// checked. Usage: node bench/queue-capacity.mjs [tasks]
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const total = Number(process.argv[2] ?? 1_000_000);
const rss = (pid) => Math.round(Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))[1]) / 1024);
const run = (args, env = {}) => {
  const c = spawn(process.execPath, args, { cwd: root, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "inherit"] });
  c.stdout.setEncoding("utf8");
  return c;
};
const lines = (child, onLine) => {
  let buf = "";
  child.stdout.on("data", (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf("\n")) >= 0) {
      onLine(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
  });
};

const broker = run([`${root}dist/cli/broker.js`]);
const env = await new Promise((resolve) => {
  const seen = {};
  lines(broker, (l) => {
    const [k, v] = l.split("=");
    seen[k] = v;
    if (seen.BROKER_ADDRESS && seen.META_ADDRESS) resolve(seen);
  });
});
const before = rss(broker.pid);
const job = `${root}bench/soak/queue-job.ts`;
const t0 = Date.now();
const origin = run([`${root}dist/cli/worker.js`, job, String(total)], { ...env, SCOOP_EXECUTE: "0" });
let done = "";
const submitted = new Promise((resolve) => lines(origin, (l) => (l === "SUBMITTED" ? resolve() : l.startsWith("DONE") && (done = l))));
await submitted;
// Wait until the broker's memory stops growing: every SUBMIT has arrived.
let peak = rss(broker.pid);
for (;;) {
  await new Promise((r) => setTimeout(r, 500));
  const now = rss(broker.pid);
  if (now <= peak) break;
  peak = now;
}
const queuedAt = (Date.now() - t0) / 1000;
const worker = run([`${root}dist/cli/worker.js`, job], { ...env, IS_ORIGIN: "0", WORKER_NAME: "drain" });
const code = await new Promise((r) => origin.on("exit", r));
await Promise.all([broker, worker].map((p) => new Promise((r) => (p.exitCode !== null ? r() : p.on("exit", r)))));
console.log(`queue capacity: ${total.toLocaleString("en-US")} tasks queued in the broker after ${queuedAt.toFixed(1)} s`);
console.log(`broker RSS: ${before} MiB idle, ${peak} MiB holding them (${((peak - before) * 1024 * 1024 / total).toFixed(0)} bytes per queued task)`);
console.log(`drained by one worker in ${((Date.now() - t0) / 1000 - queuedAt).toFixed(1)} s; origin exit ${code}; ${done}`);
process.exit(code === 0 && done.endsWith("correct") ? 0 : 1);
