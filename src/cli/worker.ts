#!/usr/bin/env node
/**
 * scoop-worker [options] script [args…]: one worker of a pool, configured by the seed's environment
 * variables (IS_ORIGIN, WORKER_NAME, BROKER_NAME, BROKER_ADDRESS, META_ADDRESS) or the flags below.
 */
import { parseWorkerConfig, type WorkerFlags } from "../worker/config.js";
import { runWorker } from "../worker/main.js";
import { createProgram, runCli } from "./common.js";

void runCli("scoop-worker", async () => {
  const program = createProgram("scoop-worker")
    .description("Run one SCOOP worker: import SCRIPT and serve tasks; the origin also runs its main(argv).")
    .argument("<script>", "the user's script (.ts, .js or .mjs)")
    .argument("[args...]", "arguments passed to main(argv) on the origin")
    .option("--is-origin <0|1>", "1 if this worker runs main() (env IS_ORIGIN, default 1)")
    .option("--worker-name <name>", "unique name of this worker (env WORKER_NAME, default origin)")
    .option("--broker-name <name>", "name of the broker to join (env BROKER_NAME, default broker)")
    .option("--broker-address <addr>", "broker task socket, e.g. tcp://127.0.0.1:5555 (env BROKER_ADDRESS)")
    .option("--meta-address <addr>", "broker meta socket, e.g. tcp://127.0.0.1:5556 (env META_ADDRESS)")
    .option("--log-level <level>", "debug|info|warn|error|silent (env SCOOP_LOG_LEVEL, default warn)")
    .option("--connect-timeout <ms>", "how long to wait for the broker (env SCOOP_CONNECT_TIMEOUT, default 60000)")
    .option("--key-file <path>", "CurveZMQ key file of the pool (env SCOOP_KEY_FILE; made by `scoop keygen`)")
    .option("--prefetch <n>", "tasks to keep at hand (env SCOOP_PREFETCH, default adaptive)")
    .option("--execute <0|1>", "0: only submit tasks, run none here (env SCOOP_EXECUTE, default 1)")
    .passThroughOptions()
    .addHelpText(
      "after",
      "\nWithout BROKER_ADDRESS the script runs serially in this process.\n" +
        "Exit codes: 0 done, 1 the script failed, 2 bad configuration or refused by the broker.",
    );
  program.parse(process.argv);
  const [script, args] = program.processedArgs as [string, string[]];
  const config = parseWorkerConfig(program.opts<WorkerFlags>(), process.env);
  return runWorker({ config, script, args: args ?? [] });
});
