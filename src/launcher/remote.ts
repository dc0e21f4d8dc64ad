/**
 * One remote host: a single ssh connection that runs a small POSIX shell bootstrap (change to
 * --path, source --prolog, find Node.js) which then becomes the agent (agent.ts) that starts all of
 * this host's workers. The bootstrap travels on ssh's stdin (`exec /bin/sh -s`), so nothing needs
 * quoting through the user's login shell and no configuration shows on a command line; the agent's
 * configuration follows once it says "ready", and stdin then stays open as the lifeline: closing
 * it, or the launcher dying, stops every process of the host.
 *
 * ssh always runs with `-o BatchMode=yes` (never a password prompt), `-x` (no X11) and `-T` (no
 * tty); the host name goes to ssh unchanged, so aliases of ~/.ssh/config work and nothing is looked
 * up in DNS here.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { EventEmitter } from "node:events";
import {
  AGENT,
  decodeControl,
  LineSplitter,
  shQuote,
  type AgentConfig,
  type AgentMessage,
} from "./worker-process.js";

/** Exit codes of the bootstrap, before the agent exists. */
export const BOOTSTRAP_EXIT = { cd: 96, prologMissing: 97, prologFailed: 98, noNode: 127 } as const;

export interface TunnelPorts {
  /** Broker ports on this machine. */
  localTask: number;
  localMeta: number;
  /** Ports the remote sshd listens on (its loopback), forwarded to the broker. */
  remoteTask: number;
  remoteMeta: number;
}

export interface RemoteHostOptions {
  host: string;
  /** The ssh command, split into words (default ["ssh"]). */
  ssh: string[];
  /** Working directory of the workers (absolute). */
  path: string;
  prolog?: string;
  /** Node.js binary the user asked for, or undefined: this launcher's path if present, else `node`. */
  node?: string;
  /** Fallback binary when `node` is not given. */
  defaultNode: string;
  tunnel?: TunnelPorts;
  config: AgentConfig;
}

/** The shell bootstrap run on the remote host. */
export function bootstrapScript(o: Pick<RemoteHostOptions, "path" | "prolog" | "node" | "defaultNode">): string {
  const lines = [
    `H=$(uname -n 2>/dev/null || echo remote)`,
    `[ -d ${shQuote(o.path)} ] || { echo "scoop: no directory ${esc(o.path)} on $H (--path)" >&2; exit ${BOOTSTRAP_EXIT.cd}; }`,
    `cd ${shQuote(o.path)} 2>/dev/null || { echo "scoop: cannot change to directory ${esc(o.path)} on $H (--path): permission denied" >&2; exit ${BOOTSTRAP_EXIT.cd}; }`,
  ];
  if (o.prolog !== undefined) {
    const p = shQuote(o.prolog);
    lines.push(
      `[ -r ${p} ] || { echo "scoop: cannot read the prolog ${esc(o.prolog)} on $H" >&2; exit ${BOOTSTRAP_EXIT.prologMissing}; }`,
      `. ${p} </dev/null || { echo "scoop: the prolog ${esc(o.prolog)} failed on $H (status $?)" >&2; exit ${BOOTSTRAP_EXIT.prologFailed}; }`,
    );
  }
  if (o.node !== undefined) {
    lines.push(`N=${shQuote(o.node)}`);
  } else {
    lines.push(`N=${shQuote(o.defaultNode)}`, `[ -x "$N" ] || N=node`);
  }
  lines.push(
    `command -v "$N" >/dev/null 2>&1 || { echo "scoop: Node.js not found on $H (tried $N): use --node PATH, or set PATH in a --prolog" >&2; exit ${BOOTSTRAP_EXIT.noNode}; }`,
    `exec "$N" ${shQuote(AGENT)}`,
  );
  return lines.join("\n") + "\n";
}

/** Escapes a value for use inside a double-quoted shell string. */
function esc(s: string): string {
  return s.replace(/[\\"$`]/g, (c) => `\\${c}`);
}

/** ssh's argv (without the command itself) for one host. */
export function sshArgv(o: Pick<RemoteHostOptions, "ssh" | "host" | "tunnel">): string[] {
  const argv = [...o.ssh, "-o", "BatchMode=yes", "-x", "-T"];
  if (o.tunnel) {
    argv.push(
      "-o",
      "ExitOnForwardFailure=yes",
      "-R",
      `${o.tunnel.remoteTask}:127.0.0.1:${o.tunnel.localTask}`,
      "-R",
      `${o.tunnel.remoteMeta}:127.0.0.1:${o.tunnel.localMeta}`,
    );
  }
  argv.push(o.host, "exec /bin/sh -s");
  return argv;
}

/**
 * Events:
 * - "ready": the agent runs (ssh worked, cd/prolog/node fine).
 * - "broker" (address): the address the host's workers use.
 * - "worker-stderr" (name, line), "worker-exit" (name, code, signal).
 * - "failed" (message): the host could not be started or its agent gave up.
 * - "text" (line): a plain stderr line (ssh, shell, prolog).
 * - "stdout" (chunk): output of the host's workers.
 * - "exit" (code, signal): ssh ended.
 */
export class RemoteHost extends EventEmitter {
  private child: ChildProcess | undefined;
  readonly tail: string[] = [];
  ready = false;
  exited = false;
  exitCode: number | null = null;
  exitSignal: NodeJS.Signals | null = null;
  private readonly exitWaiters: Array<() => void> = [];

  constructor(readonly options: RemoteHostOptions) {
    super();
  }

  get host(): string {
    return this.options.host;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  start(): void {
    const [cmd, ...args] = sshArgv(this.options);
    const child = spawn(cmd!, args, { stdio: ["pipe", "pipe", "pipe"], detached: true });
    this.child = child;
    child.stdin!.on("error", () => {});
    child.stdin!.write(bootstrapScript(this.options));
    child.stdout!.on("data", (d: Buffer) => this.emit("stdout", d));
    const lines = new LineSplitter((l) => this.onLine(l));
    child.stderr!.setEncoding("utf8").on("data", (d: string) => lines.push(d));
    child.stderr!.on("end", () => lines.end());
    child.once("error", (e) => {
      this.emit("failed", `cannot run ${this.options.ssh[0]}: ${e.message}`);
    });
    child.once("close", (code, signal) => {
      this.exited = true;
      this.exitCode = code;
      this.exitSignal = signal;
      for (const w of this.exitWaiters.splice(0)) w();
      this.emit("exit", code, signal);
    });
  }

  private onLine(line: string): void {
    const msg = decodeControl(line);
    if (msg) return this.onControl(msg);
    this.tail.push(line);
    if (this.tail.length > 50) this.tail.shift();
    this.emit("text", line);
  }

  private onControl(msg: AgentMessage): void {
    switch (msg.t) {
      case "ready":
        this.ready = true;
        this.child?.stdin?.write(`${JSON.stringify(this.options.config)}\n`);
        this.emit("ready", msg);
        break;
      case "broker":
        this.emit("broker", msg.address);
        break;
      case "spawned":
        this.emit("spawned", msg.w, msg.pid);
        break;
      case "err":
        this.emit("worker-stderr", msg.w, msg.l);
        break;
      case "exit":
        this.emit("worker-exit", msg.w, msg.code, msg.signal);
        break;
      case "error":
        this.emit("failed", msg.message);
        break;
    }
  }

  /** Asks the agent to stop its workers (closes its stdin). */
  stop(): void {
    const stdin = this.child?.stdin;
    if (stdin && !stdin.destroyed) stdin.end();
  }

  /** Kills the ssh client (the remote side then sees end-of-file and cleans up). */
  kill(): void {
    const pid = this.child?.pid;
    if (pid === undefined || this.exited) return;
    try {
      process.kill(-pid, "SIGKILL");
    } catch {
      this.child?.kill("SIGKILL");
    }
  }

  /** Resolves when ssh has exited, or after `ms`. */
  waitExit(ms: number): Promise<boolean> {
    if (this.exited || !this.child) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), ms);
      this.exitWaiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }
}

/**
 * A failed remote bootstrap's output with its own "scoop: …" line first: a login shell's chatter
 * (profile scripts, module systems) may come before it, and the reason must lead the error.
 */
export function bootstrapMessage(text: string): string {
  const lines = text.split("\n");
  const at = lines.findLastIndex((l) => l.startsWith("scoop: "));
  if (at < 0) return text;
  const rest = lines.filter((l, i) => i !== at && l.trim() !== "");
  return rest.length ? `${lines[at]}\n  (remote output: ${rest.join(" | ")})` : lines[at]!;
}
