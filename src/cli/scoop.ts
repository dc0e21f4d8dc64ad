#!/usr/bin/env node
/**
 * scoop [options] script [args…]: runs a script on a pool of workers, on this machine and on remote
 * hosts over ssh, and exits with the status of the script's main().
 */
import { Option } from "commander";
import { ConfigError } from "../errors.js";
import { launch } from "../launcher/launcher.js";
import {
  checkPlainValue,
  normaliseArgv,
  parseDashboard,
  parseNice,
  parsePort,
  parseWorkerCount,
  splitWords,
  type LaunchOptions,
  type ProgressMode,
  type Verbosity,
} from "../launcher/options.js";
import { traceCommand } from "../observe/trace/command.js";
import { writeKeyFile } from "../transport/curve.js";
import { createProgram, runCli } from "./common.js";

interface Flags {
  n?: string;
  hosts?: string[];
  hostfile?: string;
  path?: string;
  node?: string;
  nodeOptions?: string;
  prolog?: string;
  sshExecutable?: string;
  tunnel?: boolean;
  externalHostname?: string;
  nice?: string;
  verbose: number;
  quiet?: boolean;
  log?: string;
  debug?: string;
  profile?: string;
  progress?: string;
  dashboard?: string;
  dashboardHost?: string;
  metrics?: string;
}

const HELP_AFTER = `
Hosts: --hosts a a b (one worker per mention), --hostfile FILE (lines "host [count]", # comments),
or the batch scheduler's allocation (SLURM, PBS/Torque, SGE, LSF); else this machine, one worker per
core. -n spreads that many workers over them, in order; the origin (which runs main) is the first
worker of the first host. Remote hosts are reached with ssh in batch mode (keys, no passwords) and
must see this package and the script at the same paths (a shared filesystem).

Exit status: the origin's (0 done, 1 main threw, 2 bad configuration); 1 when the pool could not
be started (unreachable host, worker that failed to start); 2 for a bad command line; 128+N when
stopped by signal N (130 for Ctrl-C).

Keys for a manually launched pool: scoop keygen DIR (scoop itself makes fresh keys for every run).
Traces: scoop --debug DIR … writes them; scoop trace DIR turns them into a timeline page, a Chrome
trace (Perfetto, chrome://tracing) and a summary.

Examples:
  scoop -n 4 examples/pi.ts 64
  scoop --hosts node1 node2 node2 -v script.ts --its-own-flag
  scoop --hostfile hosts.txt --prolog ~/venv.sh -n 32 script.ts`;

function toOptions(script: string, args: string[], f: Flags): LaunchOptions {
  if (f.verbose > 0 && f.quiet) throw new ConfigError("-v and -q cannot be used together");
  const hosts = f.hosts?.filter((h) => h !== "");
  if (f.hosts !== undefined && hosts!.length === 0) throw new ConfigError("--hosts: no host given");
  if (hosts !== undefined && f.hostfile !== undefined) throw new ConfigError("--hosts and --hostfile cannot be used together");
  const ssh = f.sshExecutable !== undefined ? splitWords(f.sshExecutable, "--ssh-executable") : ["ssh"];
  if (ssh.length === 0) throw new ConfigError("--ssh-executable: no command given");
  let progress: ProgressMode = "off";
  if (f.progress !== undefined) {
    if (f.progress !== "auto" && f.progress !== "always") throw new ConfigError(`--progress=${f.progress}: expected --progress or --progress=always`);
    progress = f.progress;
  }
  const o: LaunchOptions = {
    script,
    args,
    nodeOptions: f.nodeOptions !== undefined ? splitWords(f.nodeOptions, "--node-options") : [],
    ssh,
    tunnel: f.tunnel === true,
    verbosity: (f.quiet ? -1 : Math.min(3, f.verbose)) as Verbosity,
    progress,
  };
  if (f.n !== undefined) o.workers = parseWorkerCount(f.n);
  if (hosts !== undefined) o.hosts = hosts;
  if (f.hostfile !== undefined) o.hostfile = checkPlainValue(f.hostfile, "--hostfile");
  if (f.path !== undefined) o.path = checkPlainValue(f.path, "--path");
  if (f.node !== undefined) o.node = checkPlainValue(f.node, "--node");
  if (f.prolog !== undefined) o.prolog = checkPlainValue(f.prolog, "--prolog");
  if (f.externalHostname !== undefined) o.externalHostname = checkPlainValue(f.externalHostname, "--external-hostname");
  if (f.nice !== undefined) o.nice = parseNice(f.nice);
  if (f.log !== undefined) o.logFile = checkPlainValue(f.log, "--log");
  if (f.debug !== undefined) o.debugDir = checkPlainValue(f.debug, "--debug");
  if (f.profile !== undefined) o.profileDir = checkPlainValue(f.profile, "--profile");
  if (f.dashboard !== undefined) o.dashboard = parseDashboard(f.dashboard);
  if (f.metrics !== undefined) o.metricsPort = parsePort(f.metrics, "--metrics");
  if (f.dashboardHost !== undefined) {
    if (o.dashboard === undefined && o.metricsPort === undefined) throw new ConfigError("--dashboard-host needs --dashboard or --metrics");
    o.dashboardHost = checkPlainValue(f.dashboardHost, "--dashboard-host");
  }
  return o;
}

/** `scoop keygen DIR`: the key file of a manually launched pool (SPEC §6). */
function keygen(argv: string[]): number {
  const program = createProgram("scoop keygen")
    .description("Write DIR/pool.key, the CurveZMQ keys of a manually launched pool (readable by you only).")
    .argument("<dir>", "directory to write pool.key into (created if needed)")
    .addHelpText("after", "\nGive the file to scoop-broker and to every scoop-worker: --key-file DIR/pool.key or SCOOP_KEY_FILE.");
  program.parse(argv, { from: "user" });
  const [dir] = program.processedArgs as [string];
  let path: string;
  try {
    path = writeKeyFile(dir);
  } catch (e) {
    throw new ConfigError(`keygen: cannot write ${dir}/pool.key (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  process.stdout.write(`${path}\n`);
  return 0;
}

void runCli("scoop", async () => {
  if (process.argv[2] === "keygen") return keygen(process.argv.slice(3));
  if (process.argv[2] === "trace") return traceCommand(process.argv.slice(3));
  const collect = (v: string, prev: string[] = []) => [...prev, v];
  const program = createProgram("scoop")
    .usage("[options] script [args...]")
    .description("Run SCRIPT's main(argv) on a pool of workers: every core of this machine, or many hosts over ssh.")
    .argument("<script>", "the program (.ts, .js or .mjs; no build step)")
    .argument("[args...]", "arguments passed to main(argv); options after the script are the script's")
    .option("-n <count>", "number of workers, the origin included (default: scheduler, host list, else CPU count)")
    .addOption(new Option("--hosts <host...>", "hosts to run on, one worker per mention; the first runs the origin").argParser(collect))
    .option("--hostfile <file>", 'file of "host [count]" lines (# comments)')
    .option("-p, --path <dir>", "working directory of remote workers (default: the current one)")
    .option("--node <path>", "Node.js binary of the workers (default: this one)")
    .option("--node-options <flags>", 'extra Node.js flags for the workers, e.g. "--max-old-space-size=4096"')
    .option("--prolog <file>", "shell script sourced on each remote host before its workers start")
    .option("--ssh-executable <cmd>", "ssh command for remote hosts (default: ssh; always run with -o BatchMode=yes)")
    .option("--tunnel", "remote workers reach the broker through ssh reverse tunnels")
    .option("--external-hostname <addr>", "address remote workers use to reach this machine (default: found out per host)")
    .option("--nice <n>", "niceness of the workers (-20 to 19)")
    .option("-v, --verbose", "more output: -v the launch, -vv also the workers, -vvv everything", (_: string, prev: number) => prev + 1, 0)
    .option("-q, --quiet", "errors only")
    .option("--log <file>", "write the launcher's log to FILE instead of stderr")
    .option("--debug <dir>", "write per-worker task traces (JSON lines) and broker samples into DIR")
    .option("--profile <dir>", "write one V8 CPU profile per worker (NAME.cpuprofile) into DIR")
    .addOption(new Option("--progress [when]", "live line on stderr: tasks done/submitted, rate, busy workers (a terminal only; --progress=always to force)").hideHelp(false))
    .addOption(new Option("--dashboard [port]", "live web dashboard on PORT (default 8787, else a free one; 0: a free one); prints its URL"))
    .option("--dashboard-host <addr>", "address the dashboard and metrics listen on (default 127.0.0.1: this machine only)")
    .option("--metrics <port>", "Prometheus metrics at http://HOST:PORT/metrics")
    .passThroughOptions()
    .addHelpText("after", HELP_AFTER);
  program.parse(normaliseArgv(process.argv.slice(2)), { from: "user" });
  const [script, args] = program.processedArgs as [string, string[]];
  const options = toOptions(script, args ?? [], program.opts<Flags>());
  return launch(options);
});
