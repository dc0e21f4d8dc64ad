/**
 * The remote agent: one per remote host, started by the launcher over a single ssh connection
 * (after the shell bootstrap changed directory and sourced the prolog). It
 *
 * 1. says "ready", then reads its configuration (one JSON line) from stdin;
 * 2. finds an address of the broker this host can reach (the ssh client's own address, then the
 *    launcher's host name and interface addresses, or what --external-hostname / --tunnel said),
 *    by opening a TCP connection, so an unreachable broker is a clear error in seconds rather than
 *    workers waiting a minute for nothing;
 * 3. starts this host's workers, each in its own process group with a lifeline to the agent, and
 *    reports their stderr lines and exits to the launcher (control records on its stderr);
 * 4. stops them all (SIGTERM to each group, SIGKILL after a grace period) when its stdin ends:
 *    the launcher closed it, or the launcher or the ssh connection died. The agent exits once its
 *    workers are gone.
 *
 * Never run by users; `scoop` starts it.
 */
import { mkdirSync } from "node:fs";
import { hostname } from "node:os";
import { connect } from "node:net";
import type { ChildProcess } from "node:child_process";
import {
  encodeControl,
  LineSplitter,
  profileArgs,
  collectProfile,
  signalGroup,
  spawnWorker,
  workerEnvironment,
  exitStatus,
  type AgentConfig,
  type AgentMessage,
} from "./worker-process.js";

const EXIT_AGENT_FAILED = 3;

function send(msg: AgentMessage): void {
  try {
    process.stderr.write(encodeControl(msg));
  } catch {
    // the launcher is gone; stdin's end will stop us
  }
}

const children = new Map<string, ChildProcess>();
let config: AgentConfig | undefined;
let stopping = false;
let originStatus: number | undefined;

function finishIfIdle(): void {
  if (config && children.size === 0) process.exit(originStatus ?? 0);
}

function stop(): void {
  if (stopping) return;
  stopping = true;
  if (!config || children.size === 0) process.exit(originStatus ?? 0);
  for (const c of children.values()) signalGroup(c, "SIGTERM");
  setTimeout(() => {
    for (const c of children.values()) signalGroup(c, "SIGKILL");
    setTimeout(() => process.exit(originStatus ?? 130), 300).unref();
  }, config.graceMs).unref();
}

/** Resolves to the first address (in priority order) whose task port accepts a TCP connection. */
async function findBroker(c: AgentConfig): Promise<string> {
  const sshClient = (process.env.SSH_CONNECTION ?? process.env.SSH_CLIENT ?? "").split(" ")[0];
  const hosts = [...new Set(c.brokerHosts.map((h) => (h === "$SSH_CLIENT" ? sshClient : h)).filter((h): h is string => !!h))];
  if (hosts.length === 0) throw new Error("no address to reach the broker at: use --external-hostname or --tunnel");
  const results: Array<string | true | undefined> = hosts.map(() => undefined);
  return new Promise((resolve, reject) => {
    const settle = () => {
      for (let i = 0; i < hosts.length; i++) {
        const r = results[i];
        if (r === undefined) return; // a better candidate is still being tried
        if (r === true) return resolve(hosts[i]!);
      }
      const tried = hosts.map((h, i) => `${fmt(h, c.taskPort)} (${results[i]})`).join(", ");
      reject(
        new Error(
          `cannot reach the broker from ${hostname()}: tried ${tried}; ` +
            `give an address of the launching machine that this host can reach with --external-hostname, or use --tunnel`,
        ),
      );
    };
    hosts.forEach((h, i) => {
      const s = connect({ host: h, port: c.taskPort });
      const done = (r: string | true) => {
        if (results[i] !== undefined) return;
        results[i] = r;
        s.destroy();
        settle();
      };
      s.setTimeout(c.probeMs, () => done("timed out"));
      s.once("connect", () => done(true));
      s.once("error", (e: NodeJS.ErrnoException) => done(e.code ?? e.message));
    });
  });
}

function fmt(host: string, port: number): string {
  return `tcp://${host.includes(":") ? `[${host}]` : host}:${port}`;
}

async function run(c: AgentConfig): Promise<void> {
  for (const d of c.mkdirs) {
    try {
      mkdirSync(d, { recursive: true });
    } catch (e) {
      send({ t: "error", message: `cannot create ${d} on ${hostname()}: ${(e as Error).message}` });
      process.exit(EXIT_AGENT_FAILED);
    }
  }
  let brokerHost: string;
  try {
    brokerHost = await findBroker(c);
  } catch (e) {
    send({ t: "error", message: (e as Error).message });
    process.exit(EXIT_AGENT_FAILED);
  }
  if (stopping) return;
  const brokerAddress = fmt(brokerHost, c.taskPort);
  send({ t: "broker", address: brokerAddress });
  for (const w of c.workers) {
    const env = workerEnvironment(process.env, {
      name: w.name,
      origin: w.origin,
      brokerName: c.brokerName,
      brokerAddress,
      metaAddress: fmt(brokerHost, c.metaPort),
      extra: c.env,
    });
    const child = spawnWorker(
      {
        node: c.node || process.execPath,
        nodeArgs: [...c.nodeArgs, ...(c.profileDir ? profileArgs(c.profileDir, w.name) : [])],
        workerCli: c.workerCli,
        lifeline: c.lifeline,
        script: c.script,
        args: c.args,
        ...(c.nice !== undefined ? { nice: c.nice } : {}),
      },
      env,
    );
    children.set(w.name, child);
    const lines = new LineSplitter((l) => send({ t: "err", w: w.name, l }));
    child.stderr!.setEncoding("utf8").on("data", (d: string) => lines.push(d));
    child.stderr!.on("end", () => lines.end());
    child.once("error", (e) => {
      send({ t: "err", w: w.name, l: `scoop: cannot start ${c.node || process.execPath} on ${hostname()}: ${e.message}` });
    });
    child.once("close", (code, signal) => {
      if (c.profileDir) collectProfile(c.profileDir, w.name);
      children.delete(w.name);
      if (w.origin) originStatus = exitStatus(code, signal);
      send({ t: "exit", w: w.name, code, signal });
      finishIfIdle();
    });
    if (child.pid !== undefined) send({ t: "spawned", w: w.name, pid: child.pid });
  }
}

// Main.
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
process.on("SIGHUP", stop);
process.stdout.on("error", () => {});
process.stderr.on("error", () => {});

send({ t: "ready", pid: process.pid, hostname: hostname(), node: process.version });

let buffered = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk: string) => {
  if (config) return;
  buffered += chunk;
  const nl = buffered.indexOf("\n");
  if (nl < 0) return;
  try {
    config = JSON.parse(buffered.slice(0, nl)) as AgentConfig;
  } catch (e) {
    send({ t: "error", message: `agent on ${hostname()}: bad configuration: ${(e as Error).message}` });
    process.exit(EXIT_AGENT_FAILED);
  }
  buffered = "";
  run(config).catch((e) => {
    send({ t: "error", message: `agent on ${hostname()}: ${(e as Error).stack ?? String(e)}` });
    process.exit(EXIT_AGENT_FAILED);
  });
});
process.stdin.on("end", stop);
process.stdin.on("close", stop);
process.stdin.on("error", stop);
