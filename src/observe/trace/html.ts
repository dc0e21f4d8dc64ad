/**
 * The self-contained timeline page of `scoop trace`: one HTML file, its data as a JSON island, its
 * script and style inline (viewer.ts). It opens from disk, offline, in any recent browser.
 */
import { activeEnd, assignRows, formatMs, type TraceSummary } from "./analyze.js";
import { samplesFrom } from "./chrome.js";
import { runEnd, type TraceData } from "./load.js";
import { VIEWER_CSS, VIEWER_JS } from "./viewer.js";

/** At most this many points per queue series (max per bucket beyond it). */
const MAX_QUEUE_POINTS = 4000;

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}

const r3 = (x: number) => Math.round(x * 1000) / 1000;

/** Keeps a step series drawable: at most `max` points, each bucket's maximum. */
function downsample(points: Array<[number, number]>, span: number, max = MAX_QUEUE_POINTS): Array<[number, number]> {
  if (points.length <= max) return points;
  const out: Array<[number, number]> = [];
  const width = span / (max / 2);
  let bucket = -1;
  for (const [t, v] of points) {
    const b = Math.floor(t / width);
    if (b !== bucket) {
      out.push([t, v]);
      bucket = b;
    } else if (v > out[out.length - 1]![1]) out[out.length - 1]![1] = v;
  }
  return out;
}

/** The data the page's script reads: columns of numbers, times in ms from the first record. */
export function viewerData(data: TraceData, summary: TraceSummary): unknown {
  const rel = (t: number) => r3(t - data.t0);
  const { row, rows } = assignRows(data);
  const fnIndex = new Map<string, number>();
  for (const f of summary.functions) fnIndex.set(f.fn, fnIndex.size);
  const wIndex = new Map(data.workers.map((w, i) => [w, i]));
  const byKey = new Map<string, number[]>();
  data.runs.forEach((run, i) => {
    const k = `${run.worker}\u0000${run.id}`;
    (byKey.get(k) ?? byKey.set(k, []).get(k)!).push(i);
  });
  const n = data.runs.length;
  const cols = {
    id: new Array<number>(n),
    w: new Array<number>(n),
    row: new Array<number>(n),
    fn: new Array<number>(n),
    s: new Array<number>(n),
    a: new Array<number>(n),
    e: new Array<number>(n),
    ok: new Array<number>(n),
    sub: new Array<number | null>(n),
    sw: new Array<number>(n),
    p: new Array<number>(n),
  };
  data.runs.forEach((run, i) => {
    cols.id[i] = run.id;
    cols.w[i] = wIndex.get(run.worker) ?? 0;
    cols.row[i] = row[i]!;
    cols.fn[i] = fnIndex.get(run.fn) ?? 0;
    cols.s[i] = rel(run.start);
    cols.a[i] = rel(activeEnd(run, data));
    cols.e[i] = rel(runEnd(run, data));
    cols.ok[i] = run.end === undefined ? -1 : run.ok === false ? 0 : 1;
    const s = run.submit;
    cols.sub[i] = s ? rel(s.t) : null;
    cols.sw[i] = s ? (wIndex.get(s.worker) ?? -1) : -1;
    let p = -1;
    if (s?.parent !== undefined) {
      const list = byKey.get(`${s.worker}\u0000${s.parent}`);
      if (list) p = list.find((j) => data.runs[j]!.start <= s.t && s.t <= runEnd(data.runs[j]!, data)) ?? list[list.length - 1]!;
    }
    cols.p[i] = p;
  });

  const span = Math.max(0, data.t1 - data.t0);
  const broker = samplesFrom(data.brokerSamples, data.t0)
    .filter((s) => s.t <= data.t1 + 1)
    .map((s): [number, number] => [rel(s.t), s.queue]);
  // Tasks held by the workers themselves (their local queues and what the broker sent ahead): the sum
  // over workers of each one's latest sample.
  const merged: Array<{ t: number; w: string; q: number }> = [];
  for (const [w, samples] of data.workerSamples) for (const s of samples) merged.push({ t: s.t, w, q: s.queued });
  merged.sort((a, b) => a.t - b.t);
  const latest = new Map<string, number>();
  let total = 0;
  const local: Array<[number, number]> = [];
  for (const m of merged) {
    total += m.q - (latest.get(m.w) ?? 0);
    latest.set(m.w, m.q);
    const t = rel(m.t);
    if (local.length > 0 && local[local.length - 1]![0] === t) local[local.length - 1]![1] = total;
    else if (local.length === 0 || local[local.length - 1]![1] !== total) local.push([t, total]);
  }

  const perWorker = new Map(summary.workers.map((w) => [w.worker, w]));
  return {
    dir: data.dir,
    t0: data.t0,
    span: r3(span),
    fns: summary.functions.map((f) => f.fn),
    workers: data.workers.map((w) => ({ name: w, rows: rows.get(w) ?? 1, runs: perWorker.get(w)?.runs ?? 0, busy: perWorker.get(w)?.busy ?? 0 })),
    runs: cols,
    queue: { broker: downsample(broker, span), workers: downsample(local, span) },
  };
}

function statsTables(s: TraceSummary): string {
  const th = (cells: string[]) => `<tr>${cells.map((c) => `<th>${esc(c)}</th>`).join("")}</tr>`;
  const td = (cells: string[]) => `<tr>${cells.map((c) => `<td>${esc(c)}</td>`).join("")}</tr>`;
  const workers = [
    th(["worker", "tasks", "own", "busy", "busy %"]),
    ...s.workers.map((w) => td([w.worker, String(w.runs), String(w.ownRuns), formatMs(w.busyMs), `${(w.busy * 100).toFixed(1)}%`])),
  ].join("");
  const fns = [
    th(["function", "tasks", "failed", "mean", "p50", "p99", "queued mean", "queued p50", "queued p99"]),
    ...s.functions.map((f) =>
      td([
        f.fn,
        String(f.runs),
        String(f.failed),
        formatMs(f.time?.mean),
        formatMs(f.time?.p50),
        formatMs(f.time?.p99),
        formatMs(f.queued?.mean),
        formatMs(f.queued?.p50),
        formatMs(f.queued?.p99),
      ]),
    ),
  ].join("");
  return (
    `<div><h2>Workers</h2><table class="stats">${workers}</table></div>` +
    `<div><h2>Functions</h2><table class="stats">${fns}</table>` +
    `<p class="meta">task time: start to end, waits on children included · queued: submit to start · ` +
    `busy: running tasks' synchronous code · own: tasks the worker submitted and ran itself</p></div>`
  );
}

/** The whole page. */
export function renderHtml(data: TraceData, summary: TraceSummary): string {
  // A JSON island: "<" escaped so that no "</script>" in a function's source can end it.
  const json = JSON.stringify(viewerData(data, summary)).replace(/</g, "\\u003c");
  const started = new Date(data.t0).toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");
  const extra = [
    summary.nested > 0 ? `${summary.nested} submitted from inside tasks` : "",
    summary.failed > 0 ? `${summary.failed} failed` : "",
    summary.unfinished > 0 ? `${summary.unfinished} never ended` : "",
  ].filter((x) => x !== "");
  const warnings = data.warnings.map((w) => `<div class="warn">⚠ ${esc(w)}</div>`).join("");
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>scoop trace — ${esc(data.dir)}</title>
<style>${VIEWER_CSS}</style>
</head>
<body>
<header>
<h1>scoop trace<small>${esc(data.dir)}</small></h1>
<div class="meta"><b>${summary.tasks}</b> tasks on <b>${data.workers.length}</b> worker(s) in <b>${esc(formatMs(summary.spanMs))}</b>${
    extra.length ? ` (${esc(extra.join(", "))})` : ""
  } · started ${esc(started)}</div>
<div id="legend"></div>
</header>
${warnings}
<div id="hint">Scroll to zoom · drag to pan · double-click to reset · hover a task for its details and links</div>
<div id="view"><canvas id="timeline"></canvas><div id="tip"></div></div>
<section>${statsTables(summary)}</section>
<script type="application/json" id="trace-data">${json}</script>
<script>${VIEWER_JS}</script>
</body>
</html>
`;
}
