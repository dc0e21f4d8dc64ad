/**
 * Where every worker runs: hosts from the command line, a hostfile, the batch scheduler or this
 * machine (detectHosts), spread over for `-n` the way SCOOP does (distributeWorkers), with names.
 * The origin is the first worker of the first host. Pure: nothing is started here.
 */
import { detectHosts, distributeWorkers, type HostSource } from "./hosts/index.js";
import { isLocalHost } from "./local-host.js";

export interface PlannedWorker {
  /** WORKER_NAME: "origin", then "w1", "w2", … in host order. */
  name: string;
  origin: boolean;
}

export interface PlannedHost {
  /** The host as the user (or scheduler) wrote it; handed to ssh unchanged. */
  host: string;
  /** Started as local child processes, without ssh. */
  local: boolean;
  workers: PlannedWorker[];
}

export interface LaunchPlan {
  source: HostSource;
  /** Where the hosts came from, for the log. */
  description: string;
  total: number;
  hosts: PlannedHost[];
}

export interface PlanInput {
  workers?: number;
  hosts?: readonly string[];
  hostfile?: string;
  env?: NodeJS.ProcessEnv;
  /** For tests: decides which hosts are this machine. */
  isLocal?: (host: string) => boolean;
  cpuCount?: number;
}

/** Name of the n-th worker (0 is the origin). */
export function workerName(index: number): string {
  return index === 0 ? "origin" : `w${index}`;
}

export function planLaunch(input: PlanInput): LaunchPlan {
  const detection = detectHosts({
    ...(input.hosts !== undefined ? { hosts: input.hosts } : {}),
    ...(input.hostfile !== undefined ? { hostfile: input.hostfile } : {}),
    ...(input.env !== undefined ? { env: input.env } : {}),
    ...(input.cpuCount !== undefined ? { cpuCount: input.cpuCount } : {}),
  });
  const total = input.workers ?? detection.workers;
  const placed = distributeWorkers(detection.hosts, total);
  const isLocal = input.isLocal ?? isLocalHost;
  let index = 0;
  const hosts = placed.map((h) => {
    const workers: PlannedWorker[] = [];
    for (let i = 0; i < h.slots; i++, index++) workers.push({ name: workerName(index), origin: index === 0 });
    return { host: h.host, local: isLocal(h.host), workers };
  });
  return { source: detection.source, description: detection.description, total, hosts };
}

/** The worker distribution, one line per host, as printed at -v. */
export function describePlan(plan: LaunchPlan): string {
  const width = Math.max(...plan.hosts.map((h) => h.host.length));
  const lines = plan.hosts.map((h) => {
    const names = h.workers.map((w) => w.name);
    const list = names.length > 4 ? `${names.slice(0, 2).join(", ")}, …, ${names[names.length - 1]}` : names.join(", ");
    return `  ${h.host.padEnd(width)}  ${String(h.workers.length).padStart(3)} worker${h.workers.length === 1 ? " " : "s"} (${list})${h.local ? "" : " over ssh"}`;
  });
  const nHosts = plan.hosts.length;
  return [`${plan.total} worker${plan.total === 1 ? "" : "s"} on ${nHosts} host${nHosts === 1 ? "" : "s"}; hosts from ${plan.description}:`, ...lines].join("\n");
}
