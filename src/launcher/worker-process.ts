/**
 * Starting and stopping worker processes, shared by the launcher (local workers) and the remote
 * agent (workers of one remote host), plus the line protocol between an agent and the launcher.
 *
 * Every worker:
 * - runs `[nice -n N] node [node options] --import lifeline.js worker.js script args…`;
 * - is the leader of its own process group, so stopping it also stops what its tasks spawned;
 * - gets a lifeline on fd 3 (SCOOP_PARENT_FD): when the process that started it dies, even by
 *   SIGKILL, the pipe closes and the worker leaves the pool (see lifeline.ts). No orphan survives
 *   its launcher.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { readdirSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { constants } from "node:os";
import { fileURLToPath, pathToFileURL } from "node:url";

/** This package's scoop-worker entry point. */
export const WORKER_CLI = fileURLToPath(new URL("../cli/worker.js", import.meta.url));
/** The preload that ties a worker's life to its parent's. */
export const LIFELINE = fileURLToPath(new URL("./lifeline.js", import.meta.url));
/** The remote agent, started over ssh on each remote host. */
export const AGENT = fileURLToPath(new URL("./agent.js", import.meta.url));
/** Variable naming the lifeline's file descriptor. */
export const PARENT_FD_VAR = "SCOOP_PARENT_FD";
/** Variable naming the directory of task traces (--debug). */
export const TRACE_DIR_VAR = "SCOOP_TRACE_DIR";

/** Variables the launcher sets per worker; inherited values are dropped first. */
const WORKER_VARS = ["IS_ORIGIN", "WORKER_NAME", "BROKER_NAME", "BROKER_ADDRESS", "META_ADDRESS", "SCOOP_KEY", "SCOOP_KEY_FILE", PARENT_FD_VAR];

export interface WorkerCommand {
  /** Node.js binary. */
  node: string;
  /** Flags before the worker script (--node-options, profiling). */
  nodeArgs: string[];
  workerCli: string;
  lifeline: string;
  script: string;
  args: string[];
  nice?: number;
}

/** argv (command first) of one worker. */
export function workerArgv(c: WorkerCommand): string[] {
  const node = [c.node, ...c.nodeArgs, "--import", pathToFileURL(c.lifeline).href, c.workerCli, c.script, ...c.args];
  return c.nice === undefined ? node : ["nice", "-n", String(c.nice), ...node];
}

/**
 * V8 CPU profile flags for one worker. Every thread of a process started with --cpu-prof writes a
 * profile (the module loader's and the heartbeat's too), and with one fixed file name the last
 * thread to end would win: each writes into the worker's own folder, and {@link collectProfile}
 * keeps the main thread's.
 */
export function profileArgs(dir: string, name: string): string[] {
  return ["--cpu-prof", "--cpu-prof-dir", threadProfilesDir(dir, name)];
}

function threadProfilesDir(dir: string, name: string): string {
  return join(dir, `.${name}.threads`);
}

/** V8's default profile name, CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile: thread 0 is the main one. */
const MAIN_THREAD_PROFILE = /^CPU\.\d+\.\d+\.\d+\.0\.\d+\.cpuprofile$/;

/** Once a profiled worker has exited: its main thread's profile becomes `<dir>/<name>.cpuprofile`. */
export function collectProfile(dir: string, name: string): void {
  const threads = threadProfilesDir(dir, name);
  try {
    const main = readdirSync(threads).filter((f) => MAIN_THREAD_PROFILE.test(f)).sort().at(-1);
    if (main) renameSync(join(threads, main), join(dir, `${name}.cpuprofile`));
  } catch {
    // no profile: the worker was killed before it could write one
  }
  rmSync(threads, { recursive: true, force: true });
}

export interface WorkerEnv {
  name: string;
  origin: boolean;
  brokerName: string;
  brokerAddress: string;
  metaAddress: string;
  /** Further variables: SCOOP_LOG_LEVEL, SCOOP_TRACE_DIR, … */
  extra: Record<string, string>;
}

export function workerEnvironment(base: NodeJS.ProcessEnv, w: WorkerEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base };
  for (const k of WORKER_VARS) delete env[k];
  return {
    ...env,
    ...w.extra,
    IS_ORIGIN: w.origin ? "1" : "0",
    WORKER_NAME: w.name,
    BROKER_NAME: w.brokerName,
    BROKER_ADDRESS: w.brokerAddress,
    META_ADDRESS: w.metaAddress,
    [PARENT_FD_VAR]: "3",
  };
}

/**
 * Spawns one worker: stdout inherited (the user's output stays a plain stream) unless the caller
 * relays it (`pipeStdout`, for the progress line), stderr piped (the caller relays it line by line
 * and keeps a tail for error reports), fd 3 the lifeline.
 */
export function spawnWorker(command: WorkerCommand, env: NodeJS.ProcessEnv, cwd?: string, pipeStdout = false): ChildProcess {
  const [cmd, ...args] = workerArgv(command);
  const child = spawn(cmd!, args, {
    env,
    cwd,
    stdio: ["ignore", pipeStdout ? "pipe" : "inherit", "pipe", "pipe"],
    detached: true,
  });
  const lifeline = child.stdio[3];
  lifeline?.on("error", () => {});
  return child;
}

/** Sends `signal` to the process group led by `child` (falling back to the process itself). */
export function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
  }
}

/** Exit status as a shell reports it: the code, or 128 + the signal's number. */
export function exitStatus(code: number | null, signal: NodeJS.Signals | string | null): number {
  if (code !== null) return code;
  const n = signal ? (constants.signals as Record<string, number>)[signal] : undefined;
  return n ? 128 + n : 1;
}

/** Splits a byte stream into lines; the last, unterminated piece is kept until more arrives. */
export class LineSplitter {
  private rest = "";

  constructor(private readonly onLine: (line: string) => void) {}

  push(chunk: string): void {
    const text = this.rest + chunk;
    let start = 0;
    for (;;) {
      const nl = text.indexOf("\n", start);
      if (nl < 0) break;
      this.onLine(text.slice(start, nl));
      start = nl + 1;
    }
    this.rest = text.slice(start);
    // A runaway line without newline is passed on in pieces rather than held forever.
    if (this.rest.length > 64 * 1024) {
      this.onLine(this.rest);
      this.rest = "";
    }
  }

  /** Hands over what is left (at end of stream). */
  end(): void {
    if (this.rest !== "") this.onLine(this.rest);
    this.rest = "";
  }
}

// ---------------------------------------------------------------------------------------------
// Agent <-> launcher protocol. The launcher writes the agent's configuration as one JSON line on
// the agent's stdin (after the agent said "ready"), then keeps stdin open: its end means "stop".
// The agent writes control records on its stderr, one line each, behind a marker no program
// prints; every other line on that stream is plain text (ssh, the shell, the prolog).

export const CONTROL_MARK = "\u001fscoop-agent\u001f";

export interface AgentWorker {
  name: string;
  origin: boolean;
}

export interface AgentConfig {
  /** The host's name as the launcher knows it, for messages. */
  host: string;
  brokerName: string;
  /**
   * Addresses to try for the broker, best first; `$SSH_CLIENT` stands for the address this ssh
   * session came from, as the remote host sees it (no DNS involved).
   */
  brokerHosts: string[];
  taskPort: number;
  metaPort: number;
  workers: AgentWorker[];
  /** Node.js binary for the workers; empty: the agent's own. */
  node: string;
  nodeArgs: string[];
  workerCli: string;
  lifeline: string;
  script: string;
  args: string[];
  /** Extra variables for every worker (SCOOP_LOG_LEVEL, SCOOP_TRACE_DIR). */
  env: Record<string, string>;
  nice?: number;
  /** --profile directory, if any (each worker gets its own file in it). */
  profileDir?: string;
  /** Directories to create before the workers start. */
  mkdirs: string[];
  /** Milliseconds between SIGTERM and SIGKILL when stopping. */
  graceMs: number;
  /** Milliseconds to wait for the broker to accept a TCP connection. */
  probeMs: number;
}

export type AgentMessage =
  | { t: "ready"; pid: number; hostname: string; node: string }
  | { t: "broker"; address: string }
  | { t: "spawned"; w: string; pid: number }
  | { t: "err"; w: string; l: string }
  | { t: "exit"; w: string; code: number | null; signal: string | null }
  | { t: "error"; message: string };

export function encodeControl(msg: AgentMessage): string {
  return `${CONTROL_MARK}${JSON.stringify(msg)}\n`;
}

/** The control record on a line, or undefined for a plain line. */
export function decodeControl(line: string): AgentMessage | undefined {
  const at = line.indexOf(CONTROL_MARK);
  if (at < 0) return undefined;
  try {
    return JSON.parse(line.slice(at + CONTROL_MARK.length)) as AgentMessage;
  } catch {
    return undefined;
  }
}

/** A value quoted for a POSIX shell. */
export function shQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replaceAll("'", `'\\''`)}'`;
}
