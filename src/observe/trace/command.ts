/**
 * `scoop trace DIR`: turns the traces of `scoop --debug DIR` into a timeline page (DIR/trace.html),
 * a Chrome trace-event file (DIR/trace.json, for Perfetto or chrome://tracing) and a summary table
 * on stdout.
 */
import { writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { ConfigError } from "../../errors.js";
import { createProgram } from "../../cli/common.js";
import { formatSummary, summarize } from "./analyze.js";
import { toChromeTrace } from "./chrome.js";
import { renderHtml } from "./html.js";
import { loadTrace } from "./load.js";

export { formatSummary, summarize } from "./analyze.js";
export { toChromeTrace } from "./chrome.js";
export { renderHtml } from "./html.js";
export { loadTrace } from "./load.js";

export interface TraceOutputs {
  html: string;
  json: string;
  summary: string;
}

/** Reads `dir` and writes the page and the Chrome trace; returns their paths and the summary text. */
export function writeTraceReport(dir: string, o: { html?: string; json?: string } = {}): TraceOutputs {
  const data = loadTrace(dir);
  const summary = summarize(data);
  const html = resolve(o.html ?? join(dir, "trace.html"));
  const json = resolve(o.json ?? join(dir, "trace.json"));
  const write = (file: string, text: string) => {
    try {
      writeFileSync(file, text);
    } catch (e) {
      throw new ConfigError(`cannot write ${file} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
  };
  write(html, renderHtml(data, summary));
  write(json, JSON.stringify(toChromeTrace(data)));
  const warnings = data.warnings.map((w) => `warning: ${w}`).join("\n");
  return { html, json, summary: `${formatSummary(summary)}${warnings ? `\n${warnings}` : ""}` };
}

/** The `scoop trace` subcommand; `argv` is what follows `trace`. */
export function traceCommand(argv: string[]): number {
  const program = createProgram("scoop trace")
    .description("Turn the task traces of `scoop --debug DIR` into a timeline page, a Chrome trace and a summary.")
    .argument("<dir>", "the directory given to scoop --debug")
    .option("--html <file>", "where to write the timeline page (default: DIR/trace.html)")
    .option("--json <file>", "where to write the Chrome trace events (default: DIR/trace.json)")
    .option("-q, --quiet", "print only the paths written, not the summary")
    .addHelpText(
      "after",
      "\nOpen the page in any browser: it is self-contained (no network). Open the JSON in Perfetto" +
        "\n(https://ui.perfetto.dev) or chrome://tracing. The summary: tasks and busy time per worker;" +
        "\ntask time (start to end) and time queued (submit to start) per function.",
    );
  program.parse(argv, { from: "user" });
  const [dir] = program.processedArgs as [string];
  const o = program.opts<{ html?: string; json?: string; quiet?: boolean }>();
  const out = writeTraceReport(dir, o);
  if (!o.quiet) process.stdout.write(`${out.summary}\n\n`);
  process.stdout.write(`timeline:     ${out.html}\nchrome trace: ${out.json}\n`);
  return 0;
}
