/**
 * Real processes for end-to-end tests: a scoop-broker, and scoop-workers configured by the seed's
 * environment variables, all from the built package (what `npx` runs), with their output captured.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { waitFor } from "./processes.js";

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));
export const BROKER_CLI = `${ROOT}dist/cli/broker.js`;
export const WORKER_CLI = `${ROOT}dist/cli/worker.js`;
export const FIXTURES = `${ROOT}test/fixtures/`;

export interface Proc {
  child: ChildProcess;
  stdout: string;
  stderr: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal?: NodeJS.Signals): void;
}

export function start(cmd: string, args: string[], env: Record<string, string | undefined> = {}, cwd = ROOT): Proc {
  const fullEnv: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...process.env, ...env })) if (v !== undefined) fullEnv[k] = v;
  // Keep a developer's shell settings from leaking into a test's worker configuration.
  for (const k of ["IS_ORIGIN", "WORKER_NAME", "BROKER_NAME", "BROKER_ADDRESS", "META_ADDRESS"]) if (!(k in env)) delete fullEnv[k];
  const child = spawn(cmd, args, { env: fullEnv, cwd, stdio: ["ignore", "pipe", "pipe"] });
  const p: Proc = {
    child,
    stdout: "",
    stderr: "",
    exited: new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal }))),
    kill: (signal = "SIGKILL") => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
  };
  child.stdout!.setEncoding("utf8").on("data", (d: string) => (p.stdout += d));
  child.stderr!.setEncoding("utf8").on("data", (d: string) => (p.stderr += d));
  return p;
}

export interface BrokerProc extends Proc {
  taskAddress: string;
  metaAddress: string;
}

/** Starts scoop-broker and waits until it printed its addresses. */
export async function startBroker(args: string[] = []): Promise<BrokerProc> {
  const p = start(process.execPath, [BROKER_CLI, ...args]) as BrokerProc;
  await waitFor(() => /META_ADDRESS=\S+/.test(p.stdout) || p.child.exitCode !== null, { timeout: 10_000, what: "the broker to print its addresses" });
  const t = /BROKER_ADDRESS=(\S+)/.exec(p.stdout);
  const m = /META_ADDRESS=(\S+)/.exec(p.stdout);
  if (!t || !m) throw new Error(`broker did not start: ${p.stderr}`);
  p.taskAddress = t[1]!;
  p.metaAddress = m[1]!;
  return p;
}

/** Starts scoop-worker with the seed's variables. */
export function startWorker(script: string, args: string[], env: Record<string, string | undefined>, flags: string[] = []): Proc {
  return start(process.execPath, [WORKER_CLI, ...flags, script, ...args], env);
}

export function brokerEnv(b: { taskAddress: string; metaAddress: string }): Record<string, string> {
  return { BROKER_ADDRESS: b.taskAddress, META_ADDRESS: b.metaAddress };
}

/** Waits for the process to exit (killing it after `timeout` ms) and returns its code. */
export async function exitOf(p: Proc, timeout = 60_000): Promise<number | null> {
  const timer = setTimeout(() => p.kill(), timeout);
  const { code } = await p.exited;
  clearTimeout(timer);
  return code;
}

/** Kills whatever is still running: for `after` hooks, so a failed test leaves no process. */
export function killAll(procs: Proc[]): void {
  for (const p of procs) p.kill();
}
