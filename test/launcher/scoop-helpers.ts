/**
 * Running the real `scoop` launcher (dist/cli/scoop.js, what `npx scoop` runs) from the launcher
 * tests, with its output captured, and finding what it may have left behind.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { listOurProcesses, waitFor, type ProcessInfo } from "../support/processes.js";

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));
export const SCOOP_CLI = `${ROOT}dist/cli/scoop.js`;
export const FIXTURES = `${ROOT}test/fixtures/launcher/`;

export interface ScoopRun {
  child: ChildProcess;
  stdout: string;
  stderr: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
  /** Resolves once `re` matches stderr (or rejects after the timeout). */
  waitStderr(re: RegExp, timeout?: number): Promise<void>;
  waitStdout(re: RegExp, timeout?: number): Promise<void>;
}

/** Starts `scoop args…` in the repository root with a clean worker environment. */
export function scoop(args: string[], opts: { cwd?: string; env?: Record<string, string | undefined> } = {}): ScoopRun {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...process.env, ...opts.env })) if (v !== undefined) env[k] = v;
  for (const k of ["IS_ORIGIN", "WORKER_NAME", "BROKER_NAME", "BROKER_ADDRESS", "META_ADDRESS", "SCOOP_LOG_LEVEL"]) if (!opts.env || !(k in opts.env)) delete env[k];
  const child = spawn(process.execPath, [SCOOP_CLI, ...args], { cwd: opts.cwd ?? ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
  const run: ScoopRun = {
    child,
    stdout: "",
    stderr: "",
    exited: new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal, at: Date.now() }))),
    waitStderr: (re, timeout = 30_000) => waitFor(() => re.test(run.stderr) || child.exitCode !== null, { timeout, what: `stderr to match ${re}` }),
    waitStdout: (re, timeout = 30_000) => waitFor(() => re.test(run.stdout) || child.exitCode !== null, { timeout, what: `stdout to match ${re}` }),
  };
  child.stdout!.setEncoding("utf8").on("data", (d: string) => (run.stdout += d));
  child.stderr!.setEncoding("utf8").on("data", (d: string) => (run.stderr += d));
  return run;
}

/** Runs scoop to completion (killing it after `timeout`). */
export async function scoopRun(args: string[], opts: { cwd?: string; env?: Record<string, string | undefined>; timeout?: number } = {}) {
  const run = scoop(args, opts);
  const timer = setTimeout(() => run.child.kill("SIGKILL"), opts.timeout ?? 60_000);
  const { code, signal } = await run.exited;
  clearTimeout(timer);
  // stdout/stderr may still hold a last chunk
  await new Promise((r) => setImmediate(r));
  return { code, signal, stdout: run.stdout, stderr: run.stderr };
}

/** A string to put on worker command lines (as a script argument) to find them with ps. */
export function uniqueMarker(): string {
  return `mark-${randomBytes(6).toString("hex")}`;
}

/** Processes whose command line contains `marker` (the test runner itself excluded). */
export async function leftovers(marker: string): Promise<ProcessInfo[]> {
  return listOurProcesses(marker);
}
