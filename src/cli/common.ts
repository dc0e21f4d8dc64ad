/**
 * What every command-line entry point shares: one-line errors with exit code 2 for user mistakes
 * (never a stack trace), and commander set up to behave that way.
 */
import { Command, CommanderError } from "commander";
import { ConfigError, HandshakeError, ScoopError } from "../errors.js";
import { PACKAGE_VERSION } from "../version.js";

export const EXIT_USAGE = 2;

/** A commander program whose parse errors become `name: message` and exit 2. */
export function createProgram(name: string): Command {
  const program = new Command(name);
  program.version(PACKAGE_VERSION, "-V, --version");
  program.exitOverride();
  program.configureOutput({ writeErr: () => {} });
  return program;
}

/** Runs a CLI body, mapping failures to one line and the right exit code. */
export async function runCli(name: string, body: () => Promise<number>): Promise<never> {
  let code: number;
  try {
    code = await body();
  } catch (err) {
    code = reportCliError(name, err);
  }
  process.exit(code);
}

export function reportCliError(name: string, err: unknown): number {
  if (err instanceof CommanderError) {
    if (err.code === "commander.helpDisplayed" || err.code === "commander.version" || err.code === "commander.help") return 0;
    process.stderr.write(`${name}: ${err.message.replace(/^error: /, "")}\n`);
    return EXIT_USAGE;
  }
  if (err instanceof ConfigError || err instanceof HandshakeError) {
    process.stderr.write(`${name}: ${err.message}\n`);
    return EXIT_USAGE;
  }
  if (err instanceof ScoopError) {
    process.stderr.write(`${name}: ${err.message}\n`);
    return 1;
  }
  process.stderr.write(`${name}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  return 1;
}
