#!/usr/bin/env node
// Soak benchmark (not a timed test): a broker, a worker and the origin run 2,000,000 tiny tasks;
// the resident memory of each process is sampled at the start, every tenth, and the end, to show it
// stays flat (no per-task leftovers). Usage: node bench/soak.mjs [tasks]
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const total = Number(process.argv[2] ?? 2_000_000);

function rssMiB(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Math.round(Number(m[1]) / 1024) : NaN;
  } catch {
    return NaN;
  }
}

function run(args, env = {}) {
  const child = spawn(process.execPath, args, { cwd: root, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "inherit"] });
  child.stdout.setEncoding("utf8");
  return child;
}

const broker = run([`${root}dist/cli/broker.js`]);
const addresses = await new Promise((resolve) => {
  let out = "";
  broker.stdout.on("data", (d) => {
    out += d;
    const t = /BROKER_ADDRESS=(\S+)/.exec(out);
    const m = /META_ADDRESS=(\S+)/.exec(out);
    if (t && m) resolve({ BROKER_ADDRESS: t[1], META_ADDRESS: m[1] });
  });
});
const job = `${root}bench/soak/job.ts`;
const worker = run([`${root}dist/cli/worker.js`, job], { ...addresses, IS_ORIGIN: "0", WORKER_NAME: "w1" });
await new Promise((r) => setTimeout(r, 800));
const started = Date.now();
const origin = run([`${root}dist/cli/worker.js`, job, String(total)], addresses);

const rows = [];
const sample = (label) => rows.push({ at: label, broker: rssMiB(broker.pid), worker: rssMiB(worker.pid), origin: rssMiB(origin.pid), seconds: ((Date.now() - started) / 1000).toFixed(1) });
let verdict = "";
origin.stdout.on("data", (d) => {
  for (const line of d.split("\n")) {
    if (line.startsWith("MARK")) sample(line.slice(5));
    if (line.startsWith("DONE")) verdict = line;
  }
});
const code = await new Promise((r) => origin.on("exit", r));
await Promise.all([broker, worker].map((p) => new Promise((r) => (p.exitCode !== null ? r() : p.on("exit", r)))));

console.log(`soak: ${total.toLocaleString("en-US")} tasks, exit ${code}, ${verdict}`);
console.log("tasks done      | broker RSS MiB | worker RSS MiB | origin RSS MiB | elapsed s");
for (const r of rows) {
  console.log(`${String(r.at).padStart(15)} | ${String(r.broker).padStart(14)} | ${String(r.worker).padStart(14)} | ${String(r.origin).padStart(14)} | ${r.seconds.padStart(9)}`);
}
const secs = (Date.now() - started) / 1000;
console.log(`rate: ${Math.round(total / secs).toLocaleString("en-US")} tasks/s`);
process.exit(code === 0 && verdict.endsWith("correct") ? 0 : 1);
