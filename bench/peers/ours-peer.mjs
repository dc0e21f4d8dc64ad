#!/usr/bin/env node
// Wraps bench/ours.mjs in the peers' command-line contract, so the harness runs our pool in a fresh
// process per run exactly like the others. A runner that throws "not implemented" exits with 3,
// which the harness shows as "—" rather than as an error.
import { parseArgs, emit } from "../lib/cli.mjs";
import { runOurs } from "../ours.mjs";

const { workload, params } = parseArgs(process.argv.slice(2));
try {
  const result = await runOurs(workload, params);
  emit("ours", workload, params, result);
  process.exit(0);
} catch (e) {
  const notImplemented = /not implemented/i.test(String(e?.message ?? e));
  process.stderr.write(`ours ${workload}: ${notImplemented ? e.message : (e?.stack ?? e)}\n`);
  process.exit(notImplemented ? 3 : 1);
}
