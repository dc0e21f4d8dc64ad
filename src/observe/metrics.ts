/**
 * Prometheus metrics of an observed pool (`scoop --metrics PORT`), in the text exposition format,
 * made with prom-client from the observer's picture at scrape time (nothing is counted per task).
 *
 * Task counters come from the workers' telemetry, which sees every task, including the ones a worker
 * ran itself without the broker; broker counters say what went through the broker.
 */
import { Counter, Gauge, Registry } from "prom-client";
import type { Observer } from "./observer.js";

/** A counter whose value is read from the observer at each scrape (it only ever grows). */
function readCounter(registry: Registry, name: string, help: string, labelNames: string[], read: (set: (labels: Record<string, string>, v: number) => void) => void): void {
  new Counter({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      this.reset();
      read((labels, v) => this.inc(labels, Math.max(0, v)));
    },
  });
}

function readGauge(registry: Registry, name: string, help: string, labelNames: string[], read: (set: (labels: Record<string, string>, v: number) => void) => void): void {
  new Gauge({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      this.reset();
      read((labels, v) => this.set(labels, v));
    },
  });
}

/** The registry of a pool's metrics, read from `observer`. */
export function createMetrics(observer: Observer): Registry {
  const r = new Registry();
  const totals = () => observer.totals();
  const broker = () => observer.brokerView();
  const workers = () => observer.workerViews();

  readCounter(r, "scoop_tasks_submitted_total", "Tasks submitted, by every worker of the pool.", [], (set) => set({}, totals().submitted));
  readCounter(r, "scoop_tasks_done_total", "Tasks finished, successfully or not.", [], (set) => set({}, totals().done));
  readCounter(r, "scoop_tasks_failed_total", "Tasks that ended with an error (included in scoop_tasks_done_total).", [], (set) => set({}, totals().failed));
  readCounter(r, "scoop_tasks_requeued_total", "Tasks put back in the broker's queue after their worker left or was lost.", [], (set) =>
    set({}, broker()?.requeued ?? 0),
  );
  readCounter(r, "scoop_tasks_given_up_total", "Tasks failed with WorkerLostError after too many lost workers.", [], (set) => set({}, broker()?.givenUp ?? 0));
  readCounter(r, "scoop_broker_tasks_submitted_total", "Tasks sent to the broker (workers run some of their own tasks without it).", [], (set) =>
    set({}, broker()?.submitted ?? 0),
  );
  readCounter(r, "scoop_broker_tasks_dispatched_total", "Tasks the broker handed to workers.", [], (set) => set({}, broker()?.dispatched ?? 0));
  readCounter(r, "scoop_broker_tasks_completed_total", "Results the broker routed back to their submitters.", [], (set) => set({}, broker()?.completed ?? 0));
  readCounter(r, "scoop_message_bytes_total", "Bytes through the broker's task socket.", ["direction"], (set) => {
    const b = broker();
    set({ direction: "in" }, b?.bytesIn ?? 0);
    set({ direction: "out" }, b?.bytesOut ?? 0);
  });
  readGauge(r, "scoop_queue_length", "Tasks waiting in the broker's queue.", [], (set) => set({}, broker()?.queue ?? 0));
  readGauge(r, "scoop_worker_queued_tasks", "Tasks received by a worker and not started yet.", ["worker"], (set) => {
    for (const w of workers()) if (w.leftAt === null) set({ worker: w.name }, w.queued);
  });
  readGauge(r, "scoop_workers", "Workers of the pool by state.", ["state"], (set) => {
    const counts: Record<string, number> = { starting: 0, busy: 0, idle: 0, left: 0, lost: 0 };
    for (const w of workers()) counts[w.state] = (counts[w.state] ?? 0) + 1;
    for (const [state, n] of Object.entries(counts)) set({ state }, n);
  });
  readCounter(r, "scoop_worker_tasks_done_total", "Tasks finished by a worker.", ["worker"], (set) => {
    for (const w of workers()) set({ worker: w.name }, w.done);
  });
  readCounter(r, "scoop_worker_tasks_failed_total", "Tasks failed on a worker.", ["worker"], (set) => {
    for (const w of workers()) set({ worker: w.name }, w.failed);
  });
  readCounter(r, "scoop_worker_busy_seconds_total", "Time a worker had at least one task running.", ["worker"], (set) => {
    for (const w of workers()) set({ worker: w.name }, w.busyMs / 1000);
  });
  readGauge(r, "scoop_worker_cpu_percent", "CPU use of a worker process over the last quarter second, in % of one core.", ["worker"], (set) => {
    for (const w of workers()) if (w.leftAt === null) set({ worker: w.name }, w.cpu);
  });
  readGauge(r, "scoop_worker_resident_memory_bytes", "Resident memory of a worker process.", ["worker"], (set) => {
    for (const w of workers()) if (w.leftAt === null) set({ worker: w.name }, w.rss);
  });
  return r;
}
