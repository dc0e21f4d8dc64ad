/**
 * A real OpenSSH server for remote-launch tests, listening on loopback
 * aliases (127.0.0.2, 127.0.0.3, ...) so that each alias looks like a distinct
 * remote host to the launcher while everything stays on this machine.
 *
 * Linux: the whole 127.0.0.0/8 is routed to `lo` (route table "local"), so any
 * 127.x.y.z can be bound without `ip addr add`.
 *
 * Everything lives in a private temp dir: host key, client key, authorized_keys,
 * sshd_config, ssh client config, known_hosts and an `ssh` wrapper script that
 * the launcher can be given as `--ssh-executable`. Nothing under ~/.ssh or
 * /etc/ssh is read or written (except creating /run/sshd, which sshd requires
 * as root).
 *
 * Cleanup is guaranteed even when the test process dies without calling
 * stop(): a small watchdog shell holds a pipe from this process and, when it
 * reads EOF (stop() closing it, or this process exiting for any reason), kills
 * sshd, every connection process it forked and every session process (found
 * by the SCOOP_TEST_SSHD marker that sshd puts into sessions' environment),
 * then removes the temp dir.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync } from "node:fs";
import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, isIP } from "node:net";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { freePort, listOurProcesses, listProcessesByEnv, spawnCollect, waitFor, type ProcessInfo } from "./processes.js";

/** Path of the OpenSSH server binary (Debian package openssh-server). */
export const SSHD_PATH = "/usr/sbin/sshd";

/** Name of the environment variable sshd sets in every session (value: a random id). */
export const SESSION_MARKER_VAR = "SCOOP_TEST_SSHD";

/** What {@link startSshd} resolves to. */
export interface SshdHandle {
  /** The loopback addresses sshd listens on, e.g. ["127.0.0.2", "127.0.0.3"]. */
  readonly addresses: readonly string[];
  /** The port sshd listens on, the same on every address. */
  readonly port: number;
  /** Private temp dir holding keys, configs and the wrapper; removed by stop(). */
  readonly dir: string;
  /** ssh client config file (Host <addresses>: Port, IdentityFile, known_hosts, BatchMode, ...). */
  readonly sshConfig: string;
  /** Executable wrapper running `ssh -F <sshConfig> "$@"`; pass it as `--ssh-executable`. */
  readonly sshExecutable: string;
  /** The user to log in as (root in CI). The client config already sets it. */
  readonly user: string;
  /** "SCOOP_TEST_SSHD=<id>": present in the environment of every session process. */
  readonly sessionMarker: string;
  /** Processes started through this sshd that are still alive (shells, remote workers, ...). */
  sessionProcesses(): ProcessInfo[];
  /** sshd's log so far (stderr, LogLevel VERBOSE), for assertion messages. */
  log(): string;
  /**
   * Kills sshd, every connection it serves and every session process, removes
   * the temp dir. Rejects if one of our processes is still alive afterwards.
   * Idempotent.
   */
  stop(): Promise<void>;
}

/** Options of {@link startSshd}. */
export interface StartSshdOptions {
  /** Loopback addresses to listen on. Default ["127.0.0.2", "127.0.0.3"]. */
  addresses?: string[];
  /** Give up starting after this many ms. Default 10000. */
  timeout?: number;
}

/** True when the OpenSSH server binary is installed (scripts/install-test-deps.sh installs it). */
export function sshdAvailable(): boolean {
  return existsSync(SSHD_PATH);
}

/**
 * For `test(name, { skip: sshdSkipReason() }, ...)`: undefined when sshd is
 * installed; otherwise a reason to skip on a developer machine. In CI (env var
 * CI set) a missing sshd throws instead, so the suite fails rather than
 * silently skipping the remote-launch tests.
 */
export function sshdSkipReason(): string | undefined {
  if (sshdAvailable()) return undefined;
  const msg = `${SSHD_PATH} not found: run scripts/install-test-deps.sh (as root) to install openssh-server`;
  if (process.env.CI) throw new Error(`${msg} [CI is set, so this is an error, not a skip]`);
  return msg;
}

/**
 * Starts a private sshd on loopback aliases and waits until an ssh login
 * through {@link SshdHandle.sshExecutable} works on every address.
 * Typically takes 100-300 ms.
 *
 * Needs root for the login as root (what CI does); as another user, sshd runs
 * unprivileged and only that user can log in.
 */
export async function startSshd(opts: StartSshdOptions = {}): Promise<SshdHandle> {
  const addresses = opts.addresses ?? ["127.0.0.2", "127.0.0.3"];
  const timeout = opts.timeout ?? 10_000;
  if (addresses.length === 0) throw new Error("startSshd: no address");
  for (const a of addresses) {
    // Tests must never expose an sshd beyond this machine.
    if (!isLoopback(a)) throw new Error(`startSshd: ${a} is not a loopback address`);
  }
  if (new Set(addresses).size !== addresses.length) throw new Error(`startSshd: duplicate address in ${addresses.join(", ")}`);
  if (!sshdAvailable()) {
    throw new Error(`${SSHD_PATH} not found: run scripts/install-test-deps.sh (as root) to install openssh-server`);
  }
  const deadline = Date.now() + timeout;
  const user = userInfo().username;
  const isRoot = process.getuid?.() === 0;
  if (isRoot) {
    // sshd (as root) refuses to start without its privilege separation dir.
    mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
  }

  const dir = await mkdtemp(join(tmpdir(), "scoop-sshd-"));
  try {
    const hostKey = join(dir, "host_ed25519");
    const clientKey = join(dir, "client_ed25519");
    // ed25519: generated in a few ms (RSA takes far longer). No passphrase.
    await Promise.all([keygen(hostKey, "scoop-test-host"), keygen(clientKey, "scoop-test-client")]);
    const [hostPub, clientPub] = await Promise.all([readFile(`${hostKey}.pub`, "utf8"), readFile(`${clientKey}.pub`, "utf8")]);
    // An absolute AuthorizedKeysFile: no need to touch ~/.ssh/authorized_keys.
    await writeFile(join(dir, "authorized_keys"), clientPub, { mode: 0o600 });

    const sessionMarker = `${SESSION_MARKER_VAR}=${randomBytes(8).toString("hex")}`;
    const sshConfig = join(dir, "ssh_config");
    const sshExecutable = join(dir, "ssh");
    const sshdConfig = join(dir, "sshd_config");
    // The watchdog runs from a file (not sh -c) so that ps shows a short,
    // recognisable command line: /bin/sh <dir>/watchdog.sh <pid> <marker> <dir>.
    await writeFile(join(dir, "watchdog.sh"), WATCHDOG_SCRIPT, { mode: 0o755 });
    await writeFile(
      sshExecutable,
      // exec: the launcher's signals and exit status reach ssh directly.
      `#!/bin/sh\nexec ${shQuote(sshClientPath())} -F ${shQuote(sshConfig)} "$@"\n`,
      { mode: 0o755 },
    );

    // The port can be taken by someone else between freePort() and sshd's
    // bind: retry with another port when sshd reports a bind failure.
    let lastError: Error | undefined;
    for (let attempt = 0; attempt < 8 && Date.now() < deadline; attempt++) {
      const port = await commonFreePort(addresses);
      await writeFile(sshdConfig, sshdConfigText({ dir, addresses, port, hostKey, user, sessionMarker }));
      await writeFile(sshConfig, sshClientConfigText({ addresses, port, user, clientKey, dir }));
      await writeFile(join(dir, "known_hosts"), knownHostsText(addresses, port, hostPub));

      const server = new SshdProcess(dir, sshdConfig, sessionMarker);
      try {
        await server.waitListening(addresses, port, deadline);
      } catch (e) {
        await server.kill({ keepDir: true }); // the next attempt reuses the dir
        lastError = e as Error;
        if ((e as { bindFailure?: boolean }).bindFailure) continue;
        throw e;
      }
      try {
        // A real login on every address: proves keys, config and the alias
        // routing work before the test relies on them.
        await Promise.all(addresses.map((a) => probe(sshExecutable, a, deadline, server)));
      } catch (e) {
        await server.kill();
        throw e;
      }
      return makeHandle({ addresses, port, dir, sshConfig, sshExecutable, user, sessionMarker, server });
    }
    throw lastError ?? new Error(`startSshd: timed out after ${timeout} ms`);
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
}

function makeHandle(h: {
  addresses: string[];
  port: number;
  dir: string;
  sshConfig: string;
  sshExecutable: string;
  user: string;
  sessionMarker: string;
  server: SshdProcess;
}): SshdHandle {
  let stopping: Promise<void> | undefined;
  return {
    addresses: [...h.addresses],
    port: h.port,
    dir: h.dir,
    sshConfig: h.sshConfig,
    sshExecutable: h.sshExecutable,
    user: h.user,
    sessionMarker: h.sessionMarker,
    sessionProcesses: () => listProcessesByEnv(h.sessionMarker),
    log: () => h.server.log(),
    stop() {
      stopping ??= (async () => {
        await h.server.kill();
        // Belt and braces: nothing of ours may survive a test. The config path
        // is in the title of the listener and in the command line of freshly
        // re-executed connection processes. (Client-side ssh processes of the
        // test name ssh_config, not sshd_config: they exit by themselves once
        // their connection is gone.)
        const sshdProcs = await listOurProcesses(join(h.dir, "sshd_config"));
        const left = [...sshdProcs, ...listProcessesByEnv(h.sessionMarker)];
        for (const p of left) tryKill(p.pid, "SIGKILL");
        await rm(h.dir, { recursive: true, force: true });
        if (left.length > 0) {
          throw new Error(`sshd stop: processes survived the watchdog and were killed now:\n${left.map((p) => `${p.pid} ${p.cmd}`).join("\n")}`);
        }
      })();
      return stopping;
    },
  };
}

/**
 * The sshd child process plus its watchdog. sshd is our direct child so that
 * an early exit (bad config, port taken) is seen at once; the watchdog is a
 * separate shell because it must outlive this process if this process dies.
 */
class SshdProcess {
  private readonly sshd: ChildProcess;
  private readonly watchdog: ChildProcess;
  private logText = "";
  private exited: { code: number | null; signal: string | null } | undefined;
  private readonly exitWaiters: Array<() => void> = [];
  private killing: Promise<void> | undefined;

  constructor(dir: string, configPath: string, sessionMarker: string) {
    // -D: stay in the foreground as our child; -e: log to stderr (we keep it).
    this.sshd = spawn(SSHD_PATH, ["-D", "-e", "-f", configPath], {
      stdio: ["ignore", "ignore", "pipe"],
      // Own process group: a Ctrl-C in the terminal must not kill sshd before
      // the watchdog does the full cleanup.
      detached: true,
      env: { PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin", LANG: "C" },
    });
    this.sshd.stderr!.setEncoding("utf8").on("data", (d: string) => {
      this.logText += d;
      // Bound memory: a long e2e test can make many connections.
      if (this.logText.length > 256_000) this.logText = this.logText.slice(-128_000);
      this.notify();
    });
    this.sshd.once("error", (e) => {
      this.logText += `\n[spawn error: ${e.message}]\n`;
      this.exited ??= { code: null, signal: null };
      this.notify();
    });
    this.sshd.once("exit", (code, signal) => {
      this.exited = { code, signal };
      this.notify();
    });
    // Don't keep the test process alive because of sshd: if a test forgets
    // stop(), the process exits, the watchdog's pipe closes and it cleans up.
    this.sshd.unref();
    (this.sshd.stderr as unknown as { unref?: () => void }).unref?.();

    this.watchdog = spawn("/bin/sh", [join(dir, "watchdog.sh"), String(this.sshd.pid ?? 0), sessionMarker, dir], {
      stdio: ["pipe", "ignore", "ignore"],
      detached: true,
    });
    this.watchdog.stdin!.on("error", () => {});
    this.watchdog.unref();
    (this.watchdog.stdin as unknown as { unref?: () => void }).unref?.();
  }

  log(): string {
    return this.logText;
  }

  hasExited(): boolean {
    return this.exited !== undefined;
  }

  private notify(): void {
    for (const w of this.exitWaiters.splice(0)) w();
  }

  private changed(): Promise<void> {
    return new Promise((r) => this.exitWaiters.push(r));
  }

  /** Resolves once sshd logged "Server listening on <a> port <port>." for every address. */
  async waitListening(addresses: readonly string[], port: number, deadline: number): Promise<void> {
    for (;;) {
      const log = this.logText;
      const bind = /Bind to port \d+ on \S+ failed[^\n]*|Cannot bind any address[^\n]*/.exec(log);
      if (bind) throw Object.assign(new Error(`sshd: ${bind[0]}`), { bindFailure: true });
      if (addresses.every((a) => log.includes(`Server listening on ${a} port ${port}.`))) return;
      if (this.exited) {
        throw new Error(`sshd exited before listening (code ${this.exited.code}, signal ${this.exited.signal}):\n${log}`);
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for sshd to listen on ${addresses.join(", ")} port ${port}:\n${log}`);
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.changed(), new Promise((r) => (timer = setTimeout(r, left)))]);
      clearTimeout(timer);
    }
  }

  /**
   * Closes the watchdog's pipe (it kills everything and removes the dir unless
   * told "keep") and waits for it. Idempotent.
   */
  kill({ keepDir = false }: { keepDir?: boolean } = {}): Promise<void> {
    this.killing ??= (async () => {
      const done = new Promise<void>((resolve) => {
        if (this.watchdog.exitCode !== null || this.watchdog.signalCode !== null) resolve();
        else this.watchdog.once("exit", () => resolve());
      });
      this.watchdog.stdin!.end(keepDir ? "keep\n" : "");
      let timer: NodeJS.Timeout | undefined;
      const timedOut = await Promise.race([
        done.then(() => false),
        new Promise<boolean>((r) => (timer = setTimeout(() => r(true), 5000))),
      ]);
      clearTimeout(timer);
      if (timedOut) tryKill(this.watchdog.pid, "SIGKILL");
      // Whatever the watchdog did, sshd itself must be gone, and reaped (so
      // that it does not linger as a zombie in ps listings).
      if (!this.exited) tryKill(this.sshd.pid, "SIGKILL");
      await waitFor(() => this.exited !== undefined, { timeout: 5000, interval: 10, what: "sshd to exit" });
    })();
    return this.killing;
  }
}

/**
 * Watchdog, run by /bin/sh with $1 = sshd pid, $2 = session marker entry,
 * $3 = the temp dir.
 * Blocks until its stdin reaches EOF (stop(), or this process died), then:
 *  1. SIGSTOPs sshd and, repeatedly, all its descendants until the set is
 *     stable: stopped processes cannot accept, fork or exec, so nothing
 *     escapes between listing and killing (a connection being set up forks
 *     monitor -> session child -> shell);
 *  2. SIGKILLs that whole set;
 *  3. SIGKILLs, until none is left, every process carrying the session marker
 *     in its environment: session processes that detached (setsid, nohup, &)
 *     and were re-parented away from sshd's tree.
 *  4. removes the temp dir, unless stdin said "keep" (a retry on another port).
 * sshd's own processes are found by parentage, not by the marker, because
 * sshd's setproctitle() overwrites their environ area.
 */
const WATCHDOG_SCRIPT = String.raw`#!/bin/sh
# scoop test sshd watchdog (test/support/sshd.ts)
mode=$(cat)
root=$1 marker=$2 dir=$3
descendants() {
  ps -e -o pid= -o ppid= | awk -v roots="$*" '
    BEGIN { n = split(roots, r, " "); for (i = 1; i <= n; i++) keep[r[i]] = 1 }
    { parent[$1] = $2 }
    END {
      do { changed = 0
        for (p in parent) if (!(p in keep) && (parent[p] in keep)) { keep[p] = 1; changed = 1 }
      } while (changed)
      for (p in keep) if (p in parent) print p
    }'
}
# Only if that pid is still our sshd (its title names our config): after it
# exited and was reaped, the pid may belong to an unrelated process.
if [ "$root" -gt 1 ] && grep -qsF "$dir/sshd_config" "/proc/$root/cmdline" && kill -STOP "$root" 2>/dev/null; then
  set -- "$root"
  prev=
  while :; do
    all=$(descendants "$@" | sort -n | tr '\n' ' ')
    [ "$all" = "$prev" ] && break
    kill -STOP $all 2>/dev/null
    prev=$all
    set -- $all
  done
  kill -KILL $all 2>/dev/null
fi
n=0 status=1
while [ $n -lt 100 ]; do
  pids=$(grep -lszxF -e "$marker" /proc/[0-9]*/environ | sed -e 's#^/proc/##' -e 's#/environ$##')
  if [ -z "$pids" ]; then status=0; break; fi
  kill -KILL $pids 2>/dev/null
  n=$((n + 1))
  sleep 0.05
done
[ "$mode" = keep ] || rm -rf -- "$dir"
exit $status
`;

function sshdConfigText(o: {
  dir: string;
  addresses: readonly string[];
  port: number;
  hostKey: string;
  user: string;
  sessionMarker: string;
}): string {
  const lines = [
    `# scoop test sshd (test/support/sshd.ts); only this file is read (no Include).`,
    `Port ${o.port}`,
    ...o.addresses.map((a) => `ListenAddress ${a}`),
    `HostKey ${o.hostKey}`,
    `PidFile ${join(o.dir, "sshd.pid")}`,
    `AuthorizedKeysFile ${join(o.dir, "authorized_keys")}`,
    `AllowUsers ${o.user}`,
    // PAM in containers tends to fail (pam_loginuid) and is not what we test.
    `UsePAM no`,
    // The temp dir's ownership/modes are not what sshd wants for a home.
    `StrictModes no`,
    `PermitRootLogin prohibit-password`,
    `PubkeyAuthentication yes`,
    `PasswordAuthentication no`,
    `KbdInteractiveAuthentication no`,
    // The launcher's --tunnel uses reverse (-R) forwards, bound to loopback only.
    `AllowTcpForwarding yes`,
    `GatewayPorts no`,
    `AcceptEnv SCOOP_*`,
    // Marks every session process, so cleanup finds detached remote workers.
    `SetEnv ${o.sessionMarker}`,
    `X11Forwarding no`,
    `PrintMotd no`,
    `PrintLastLog no`,
    `UseDNS no`,
    // Launcher tests open many connections at once; the default 10:30:100
    // drops some at random.
    `MaxStartups 200`,
    `MaxSessions 50`,
    `LoginGraceTime 30`,
    `LogLevel VERBOSE`,
    `Subsystem sftp internal-sftp`,
  ];
  // OpenSSH >= 9.8 penalises sources with failed/aborted connections, which
  // e2e tests (killing ssh on purpose) produce from 127.0.0.1 all the time.
  const v = opensshVersion();
  if (v !== undefined && (v[0] > 9 || (v[0] === 9 && v[1] >= 8))) lines.push(`PerSourcePenalties no`);
  return lines.join("\n") + "\n";
}

function sshClientConfigText(o: { addresses: readonly string[]; port: number; user: string; clientKey: string; dir: string }): string {
  return [
    `# scoop test ssh client config (test/support/sshd.ts); used via ssh -F, so no other config is read.`,
    `Host ${o.addresses.join(" ")}`,
    `  Port ${o.port}`,
    `  User ${o.user}`,
    `  IdentityFile ${o.clientKey}`,
    `  IdentitiesOnly yes`,
    // Pre-populated with our host key: strict checking, and nothing is written.
    `  UserKnownHostsFile ${join(o.dir, "known_hosts")}`,
    `  GlobalKnownHostsFile /dev/null`,
    `  StrictHostKeyChecking yes`,
    `  UpdateHostKeys no`,
    `  CheckHostIP no`,
    `  BatchMode yes`,
    `  LogLevel ERROR`,
    `  ConnectTimeout 10`,
    `  ControlMaster no`,
    `  ControlPath none`,
    // A -R that cannot be set up must fail the ssh, not be a silent warning.
    `  ExitOnForwardFailure yes`,
    `  SendEnv SCOOP_*`,
    "",
  ].join("\n");
}

function knownHostsText(addresses: readonly string[], port: number, hostPub: string): string {
  const [type, key] = hostPub.trim().split(/\s+/);
  return addresses.map((a) => `[${a}]:${port} ${type} ${key}\n`).join("");
}

/** Is `a` an IPv4 address in 127.0.0.0/8, or ::1? */
function isLoopback(a: string): boolean {
  if (isIP(a) === 4) return a.startsWith("127.");
  if (isIP(a) === 6) return a === "::1" || a === "0:0:0:0:0:0:0:1";
  return false;
}

/** A port that is free on every one of `addresses` (sshd uses one Port for all). */
async function commonFreePort(addresses: readonly string[]): Promise<number> {
  for (let i = 0; i < 20; i++) {
    const port = await freePort(addresses[0]);
    const ok = await Promise.all(addresses.slice(1).map((a) => canBind(a, port)));
    if (ok.every(Boolean)) return port;
  }
  throw new Error(`no port free on all of ${addresses.join(", ")}`);
}

function canBind(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.unref();
    srv.once("error", () => resolve(false));
    srv.listen({ host, port, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

async function keygen(path: string, comment: string): Promise<void> {
  const r = await spawnCollect("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", path], { timeout: 10_000 });
  if (r.code !== 0) throw new Error(`ssh-keygen failed (code ${r.code}): ${r.stderr}`);
  await chmod(path, 0o600); // ssh refuses private keys readable by others
}

/** One `ssh <address> true` through the wrapper, retried while sshd is still coming up. */
async function probe(sshExecutable: string, address: string, deadline: number, server: SshdProcess): Promise<void> {
  let last = "";
  for (;;) {
    const left = deadline - Date.now();
    if (left <= 0) break;
    const r = await spawnCollect(sshExecutable, [address, "true"], { timeout: left }).catch((e: Error) => {
      last = e.message;
      return undefined;
    });
    if (r?.code === 0) return;
    if (r) last = `exit code ${r.code}, signal ${r.signal}: ${r.stderr.trim()}`;
    // Authentication or config errors do not fix themselves: fail fast.
    if (server.hasExited() || /Permission denied|Host key verification failed|not allowed/.test(last)) break;
    await new Promise((res) => setTimeout(res, 50));
  }
  throw new Error(`ssh probe of ${address} failed: ${last}\n--- sshd log ---\n${server.log()}`);
}

let sshClient: string | undefined;
/** Absolute path of the ssh client, so the wrapper does not depend on PATH. */
function sshClientPath(): string {
  sshClient ??= ["/usr/bin/ssh", "/bin/ssh", "/usr/local/bin/ssh"].find((p) => existsSync(p)) ?? "ssh";
  return sshClient;
}

let version: [number, number] | null | undefined;
/** [major, minor] of the installed OpenSSH server, from `sshd -V` (older ones print it with their usage). */
function opensshVersion(): [number, number] | undefined {
  if (version === undefined) {
    const r = spawnSync(SSHD_PATH, ["-V"], { encoding: "utf8", timeout: 5000 });
    const m = /OpenSSH_(\d+)\.(\d+)/.exec(`${r.stdout ?? ""}${r.stderr ?? ""}`);
    version = m ? [Number(m[1]), Number(m[2])] : null;
  }
  return version ?? undefined;
}

function shQuote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

function tryKill(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}
