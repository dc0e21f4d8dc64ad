/**
 * Process helpers shared by the end-to-end tests: find leftover processes,
 * poll for a condition, pick free ports, run a command and collect its output.
 *
 * Linux only (reads /proc, runs procps `ps`), like the rest of the e2e suite.
 */
import { spawn, type SpawnOptions } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { createServer } from "node:net";

/** One line of `ps`: a process id and its full command line. */
export interface ProcessInfo {
  pid: number;
  cmd: string;
}

/**
 * Lists the processes whose command line contains `marker`, e.g. a temp dir
 * path or a unique argument the test put on the command line.
 *
 * Uses `ps -ww -eo pid=,args=`: `-ww` because ps would otherwise truncate long
 * command lines (to the terminal width, or 80 columns without one) and the
 * marker is often near the end. The `ps` process itself and the calling
 * process are never reported.
 */
export async function listOurProcesses(marker: string): Promise<ProcessInfo[]> {
  if (marker === "") throw new Error("listOurProcesses: empty marker would match every process");
  const r = await spawnCollect("ps", ["-ww", "-eo", "pid=,args="], { timeout: 10_000 });
  if (r.code !== 0) throw new Error(`ps failed (code ${r.code}): ${r.stderr.trim()}`);
  const out: ProcessInfo[] = [];
  for (const line of r.stdout.split("\n")) {
    const m = /^\s*(\d+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const pid = Number(m[1]);
    const cmd = m[2]!;
    if (pid === process.pid || pid === r.pid) continue;
    if (cmd.includes(marker)) out.push({ pid, cmd });
  }
  return out;
}

/**
 * Lists the live processes whose initial environment contains the exact entry
 * `entry` ("NAME=value"), by reading /proc/<pid>/environ.
 *
 * This finds processes that changed their command line or detached from their
 * parent (setsid, double fork, nohup), as long as they inherited the variable.
 * It misses processes whose environment was reset (`env -i`) or whose environ
 * area was overwritten by a setproctitle() implementation (sshd does that), and
 * processes of other users when not root. Zombies have an empty environ and
 * are not reported.
 */
export function listProcessesByEnv(entry: string): ProcessInfo[] {
  const out: ProcessInfo[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    if (pid === process.pid) continue;
    let env: string;
    try {
      env = readFileSync(`/proc/${name}/environ`, "latin1");
    } catch {
      continue; // exited meanwhile, or not ours to read
    }
    if (!env.split("\0").includes(entry)) continue;
    let cmd = "";
    try {
      cmd = readFileSync(`/proc/${name}/cmdline`, "utf8").replace(/\0+$/, "").replaceAll("\0", " ");
    } catch {
      continue;
    }
    out.push({ pid, cmd });
  }
  return out;
}

/** Options of {@link waitFor}. */
export interface WaitForOptions {
  /** Give up after this many milliseconds. Default 5000. */
  timeout?: number;
  /** Poll every this many milliseconds. Default 50. */
  interval?: number;
  /** What is awaited, for the error message ("sshd to listen on 127.0.0.2"). */
  what?: string;
}

/**
 * Polls `cond` until it returns true, rejecting after `timeout` ms with an
 * error naming `what`. An exception from `cond` counts as "not yet" (so the
 * condition may, e.g., try to connect); the last one is quoted in the error.
 */
export async function waitFor(
  cond: () => boolean | Promise<boolean>,
  { timeout = 5000, interval = 50, what = "condition" }: WaitForOptions = {},
): Promise<void> {
  const start = Date.now();
  let lastError: unknown;
  for (;;) {
    try {
      if (await cond()) return;
      lastError = undefined;
    } catch (e) {
      lastError = e;
    }
    const elapsed = Date.now() - start;
    if (elapsed >= timeout) {
      const why = lastError === undefined ? "" : ` (last error: ${lastError instanceof Error ? lastError.message : String(lastError)})`;
      throw new Error(`timed out after ${elapsed} ms waiting for ${what}${why}`);
    }
    await new Promise((r) => setTimeout(r, Math.min(interval, timeout - elapsed)));
  }
}

/**
 * Returns a TCP port that was free on `host` (default 127.0.0.1) a moment ago,
 * by letting the kernel pick one. Another process may still take it before the
 * caller binds it; callers that can should retry on EADDRINUSE.
 */
export async function freePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once("error", reject);
    srv.listen({ host, port: 0, exclusive: true }, () => {
      const addr = srv.address();
      if (addr === null || typeof addr === "string") {
        srv.close();
        reject(new Error(`freePort: unexpected address ${String(addr)}`));
        return;
      }
      srv.close(() => resolve(addr.port));
    });
  });
}

/** Options of {@link spawnCollect}: node's spawn options plus a timeout and stdin text. */
export interface SpawnCollectOptions extends Omit<SpawnOptions, "stdio" | "detached" | "timeout"> {
  /** Kill the whole process group and reject after this many ms. Default 30000. */
  timeout?: number;
  /** Written to the child's stdin, which is then closed. Without it stdin is /dev/null. */
  input?: string | Buffer;
}

/** What {@link spawnCollect} resolves to. */
export interface SpawnResult {
  /** Exit code, or null when killed by a signal. */
  code: number | null;
  /** The signal that killed the process, or null. */
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Process id the child had (for excluding it from process listings). */
  pid: number | undefined;
}

/**
 * Runs `cmd args` and collects its output (UTF-8). Resolves when the process
 * has exited and its stdout/stderr are closed, whatever the exit code.
 *
 * The child runs in its own process group so that on timeout the whole group
 * (e.g. ssh and anything it forked) is SIGKILLed; the promise then rejects
 * with the command, the timeout and the output so far. Note that a background
 * process keeping stdout open delays the result until it exits (or the timeout).
 */
export function spawnCollect(cmd: string, args: readonly string[] = [], opts: SpawnCollectOptions = {}): Promise<SpawnResult> {
  const { timeout = 30_000, input, ...spawnOpts } = opts;
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      ...spawnOpts,
      stdio: [input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
      detached: true, // own process group: the timeout kill reaches grandchildren too
    });
    let stdout = "";
    let stderr = "";
    child.stdout!.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr!.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    if (input !== undefined) {
      child.stdin!.on("error", () => {}); // EPIPE when the child does not read its input
      child.stdin!.end(input);
    }
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
      } catch {
        child.kill("SIGKILL"); // group already gone; make sure of the child itself
      }
    }, timeout);
    const describe = () => [cmd, ...args].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : JSON.stringify(a))).join(" ");
    child.once("error", (e) => {
      clearTimeout(timer);
      reject(new Error(`could not run ${describe()}: ${e.message}`));
    });
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      if (timedOut) {
        reject(
          new Error(
            `${describe()} timed out after ${timeout} ms (process group killed)\n--- stdout ---\n${stdout}--- stderr ---\n${stderr}`,
          ),
        );
      } else {
        resolve({ code, signal, stdout, stderr, pid: child.pid });
      }
    });
  });
}
