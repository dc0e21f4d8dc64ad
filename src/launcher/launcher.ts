/**
 * `scoop`: starts a broker (in this process), the workers (local child processes, and one ssh
 * connection per remote host), waits for the origin, cleans up everything and returns the origin's
 * exit status.
 *
 * Failures are reported by name and stop the run cleanly: a host ssh cannot reach (with ssh's own
 * message), a bootstrap or prolog that fails, a host that cannot reach the broker, a worker that
 * exits before it joined the pool (with its stderr). A worker that dies after joining is reported
 * and the pool carries on without it.
 *
 * A worker's stderr is held back until it joined the pool, then relayed line by line: the output of
 * a worker that could not start appears once, in its failure report, and the output of workers that
 * started too late to be useful (the origin was already done) is not shown at all.
 */
import type { ChildProcess } from "node:child_process";
import { appendFileSync, closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, rmSync, statSync, writeSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { hostname, tmpdir } from "node:os";
import { isAbsolute, join, resolve } from "node:path";
import { Broker } from "../broker/broker.js";
import type { Observation } from "../observe/server.js";
import { ConfigError } from "../errors.js";
import { createLogger, isLogLevel, type Logger, type LogLevel } from "../log.js";
import { generateKeys, serializeKeys, type PoolKeys } from "../transport/curve.js";
import { PROGRESS_RELAY_VAR, PROGRESS_REPORT_VAR } from "../observe/progress.js";
import { ProgressDisplay } from "../observe/progress-display.js";
import { externalAddresses, isLocalHost } from "./local-host.js";
import type { LaunchOptions, Verbosity } from "./options.js";
import { describePlan, planLaunch, type LaunchPlan, type PlannedHost } from "./plan.js";
import { RemoteHost, BOOTSTRAP_EXIT, bootstrapMessage, type TunnelPorts } from "./remote.js";
import {
  exitStatus,
  LIFELINE,
  LineSplitter,
  profileArgs,
  collectProfile,
  signalGroup,
  spawnWorker,
  TRACE_DIR_VAR,
  WORKER_CLI,
  workerEnvironment,
} from "./worker-process.js";

/** Exit status when the pool could not be started or a host was lost (the origin's otherwise). */
export const EXIT_LAUNCH_FAILED = 1;

/** After the origin ended: how long workers get to leave by themselves. */
const DRAIN_MS = 3000;
/** When stopping: SIGTERM, then SIGKILL for local workers after this. */
const LOCAL_GRACE_MS = 1000;
/** Remote agents SIGKILL their workers this long after being told to stop. */
const REMOTE_GRACE_MS = 800;
/** When stopping: how long to wait for ssh clients (their agents cleaning up) before killing them. */
const REMOTE_WAIT_MS = 1600;
/** How long a remote host tries to open a TCP connection to the broker. */
const PROBE_MS = 5000;

interface WorkerState {
  name: string;
  host: string;
  origin: boolean;
  local: boolean;
  joined: boolean;
  exited: boolean;
  status: number | undefined;
  /** Ended by a signal rather than with an exit code. */
  killed: boolean;
  /** stderr lines held back until the worker joins. */
  pending: string[];
  /** Last stderr lines after joining, for reports. */
  tail: string[];
}

type Outcome =
  | { kind: "origin"; status: number }
  | { kind: "fatal"; message: string }
  | { kind: "signal"; signal: NodeJS.Signals };

function levels(v: Verbosity, env: NodeJS.ProcessEnv): { launcher: LogLevel; worker: LogLevel } {
  const launcher: LogLevel = v < 0 ? "error" : v === 0 ? "warn" : v === 1 ? "info" : "debug";
  let worker: LogLevel = v < 0 ? "error" : v <= 1 ? "warn" : v === 2 ? "info" : "debug";
  const fromEnv = env.SCOOP_LOG_LEVEL;
  if (v === 0 && fromEnv && isLogLevel(fromEnv)) worker = fromEnv;
  return { launcher, worker };
}

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once("error", rej);
    srv.listen({ host: "127.0.0.1", port: 0, exclusive: true }, () => {
      const a = srv.address();
      srv.close(() => (a && typeof a === "object" ? res(a.port) : rej(new Error("no port"))));
    });
  });
}

function portOf(endpoint: string): number {
  const m = /:(\d+)$/.exec(endpoint);
  if (!m) throw new Error(`no port in ${endpoint}`);
  return Number(m[1]);
}

/** IPC socket directories: `<tmp>/scoop-ipc-<launcher pid>-XXXXXX`, private to the user (0700). */
const IPC_PREFIX = "scoop-ipc-";

/** Removes the socket directories of launchers that were killed before they could clean up. */
function sweepStaleIpcDirs(): void {
  try {
    for (const name of readdirSync(tmpdir())) {
      const m = new RegExp(`^${IPC_PREFIX}(\\d+)-`).exec(name);
      if (!m) continue;
      try {
        process.kill(Number(m[1]), 0);
        continue; // that launcher is alive
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "ESRCH") continue;
      }
      rmSync(join(tmpdir(), name), { recursive: true, force: true });
    }
  } catch {
    // best effort
  }
}

/** Runs a launch to the end and returns the exit status. */
export async function launch(options: LaunchOptions): Promise<number> {
  return new LaunchRun(options).run();
}

class LaunchRun {
  private readonly o: LaunchOptions;
  private readonly env: NodeJS.ProcessEnv;
  private readonly cwd: string;
  private readonly log: Logger;
  private readonly workerLevel: LogLevel;
  private readonly logLevel: LogLevel;
  private logFd: number | undefined;
  private readonly workers = new Map<string, WorkerState>();
  private readonly local = new Map<string, ChildProcess>();
  private readonly remotes: RemoteHost[] = [];
  private broker: Broker | undefined;
  /** `--dashboard` / `--metrics`: the broker's observer and its servers. */
  private observation: Observation | undefined;
  private ipcDir: string | undefined;
  private bindHost = "127.0.0.1";
  private keys: PoolKeys | undefined;
  private poolEnded = false;
  private stopping = false;
  private forced = false;
  private failed = false;
  private originStatus: number | undefined;
  private settle!: (o: Outcome) => void;
  private readonly outcome = new Promise<Outcome>((r) => (this.settle = r));
  private settled = false;
  private readonly timers: NodeJS.Timeout[] = [];
  /** Live progress lines at the bottom of our stderr: the pool line (--progress) and map bars. */
  private display: ProgressDisplay | undefined;
  private readonly changeWaiters: Array<() => void> = [];
  private readonly signalHandlers: Array<[NodeJS.Signals, () => void]> = [];

  constructor(o: LaunchOptions) {
    this.o = o;
    this.env = o.env ?? process.env;
    this.cwd = o.cwd ?? process.cwd();
    const lv = levels(o.verbosity, this.env);
    this.logLevel = lv.launcher;
    this.workerLevel = lv.worker;
    let write = (l: string) => this.writeErr(l);
    if (o.logFile !== undefined) {
      const file = resolve(this.cwd, o.logFile);
      try {
        this.logFd = openSync(file, "a");
      } catch (e) {
        throw new ConfigError(`--log: cannot open ${file} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
      }
      const fd = this.logFd;
      write = (l: string) => {
        try {
          writeSync(fd, l);
        } catch {
          // a full disk must not stop the run
        }
      };
    }
    this.log = createLogger("scoop", lv.launcher, write);
  }

  /** Writes the workers' output to our stdout, keeping the progress lines (if any) below it. */
  private writeOut(chunk: Buffer | string): void {
    this.display?.clear();
    process.stdout.write(chunk);
  }

  /** Writes to our stderr, keeping the progress lines (if any) below the text. */
  private writeErr(text: string): void {
    this.display?.clear();
    process.stderr.write(text);
  }

  async run(): Promise<number> {
    try {
      return await this.launch();
    } finally {
      for (const t of this.timers) clearInterval(t);
      this.display?.finish();
      for (const [sig, h] of this.signalHandlers) process.off(sig, h);
      this.killEverything();
      await this.observation?.close();
      if (this.broker) await this.broker.close({ peersGone: this.allGone() });
      if (this.ipcDir) rmSync(this.ipcDir, { recursive: true, force: true });
      if (this.logFd !== undefined) closeSync(this.logFd);
    }
  }

  private async launch(): Promise<number> {
    const o = this.o;
    process.stdout.on("error", () => {}); // a closed pipe (scoop … | head) must not crash the launcher
    const plan = planLaunch({
      ...(o.workers !== undefined ? { workers: o.workers } : {}),
      ...(o.hosts !== undefined ? { hosts: o.hosts } : {}),
      ...(o.hostfile !== undefined ? { hostfile: resolve(this.cwd, o.hostfile) } : {}),
      env: this.env,
    });
    const hasLocal = plan.hosts.some((h) => h.local);
    const hasRemote = plan.hosts.some((h) => !h.local);
    const localScript = resolve(this.cwd, o.script);
    if (hasLocal) {
      if (!existsSync(localScript)) throw new ConfigError(`script not found: ${o.script}`);
      if (!statSync(localScript).isFile()) throw new ConfigError(`not a file: ${o.script}`);
    }
    const remotePath = o.path !== undefined ? resolve(this.cwd, o.path) : this.cwd;
    const remoteScript = isAbsolute(o.script) ? o.script : resolve(remotePath, o.script);
    const debugDir = o.debugDir !== undefined ? resolve(this.cwd, o.debugDir) : undefined;
    const profileDir = o.profileDir !== undefined ? resolve(this.cwd, o.profileDir) : undefined;
    for (const [d, flag] of [[debugDir, "--debug"], [profileDir, "--profile"]] as const) {
      if (d === undefined) continue;
      try {
        mkdirSync(d, { recursive: true });
      } catch (e) {
        throw new ConfigError(`${flag}: cannot create ${d} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
      }
    }
    if (!hasRemote) {
      for (const [v, flag] of [[o.prolog, "--prolog"], [o.tunnel || undefined, "--tunnel"], [o.externalHostname, "--external-hostname"]] as const) {
        if (v !== undefined) this.log.info(`${flag} has no effect: every worker runs on this machine`);
      }
    }
    this.log.info(describePlan(plan));
    for (const h of plan.hosts) {
      for (const w of h.workers) {
        this.workers.set(w.name, {
          name: w.name,
          host: h.host,
          origin: w.origin,
          local: h.local,
          joined: false,
          exited: false,
          status: undefined,
          killed: false,
          pending: [],
          tail: [],
        });
      }
    }

    this.installSignalHandlers();
    if (o.dashboard !== undefined || o.metricsPort !== undefined) await this.startObservation();
    const broker = await this.startBroker(hasRemote);
    this.broker = broker;
    this.observation?.attach(broker);
    broker.on("worker", (name: string) => this.onJoined(name));
    broker.on("shutdown", (code: number) => {
      this.poolEnded = true;
      this.log.debug(`the pool ended (origin status ${code})`);
    });
    if (debugDir) this.startBrokerTrace(debugDir, plan);
    this.startProgress();

    const extra: Record<string, string> = { SCOOP_LOG_LEVEL: this.workerLevel };
    // Workers send their progress (map bars; counts under --progress) to us, who own the terminal.
    extra[PROGRESS_RELAY_VAR] = process.stderr.isTTY === true ? "tty" : "pipe";
    if (this.progressOn) extra[PROGRESS_REPORT_VAR] = "1";
    if (debugDir) extra[TRACE_DIR_VAR] = debugDir;
    // The pool's keys travel in the environment (locally) and on the agent's stdin (remotely),
    // never on a command line.
    if (this.keys) extra.SCOOP_KEY = serializeKeys(this.keys);

    for (const h of plan.hosts) {
      if (h.local && !this.settled) this.startLocal(h, broker, localScript, extra, profileDir);
    }
    for (const h of plan.hosts) {
      if (!h.local && !this.settled) await this.startRemote(h, broker, remotePath, remoteScript, extra, debugDir, profileDir);
    }

    return this.finish(await this.outcome);
  }

  // ------------------------------------------------------------------------------------------
  // Broker

  private async startBroker(hasRemote: boolean): Promise<Broker> {
    const logger = createLogger("broker", this.logLevel, (l) => (this.logFd !== undefined ? writeSync(this.logFd, l) : this.writeErr(l)));
    const name = `scoop-${process.pid}`;
    if (!hasRemote) {
      // Every process on this machine: IPC sockets, nothing listens on the network.
      try {
        sweepStaleIpcDirs();
        this.ipcDir = mkdtempSync(join(tmpdir(), `${IPC_PREFIX}${process.pid}-`));
        const b = await Broker.start({
          name,
          logger,
          ...(this.observation ? { observer: this.observation.observer } : {}),
          taskEndpoint: `ipc://${join(this.ipcDir, "task")}`,
          metaEndpoint: `ipc://${join(this.ipcDir, "meta")}`,
        });
        this.log.debug(`broker ${name} on ${b.taskAddress} and ${b.metaAddress}`);
        return b;
      } catch (e) {
        this.log.debug(`IPC sockets unavailable (${(e as Error).message}); using TCP on 127.0.0.1`);
        if (this.ipcDir) rmSync(this.ipcDir, { recursive: true, force: true });
        this.ipcDir = undefined;
      }
    }
    // Across hosts every socket is encrypted and only holders of this run's keys get in (even
    // through tunnels: the forwarded ports are open to every user of the remote host).
    const keys = hasRemote ? generateKeys() : undefined;
    this.keys = keys;
    // Remote hosts connect directly unless they come through ssh tunnels.
    let host = "127.0.0.1";
    if (hasRemote && !this.o.tunnel) {
      const ext = this.o.externalHostname;
      host = ext !== undefined && isLocalHost(ext) && /^[\d.:]+$/.test(ext) && ext !== "127.0.0.1" ? ext : "0.0.0.0";
    }
    this.bindHost = host;
    try {
      const b = await Broker.start({
        name,
        host,
        logger,
        ...(hasRemote ? { keys } : {}),
        ...(this.observation ? { observer: this.observation.observer } : {}),
      });
      this.log.debug(`broker ${name} bound to ${host}: task ${b.taskAddress}, meta ${b.metaAddress}`);
      return b;
    } catch (e) {
      throw new ConfigError(`cannot start the broker on ${host}: ${(e as Error).message}`);
    }
  }

  /** The addresses local workers use: IPC as bound, or TCP through loopback for a wildcard bind. */
  private localAddresses(broker: Broker): { task: string; meta: string } {
    if (broker.taskAddress.startsWith("ipc://")) return { task: broker.taskAddress, meta: broker.metaAddress };
    const h = this.bindHost === "0.0.0.0" ? "127.0.0.1" : this.bindHost.includes(":") ? `[${this.bindHost}]` : this.bindHost;
    return { task: `tcp://${h}:${portOf(broker.taskAddress)}`, meta: `tcp://${h}:${portOf(broker.metaAddress)}` };
  }

  // ------------------------------------------------------------------------------------------
  // Workers

  private startLocal(h: PlannedHost, broker: Broker, script: string, extra: Record<string, string>, profileDir: string | undefined): void {
    const addr = this.localAddresses(broker);
    const node = this.o.node ?? process.execPath;
    for (const w of h.workers) {
      const env = workerEnvironment(this.env, {
        name: w.name,
        origin: w.origin,
        brokerName: broker.name,
        brokerAddress: addr.task,
        metaAddress: addr.meta,
        extra,
      });
      const child = spawnWorker(
        {
          node,
          nodeArgs: [...this.o.nodeOptions, ...(profileDir ? profileArgs(profileDir, w.name) : [])],
          workerCli: WORKER_CLI,
          lifeline: LIFELINE,
          script,
          args: this.o.args,
          ...(this.o.nice !== undefined ? { nice: this.o.nice } : {}),
        },
        env,
        this.cwd,
        this.pipeOutput,
      );
      this.local.set(w.name, child);
      child.stdout?.on("data", (d: Buffer) => this.writeOut(d));
      const state = this.workers.get(w.name)!;
      const lines = new LineSplitter((l) => this.onWorkerLine(state, l));
      child.stderr!.setEncoding("utf8").on("data", (d: string) => lines.push(d));
      child.stderr!.on("end", () => lines.end());
      child.once("error", (e) => {
        state.pending.push(`cannot run ${this.o.nice !== undefined ? "nice" : node}: ${e.message}`);
      });
      child.once("close", (code, signal) => {
        if (profileDir) collectProfile(profileDir, w.name);
        this.onWorkerExit(state, code, signal);
      });
      this.log.debug(`started ${w.name} on ${h.host} (pid ${child.pid})`);
    }
  }

  private async startRemote(
    h: PlannedHost,
    broker: Broker,
    remotePath: string,
    remoteScript: string,
    extra: Record<string, string>,
    debugDir: string | undefined,
    profileDir: string | undefined,
    attempt = 1,
  ): Promise<void> {
    let tunnel: TunnelPorts | undefined;
    let brokerHosts: string[];
    const taskPort = portOf(broker.taskAddress);
    const metaPort = portOf(broker.metaAddress);
    if (this.o.tunnel) {
      tunnel = { localTask: taskPort, localMeta: metaPort, remoteTask: await freePort(), remoteMeta: await freePort() };
      while (tunnel.remoteMeta === tunnel.remoteTask) tunnel.remoteMeta = await freePort();
      brokerHosts = ["127.0.0.1"];
    } else if (this.o.externalHostname !== undefined) {
      brokerHosts = [this.o.externalHostname];
    } else {
      brokerHosts = ["$SSH_CLIENT", hostname(), ...externalAddresses()];
    }
    const remote = new RemoteHost({
      host: h.host,
      ssh: this.o.ssh,
      path: remotePath,
      ...(this.o.prolog !== undefined ? { prolog: resolve(this.cwd, this.o.prolog) } : {}),
      ...(this.o.node !== undefined ? { node: this.o.node } : {}),
      defaultNode: process.execPath,
      ...(tunnel ? { tunnel } : {}),
      config: {
        host: h.host,
        brokerName: broker.name,
        brokerHosts,
        taskPort: tunnel ? tunnel.remoteTask : taskPort,
        metaPort: tunnel ? tunnel.remoteMeta : metaPort,
        workers: h.workers,
        node: "",
        nodeArgs: this.o.nodeOptions,
        workerCli: WORKER_CLI,
        lifeline: LIFELINE,
        script: remoteScript,
        args: this.o.args,
        env: extra,
        ...(this.o.nice !== undefined ? { nice: this.o.nice } : {}),
        ...(profileDir ? { profileDir } : {}),
        mkdirs: [debugDir, profileDir].filter((d): d is string => d !== undefined),
        graceMs: REMOTE_GRACE_MS,
        probeMs: PROBE_MS,
      },
    });
    this.remotes.push(remote);
    const earlyText: string[] = [];
    remote.on("text", (line: string) => {
      if (remote.ready) this.writeErr(`${line}\n`);
      else earlyText.push(line);
    });
    remote.on("ready", (m: { pid: number; hostname: string; node: string }) => {
      for (const l of earlyText.splice(0)) this.writeErr(`${l}\n`);
      this.log.debug(`${h.host}: agent pid ${m.pid} on ${m.hostname}, Node.js ${m.node}`);
    });
    remote.on("stdout", (d: Buffer) => this.writeOut(d));
    remote.on("broker", (address: string) => this.log.info(`${h.host}: workers reach the broker at ${address}`));
    remote.on("spawned", (name: string, pid: number) => this.log.debug(`started ${name} on ${h.host} (pid ${pid})`));
    remote.on("worker-stderr", (name: string, line: string) => {
      const w = this.workers.get(name);
      if (w) this.onWorkerLine(w, line);
      else this.writeErr(`${line}\n`);
    });
    remote.on("worker-exit", (name: string, code: number | null, signal: NodeJS.Signals | null) => {
      const w = this.workers.get(name);
      if (w) this.onWorkerExit(w, code, signal);
    });
    remote.on("failed", (message: string) => {
      if (this.stopping || this.poolEnded) return;
      this.fatal(`host ${h.host}: ${message}`);
    });
    remote.on("exit", (code: number | null, signal: NodeJS.Signals | null) => {
      this.notifyChange();
      const mine = h.workers.map((w) => this.workers.get(w.name)!).filter((w) => !w.exited);
      if (!remote.ready) {
        const text = earlyText.join("\n").trim();
        if (tunnel && attempt < 3 && /forwarding failed/i.test(text) && !this.stopping && !this.poolEnded) {
          this.log.info(`${h.host}: a tunnel port was taken on the remote side; retrying with other ports`);
          this.remotes.splice(this.remotes.indexOf(remote), 1);
          void this.startRemote(h, broker, remotePath, remoteScript, extra, debugDir, profileDir, attempt + 1);
          return;
        }
        // None of this host's workers was ever started.
        for (const w of mine) {
          w.exited = true;
          w.status = exitStatus(code, signal);
        }
        this.notifyChange();
        if (this.stopping || this.poolEnded) return;
        const bootstrapFailure = (Object.values(BOOTSTRAP_EXIT) as number[]).includes(code ?? -1);
        const detail = bootstrapFailure ? bootstrapMessage(text) : text || `no message; ${this.o.ssh[0]} exit code ${code ?? signal}`;
        this.fatal(
          code === 255
            ? `cannot reach host ${h.host}: ${detail}`
            : bootstrapFailure
              ? `host ${h.host}: ${detail}`
              : `host ${h.host}: could not start its workers (${this.o.ssh[0]} exit code ${code ?? signal}): ${detail}`,
        );
        return;
      }
      // The agent reports every worker's exit before it exits; workers not reported are lost.
      if (!this.stopping && !this.poolEnded && mine.some((w) => w.origin)) {
        const text = remote.tail.slice(-5).join("\n");
        this.fatal(`lost the connection to ${h.host}, where the origin ran (${this.o.ssh[0]} exit code ${code ?? signal})${text ? `: ${text}` : ""}`);
      }
      for (const w of mine) this.onWorkerExit(w, null, "SIGHUP", `the connection to ${h.host} was lost`);
      if (!this.stopping && !this.poolEnded && code !== 0 && mine.length > 0) {
        const text = remote.tail.slice(-5).join("\n");
        this.log.warn(`lost the connection to ${h.host} (${this.o.ssh[0]} exit code ${code ?? signal})${text ? `: ${text}` : ""}`);
      }
    });
    remote.start();
    this.log.debug(`${h.host}: ssh pid ${remote.pid}: ${this.o.ssh.join(" ")} … ${h.host}`);
  }

  private onJoined(name: string): void {
    const w = this.workers.get(name);
    if (!w || w.joined) return;
    w.joined = true;
    for (const l of w.pending.splice(0)) this.relay(w, l);
  }

  private onWorkerLine(w: WorkerState, line: string): void {
    if (this.display) {
      const text = this.display.take(w.name, line);
      if (text === undefined) return;
      line = text;
    }
    if (!w.joined) {
      w.pending.push(line);
      if (w.pending.length > 400) w.pending.splice(0, w.pending.length - 400);
      return;
    }
    this.relay(w, line);
  }

  private relay(w: WorkerState, line: string): void {
    w.tail.push(line);
    if (w.tail.length > 40) w.tail.shift();
    // After a launch failure, what the workers say while being stopped ("the pool was shut down")
    // would only bury the one line that matters.
    if (this.failed) return this.log.debug(`${w.name}: ${line}`);
    this.writeErr(`${line}\n`);
  }

  private onWorkerExit(w: WorkerState, code: number | null, signal: NodeJS.Signals | string | null, why?: string): void {
    if (w.exited) return;
    w.exited = true;
    const status = exitStatus(code, signal);
    w.status = status;
    w.killed = code === null;
    this.notifyChange();
    this.display?.workerGone(w.name);
    const how = why ?? (code !== null ? `exit code ${code}` : `killed by ${signal}`);
    if (!w.joined) {
      if (this.poolEnded || this.stopping) {
        this.log.debug(`${w.name} on ${w.host} ended before joining (${how}); the pool was already over`);
      } else {
        const out = w.pending.length ? `:\n${w.pending.map((l) => `  ${l}`).join("\n")}` : " (no output)";
        this.fatal(`worker ${w.name} on ${w.host} failed to start (${how})${out}`);
      }
      w.pending = [];
    } else if (!w.origin && status !== 0 && !this.poolEnded && !this.stopping) {
      this.log.warn(`worker ${w.name} on ${w.host} left the pool (${how}); the others carry on`);
    }
    if (w.origin) {
      this.originStatus = status;
      if (!this.settled) this.log.debug(`origin on ${w.host} ended with status ${status}`);
      this.resolveOutcome({ kind: "origin", status });
    }
  }

  private fatal(message: string): void {
    if (!this.settled) this.failed = true;
    this.resolveOutcome({ kind: "fatal", message });
  }

  private resolveOutcome(o: Outcome): void {
    if (this.settled) return;
    this.settled = true;
    this.settle(o);
  }

  // ------------------------------------------------------------------------------------------
  // Ending

  private async finish(outcome: Outcome): Promise<number> {
    switch (outcome.kind) {
      case "origin": {
        this.poolEnded = true;
        this.broker?.shutdown(outcome.status);
        // Workers still starting have nothing left to do.
        for (const w of this.workers.values()) {
          if (!w.joined && !w.exited && w.local) signalGroup(this.local.get(w.name)!, "SIGTERM");
        }
        for (const r of this.remotes) {
          const names = [...this.workers.values()].filter((w) => w.host === r.host);
          if (!names.some((w) => w.joined)) r.stop();
        }
        await this.waitUntil(() => this.allGone(), DRAIN_MS);
        await this.stopAll();
        this.log.info(`origin done, status ${outcome.status}`);
        return outcome.status;
      }
      case "fatal": {
        this.log.error(outcome.message);
        this.broker?.shutdown(EXIT_LAUNCH_FAILED);
        await this.stopAll();
        return EXIT_LAUNCH_FAILED;
      }
      case "signal": {
        this.log.warn(`${outcome.signal}: stopping every worker`);
        await this.stopAll();
        // The origin's own status when it ended by itself (its signal handler exits 130); a signal
        // status when it had to be killed.
        const origin = [...this.workers.values()].find((w) => w.origin);
        return origin?.status !== undefined && !origin.killed ? origin.status : exitStatus(null, outcome.signal);
      }
    }
  }

  private allGone(): boolean {
    for (const w of this.workers.values()) if (!w.exited) return false;
    return this.remotes.every((r) => r.exited);
  }

  private notifyChange(): void {
    for (const w of this.changeWaiters.splice(0)) w();
  }

  private async waitUntil(cond: () => boolean, ms: number): Promise<boolean> {
    const end = Date.now() + ms;
    while (!cond()) {
      const left = end - Date.now();
      if (left <= 0) return false;
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.min(left, 100));
        this.changeWaiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
    return true;
  }

  /** SIGTERM (local) and end-of-file (remote), then SIGKILL what is left. Within 2 s. */
  private async stopAll(): Promise<void> {
    this.stopping = true;
    const start = Date.now();
    for (const [name, c] of this.local) if (!this.workers.get(name)!.exited) signalGroup(c, "SIGTERM");
    for (const r of this.remotes) r.stop();
    const localGone = () => [...this.local.keys()].every((n) => this.workers.get(n)!.exited);
    await this.waitUntil(() => this.forced || this.allGone(), LOCAL_GRACE_MS);
    if (!localGone()) {
      this.log.debug("killing local workers that did not stop in time");
      for (const c of this.local.values()) signalGroup(c, "SIGKILL");
    }
    await this.waitUntil(() => this.forced || this.remotes.every((r) => r.exited), Math.max(0, REMOTE_WAIT_MS - (Date.now() - start)));
    for (const r of this.remotes) r.kill();
    await this.waitUntil(() => this.allGone(), 300);
  }

  /** Last resort (exception, second Ctrl-C, exit): SIGKILL everything we started. */
  private killEverything(): void {
    for (const c of this.local.values()) signalGroup(c, "SIGKILL");
    for (const r of this.remotes) {
      r.stop();
      r.kill();
    }
  }

  private installSignalHandlers(): void {
    for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
      const h = () => {
        if (!this.settled) {
          this.resolveOutcome({ kind: "signal", signal: sig });
        } else if (this.stopping || sig !== "SIGHUP") {
          // Second interrupt: no more waiting.
          this.forced = true;
          this.log.warn(`${sig} again: killing every worker now`);
          this.killEverything();
          this.notifyChange();
        }
      };
      process.on(sig, h);
      this.signalHandlers.push([sig, h]);
    }
    const onExit = () => this.killEverything();
    process.once("exit", onExit);
  }

  // ------------------------------------------------------------------------------------------
  // Observability

  /** Starts the dashboard and metrics servers (before any worker, so a taken port fails early) and prints their URLs. */
  private async startObservation(): Promise<void> {
    const { Observation } = await import("../observe/server.js");
    const host = this.o.dashboardHost;
    this.observation = await Observation.start({
      ...(this.o.dashboard ? { dashboard: { ...this.o.dashboard, ...(host !== undefined ? { host } : {}) } } : {}),
      ...(this.o.metricsPort !== undefined ? { metrics: { port: this.o.metricsPort, ...(host !== undefined ? { host } : {}) } } : {}),
    });
    if (this.observation.dashboardUrl) this.writeErr(`scoop: dashboard at ${this.observation.dashboardUrl}\n`);
    if (this.observation.metricsUrl) this.writeErr(`scoop: metrics at ${this.observation.metricsUrl}\n`);
  }

  private startBrokerTrace(dir: string, plan: LaunchPlan): void {
    const broker = this.broker!;
    writeFileSync(
      join(dir, "launch.json"),
      JSON.stringify({ t: Date.now(), broker: broker.name, taskAddress: broker.taskAddress, hosts: plan.hosts, total: plan.total }, null, 2) + "\n",
    );
    const file = join(dir, "broker.jsonl");
    const sample = () => {
      const s = broker.stats;
      const rec = {
        ev: "broker",
        t: Date.now(),
        queue: broker.queueLength,
        workers: broker.size,
        submitted: s.submitted,
        dispatched: s.dispatched,
        completed: s.completed,
      };
      try {
        appendFileSync(file, `${JSON.stringify(rec)}\n`);
      } catch {
        // best effort
      }
    };
    sample();
    const t = setInterval(sample, 100);
    t.unref();
    this.timers.push(t);
    process.once("exit", sample);
  }

  /** Whether the live pool line is drawn (--progress on a terminal, or --progress=always). */
  private get progressOn(): boolean {
    const mode = this.o.progress;
    return mode === "always" || (mode === "auto" && process.stderr.isTTY === true);
  }

  /**
   * Whether workers' stdout goes through us: when we may draw progress lines on the terminal their
   * output also goes to (the pool line, or map bars on an interactive run), so that we can keep
   * those lines below it. Otherwise their stdout is inherited, a plain stream.
   */
  private get pipeOutput(): boolean {
    return this.progressOn || (process.stderr.isTTY === true && process.stdout.isTTY === true);
  }

  /**
   * Progress lines: the pool line under --progress, counted from the workers' own reports (a worker
   * runs many of its own submissions without the broker, so the broker's counts would fall short),
   * and the bars of the origin's maps with `progress` on, whenever workers send them.
   */
  private startProgress(): void {
    const broker = this.broker!;
    this.display = new ProgressDisplay({
      out: process.stderr,
      poolLine: this.progressOn,
      pool: () => ({ queue: broker.queueLength, workers: broker.size }),
    });
    this.display.start();
  }
}
