/**
 * Chooses where the hosts come from: what the user said (`--hosts`, `--hostfile`) wins, then the
 * batch scheduler the launcher runs under, then this machine alone.
 *
 * Everything the choice depends on (environment, file reads, core count) comes in through
 * {@link DetectHostsOptions}, so it can be exercised without touching the real process.
 */

import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { ConfigError } from "../../errors.js";
import { totalSlots, type HostSlots } from "./distribute.js";
import { hostsFromList, parseHostfile, quoteValue } from "./hostfile.js";
import { parseLsbMcpuHosts } from "./lsf.js";
import { parsePbsNodefile } from "./pbs.js";
import { parseSgeHostfile } from "./sge.js";
import { hostsFromSlurm } from "./slurm.js";

/** Host name used when running on this machine only (SCOOP uses the same loopback address). */
export const LOCAL_HOST = "127.0.0.1";

/** Where a host list came from. */
export type HostSource = "hosts" | "hostfile" | "slurm" | "pbs" | "sge" | "lsf" | "local";

/** The outcome of {@link detectHosts}. */
export interface HostDetection {
  source: HostSource;
  /** One line saying where the hosts came from, for the launcher's log. */
  description: string;
  /** The hosts, in priority order (the first runs the origin), one entry per distinct host. */
  hosts: HostSlots[];
  /**
   * Default worker count when `-n` is not given: the scheduler's own task count when it states one
   * (`SLURM_NTASKS`, `PBS_NP`, `NSLOTS`), else the sum of the hosts' slots.
   */
  workers: number;
}

/** Environment variables, as in `process.env`. */
export type Env = Readonly<Record<string, string | undefined>>;

/** Inputs of {@link detectHosts}. */
export interface DetectHostsOptions {
  /** Values of `--hosts`, when given. Mutually exclusive with `hostfile`. */
  hosts?: readonly string[];
  /** Path given to `--hostfile`, when given. */
  hostfile?: string;
  /** Environment to inspect; defaults to `process.env`. */
  env?: Env;
  /** Reads a whole text file; defaults to `fs.readFileSync(path, "utf8")`. */
  readFile?: (path: string) => string;
  /** Cores of this machine for the local fallback; defaults to `os.availableParallelism()`. */
  cpuCount?: number;
}

/**
 * A variable's value, or `undefined` when it is unset or blank: job scripts often export empty
 * variables, and an empty `PE_HOSTFILE` means "not in a parallel environment", not "broken".
 */
function envValue(env: Env, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value.trim() === "" ? undefined : value.trim();
}

/** A positive-integer variable, `undefined` when unset; anything else is a ConfigError naming it. */
function envPositiveInt(env: Env, name: string): number | undefined {
  const value = envValue(env, name);
  if (value === undefined) return undefined;
  const n = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new ConfigError(`${name}=${quoteValue(value)} — expected a positive integer`);
  }
  return n;
}

/** Reads a file named by the user or a variable, turning fs failures into a one-line ConfigError. */
function readText(readFile: (path: string) => string, path: string, what: string): string {
  try {
    return readFile(path);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const reason = e?.code ?? String(e?.message ?? err).split("\n")[0];
    throw new ConfigError(`${what}: cannot read ${quoteValue(path)} (${reason})`);
  }
}

/**
 * Finds the hosts to run on and the default worker count.
 *
 * Order: `--hosts`, `--hostfile` (giving both is an error, as in SCOOP); then SLURM
 * (`SLURM_JOB_NODELIST`, else `SLURM_NODELIST`, with `SLURM_TASKS_PER_NODE`, else
 * `SLURM_CPUS_ON_NODE`, else 1 slot per node); PBS/Torque (`PBS_NODEFILE`); SGE (`PE_HOSTFILE`);
 * LSF (`LSB_MCPU_HOSTS`); else {@link LOCAL_HOST} with one slot per core. SLURM comes first because
 * SLURM clusters sometimes also export PBS-compatibility variables.
 *
 * @throws ConfigError with a one-line message naming the option, file or variable at fault.
 */
export function detectHosts(options: DetectHostsOptions = {}): HostDetection {
  const env = options.env ?? process.env;
  const readFile = options.readFile ?? ((path: string) => readFileSync(path, "utf8"));

  if (options.hosts !== undefined && options.hostfile !== undefined) {
    throw new ConfigError("--hosts and --hostfile cannot be used together");
  }
  if (options.hosts !== undefined) {
    const hosts = hostsFromList(options.hosts);
    return { source: "hosts", description: "--hosts", hosts, workers: totalSlots(hosts) };
  }
  if (options.hostfile !== undefined) {
    const text = readText(readFile, options.hostfile, "--hostfile");
    const hosts = parseHostfile(text, options.hostfile);
    return { source: "hostfile", description: `hostfile ${options.hostfile}`, hosts, workers: totalSlots(hosts) };
  }

  const slurmVar = envValue(env, "SLURM_JOB_NODELIST") !== undefined ? "SLURM_JOB_NODELIST" : "SLURM_NODELIST";
  const nodelist = envValue(env, slurmVar);
  if (nodelist !== undefined) {
    const tasksPerNode = envValue(env, "SLURM_TASKS_PER_NODE");
    const hosts = hostsFromSlurm({
      nodelist,
      nodelistSource: slurmVar,
      ...(tasksPerNode !== undefined
        ? { tasksPerNode }
        : { defaultSlots: envPositiveInt(env, "SLURM_CPUS_ON_NODE") ?? 1 }),
    });
    const workers = envPositiveInt(env, "SLURM_NTASKS") ?? totalSlots(hosts);
    return { source: "slurm", description: `SLURM ${slurmVar}=${nodelist}`, hosts, workers };
  }

  const pbsFile = envValue(env, "PBS_NODEFILE");
  if (pbsFile !== undefined) {
    const hosts = parsePbsNodefile(readText(readFile, pbsFile, "PBS_NODEFILE"), `PBS_NODEFILE ${pbsFile}`);
    const workers = envPositiveInt(env, "PBS_NP") ?? totalSlots(hosts);
    return { source: "pbs", description: `PBS PBS_NODEFILE=${pbsFile}`, hosts, workers };
  }

  const sgeFile = envValue(env, "PE_HOSTFILE");
  if (sgeFile !== undefined) {
    const hosts = parseSgeHostfile(readText(readFile, sgeFile, "PE_HOSTFILE"), `PE_HOSTFILE ${sgeFile}`);
    const workers = envPositiveInt(env, "NSLOTS") ?? totalSlots(hosts);
    return { source: "sge", description: `SGE PE_HOSTFILE=${sgeFile}`, hosts, workers };
  }

  const lsfHosts = envValue(env, "LSB_MCPU_HOSTS");
  if (lsfHosts !== undefined) {
    const hosts = parseLsbMcpuHosts(lsfHosts, "LSB_MCPU_HOSTS");
    return { source: "lsf", description: `LSF LSB_MCPU_HOSTS=${lsfHosts}`, hosts, workers: totalSlots(hosts) };
  }

  const cores = options.cpuCount ?? availableParallelism();
  if (!Number.isSafeInteger(cores) || cores < 1) {
    throw new ConfigError(`local core count must be a positive integer, got ${String(cores)}`);
  }
  return {
    source: "local",
    description: `this machine (${cores} core${cores === 1 ? "" : "s"})`,
    hosts: [{ host: LOCAL_HOST, slots: cores }],
    workers: cores,
  };
}
