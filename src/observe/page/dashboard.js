// The scoop dashboard page: follows /events (server-sent events: `init`, then a `tick` twice a
// second) and draws the workers table, the queue and rate charts (uPlot), the task stream (a canvas
// drawn from the task spans, one lane per worker), the maps in flight and the last errors.
// Plain browser JavaScript, no build step; every value from the pool goes in as text, never as HTML.
/* global uPlot */
"use strict";

(() => {
  const PALETTE = [
    "#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#76b7b2", "#edc948", "#ff9da7", "#9c755f",
    "#86bcb6", "#8cd17d", "#a0cbe8", "#ffbe7d", "#d4a6c8", "#bab0ac", "#499894", "#79706e",
  ];
  const FAILED = "#d64545";
  const MAX_BARS = 20000;

  const state = {
    fns: [],
    workers: [],
    samples: [],
    bars: [],
    maxBarSeq: 0,
    maps: [],
    errors: [],
    totals: null,
    broker: null,
    ended: null,
    startedAt: Date.now(),
    serverNow: Date.now(),
    receivedAt: performance.now(),
    droppedBars: 0,
    connected: false,
  };

  const $ = (id) => document.getElementById(id);

  function el(tag, props, ...children) {
    const e = document.createElement(tag);
    if (props) {
      for (const [k, v] of Object.entries(props)) {
        if (v === undefined || v === null || v === false) continue;
        if (k === "class") e.className = v;
        else if (k === "style") e.setAttribute("style", v);
        else if (k.startsWith("data-")) e.setAttribute(k, v);
        else e[k] = v;
      }
    }
    for (const c of children) {
      if (c === undefined || c === null || c === false) continue;
      e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return e;
  }

  const nf = new Intl.NumberFormat("en-US");
  const fmtInt = (n) => nf.format(Math.round(n));
  function fmtRate(n) {
    if (n >= 1000) return nf.format(Math.round(n));
    if (n >= 10) return n.toFixed(0);
    return n.toFixed(1).replace(/\.0$/, "");
  }
  function fmtBytes(n) {
    const units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let i = 0;
    while (n >= 1024 && i < units.length - 1) {
      n /= 1024;
      i++;
    }
    return `${n >= 100 || i === 0 ? Math.round(n) : n.toFixed(1)} ${units[i]}`;
  }
  function fmtDuration(ms) {
    if (ms < 1) return `${(ms * 1000).toFixed(0)} µs`;
    if (ms < 1000) return `${ms < 10 ? ms.toFixed(2) : ms.toFixed(0)} ms`;
    const s = ms / 1000;
    if (s < 60) return `${s.toFixed(s < 10 ? 2 : 1)} s`;
    const m = Math.floor(s / 60);
    return `${m} min ${Math.round(s - m * 60)} s`;
  }
  /** Seconds since the run started, for chart and stream axes. */
  function fmtSeconds(v) {
    if (Math.abs(v) >= 120) return fmtClock(v * 1000);
    return `${Math.round(v * 10) / 10}s`;
  }
  function fmtClock(ms) {
    const s = Math.max(0, Math.floor(ms / 1000));
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    const sec = s % 60;
    const pad = (x) => String(x).padStart(2, "0");
    return h > 0 ? `${h}:${pad(m)}:${pad(sec)}` : `${m}:${pad(sec)}`;
  }

  /** The server's clock now, from the last message and the time since it came. */
  const serverNow = () => state.serverNow + (performance.now() - state.receivedAt);

  function colorOf(fn) {
    let i = state.fns.indexOf(fn);
    if (i < 0) {
      state.fns.push(fn);
      i = state.fns.length - 1;
    }
    return PALETTE[i % PALETTE.length];
  }

  // ---------------------------------------------------------------------------------------------
  // Data

  function absorb(msg, full) {
    state.serverNow = msg.now;
    state.receivedAt = performance.now();
    state.startedAt = msg.startedAt;
    state.ended = msg.ended;
    state.broker = msg.broker;
    state.totals = msg.totals;
    state.workers = msg.workers;
    state.maps = msg.maps;
    state.errors = msg.errors;
    state.droppedBars = msg.droppedBars;
    for (const fn of msg.fns) if (!state.fns.includes(fn)) state.fns.push(fn);
    if (full) {
      state.samples = msg.samples.slice();
      state.bars = [];
      state.maxBarSeq = 0;
    } else {
      for (const s of msg.samples) state.samples.push(s);
      if (state.samples.length > 1500) state.samples.splice(0, state.samples.length - 1200);
    }
    for (const b of msg.bars) {
      if (b.seq <= state.maxBarSeq) continue; // already had it (a tick can repeat the init's last bars)
      state.maxBarSeq = b.seq;
      state.bars.push(b);
    }
    if (state.bars.length > MAX_BARS * 1.25) state.bars.splice(0, state.bars.length - MAX_BARS);
  }

  function connect() {
    const es = new EventSource("events");
    es.addEventListener("init", (e) => {
      state.connected = true;
      absorb(JSON.parse(e.data), true);
      render();
    });
    es.addEventListener("tick", (e) => {
      state.connected = true;
      absorb(JSON.parse(e.data), false);
      render();
    });
    es.onerror = () => {
      state.connected = false;
      renderStatus();
    };
  }

  // ---------------------------------------------------------------------------------------------
  // Header and figures

  function renderStatus() {
    const s = $("status");
    if (state.ended) {
      s.textContent = `ended · exit ${state.ended.code}`;
      s.className = `pill ${state.ended.code === 0 ? "pill-ended" : "pill-bad"}`;
    } else if (!state.connected) {
      s.textContent = state.totals ? "disconnected" : "connecting…";
      s.className = "pill pill-wait";
    } else {
      s.textContent = "running";
      s.className = "pill pill-run";
    }
    const end = state.ended ? state.ended.at : serverNow();
    $("elapsed").textContent = state.totals ? fmtClock(end - state.startedAt) : "";
  }

  function renderKpis() {
    const t = state.totals;
    if (!t) return;
    const live = state.workers.filter((w) => w.leftAt === null && w.executes);
    const busy = live.filter((w) => w.state === "busy").length;
    $("kpi-workers").textContent = String(live.length);
    const gone = state.workers.filter((w) => w.leftAt !== null).length;
    $("kpi-workers-sub").textContent = `${busy} busy${gone ? ` · ${gone} gone` : ""}`;
    $("kpi-done").textContent = fmtInt(t.done);
    $("kpi-done-sub").textContent = `of ${fmtInt(t.submitted)} submitted`;
    $("kpi-failed").textContent = fmtInt(t.failed);
    $("kpi-failed").className = `kpi-value${t.failed > 0 ? " bad" : ""}`;
    const b = state.broker;
    $("kpi-failed-sub").textContent = b && (b.requeued || b.givenUp) ? `${fmtInt(b.requeued)} requeued · ${fmtInt(b.givenUp)} lost` : "";
    $("kpi-rate").textContent = fmtRate(t.rate);
    $("kpi-queue").textContent = fmtInt(b ? b.queue : 0);
    $("kpi-queue-sub").textContent = `${fmtInt(t.queuedOnWorkers)} on workers · ${fmtInt(t.running)} running`;
    if (b) {
      $("kpi-bytes").textContent = fmtBytes(b.bytesIn + b.bytesOut);
      $("kpi-bytes-sub").textContent = `${fmtBytes(b.bytesIn)} in · ${fmtBytes(b.bytesOut)} out`;
      $("broker-name").textContent = `broker ${b.name}`;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Workers

  function renderWorkers() {
    const body = $("workers").tBodies[0];
    const rows = state.workers.slice().sort((a, b) => b.executes - a.executes || byLane(a, b)).map((w) => {
      const cpu = Math.max(0, w.cpu);
      const stale = w.leftAt === null && w.lastReport !== null && serverNow() - w.lastReport > 2000;
      const stateText = w.executes ? w.state : w.leftAt === null ? "client" : w.state;
      return el(
        "tr",
        { "data-worker": w.name, "data-state": w.state },
        el(
          "td",
          { class: "name", title: `pid ${w.pid}` },
          el("span", { class: "worker-name" }, w.name),
          w.origin ? el("span", { class: "tag" }, "origin") : null,
          !w.executes ? el("span", { class: "tag" }, "submits only") : null,
        ),
        el("td", { class: "host" }, w.host),
        el(
          "td",
          { class: "state" },
          el("span", { class: `pill pill-${w.executes || w.leftAt !== null ? w.state : "idle"}` }, stateText),
          stale ? el("span", { class: "tag", title: "no report for a while: a long synchronous task?" }, `${Math.round((serverNow() - w.lastReport) / 1000)} s`) : null,
        ),
        el("td", { class: "num done" }, fmtInt(w.done)),
        el("td", { class: "num failed" }, fmtInt(w.failed)),
        el("td", { class: "num" }, fmtInt(w.running)),
        el("td", { class: "num" }, fmtInt(w.queued)),
        el("td", { class: "fn current", title: w.current || "" }, w.current || (w.leftAt === null ? "—" : "")),
        el(
          "td",
          { class: "cpu" },
          el("span", { class: "meter" }, el("i", { style: `width:${Math.min(100, cpu).toFixed(0)}%` })),
          w.leftAt === null ? `${cpu.toFixed(0)} %` : "",
        ),
        el("td", { class: "num rss" }, w.rss ? fmtBytes(w.rss) : "—"),
        el("td", { class: "num busy" }, fmtDuration(w.busyMs)),
      );
    });
    body.replaceChildren(...rows);
  }

  // ---------------------------------------------------------------------------------------------
  // Maps and errors

  function renderMaps() {
    const box = $("maps");
    if (state.maps.length === 0) {
      box.replaceChildren(el("p", { class: "empty" }, "No map yet."));
      return;
    }
    const maps = state.maps.slice().sort((a, b) => (a.state === "running") - (b.state === "running") || a.startedAt - b.startedAt).reverse();
    box.replaceChildren(
      ...maps.map((m) => {
        const total = m.total;
        const pct = total ? Math.min(100, (100 * m.done) / total) : 0;
        const count = `${fmtInt(m.done)} / ${total === null ? `${fmtInt(m.submitted)}+` : fmtInt(total)}`;
        const label = m.state === "running" ? "" : m.state === "done" ? " · done" : " · stopped";
        return el(
          "div",
          { class: `map ${m.state}`, "data-map": m.id },
          el(
            "div",
            { class: "map-head" },
            el("span", { class: "map-name" }, `${m.call}(${m.fn})`, el("span", { class: "tag" }, `from ${m.worker}${label}`)),
            el("span", { class: "map-count", "data-done": String(m.done), "data-total": total === null ? "" : String(total) }, count),
          ),
          el("div", { class: "bar" }, el("i", { style: `width:${pct.toFixed(1)}%` })),
        );
      }),
    );
  }

  let openErrors = new Set();
  function renderErrors() {
    const box = $("errors");
    const hint = $("errors-hint");
    hint.textContent = state.errors.length ? `latest ${state.errors.length}` : "";
    if (state.errors.length === 0) {
      box.replaceChildren(el("p", { class: "empty" }, "No error."));
      return;
    }
    // Keep the user's choice of opened stacks across redraws; the newest is open by default.
    for (const d of box.querySelectorAll("details")) {
      const seq = Number(d.dataset.seq);
      if (d.open) openErrors.add(seq);
      else openErrors.delete(seq);
    }
    const newest = state.errors[0].seq;
    if (!box.querySelector(`details[data-seq="${newest}"]`)) openErrors.add(newest);
    box.replaceChildren(
      ...state.errors.slice(0, 12).map((e) =>
        el(
          "div",
          { class: "error", "data-error": String(e.seq) },
          el("div", { class: "error-title" }, `${e.name}: ${e.message}`),
          el("div", { class: "error-meta" }, `in ${e.fn} (task #${e.id}) on ${e.worker}, at ${fmtClock(e.t - state.startedAt)}`),
          el(
            "details",
            { "data-seq": String(e.seq), open: openErrors.has(e.seq) },
            el("summary", null, "remote stack"),
            el("pre", { class: "stack" }, e.stack || "(no stack)"),
          ),
        ),
      ),
    );
  }

  // ---------------------------------------------------------------------------------------------
  // Charts (uPlot)

  const charts = {};
  function makeChart(key, box, series) {
    const width = Math.max(200, box.clientWidth);
    const opts = {
      width,
      height: 200,
      legend: { live: false },
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: false }, y: { range: (u, min, max) => [0, Math.max(1, max * 1.1)] } },
      axes: [
        {
          stroke: "#6b7785",
          grid: { stroke: "#eef0f3" },
          ticks: { stroke: "#e3e6ea" },
          values: (u, vals) => vals.map((v) => fmtSeconds(v)),
        },
        { stroke: "#6b7785", grid: { stroke: "#eef0f3" }, ticks: { stroke: "#e3e6ea" }, size: 56 },
      ],
      series: [{ label: "time", value: (u, v) => (v === null ? "" : fmtSeconds(v)) }, ...series],
    };
    charts[key] = new uPlot(opts, [[], ...series.map(() => [])], box);
  }

  function renderCharts() {
    if (typeof uPlot === "undefined") return;
    if (!charts.queue) {
      makeChart("queue", $("chart-queue"), [
        { label: "broker queue", stroke: "#4e79a7", fill: "rgba(78,121,167,0.12)", width: 2, points: { show: false } },
        { label: "queued on workers", stroke: "#f28e2b", width: 1.5, points: { show: false } },
      ]);
      makeChart("rate", $("chart-rate"), [{ label: "tasks / s", stroke: "#59a14f", fill: "rgba(89,161,79,0.14)", width: 2, points: { show: false } }]);
      const ro = new ResizeObserver(() => {
        for (const [k, c] of Object.entries(charts)) c.setSize({ width: Math.max(200, $(`chart-${k}`).clientWidth), height: 200 });
      });
      ro.observe($("chart-queue"));
      ro.observe($("chart-rate"));
    }
    const s = state.samples;
    const xs = s.map((p) => (p.t - state.startedAt) / 1000);
    charts.queue.setData([xs, s.map((p) => p.queue), s.map((p) => p.queuedOnWorkers)]);
    charts.rate.setData([xs, s.map((p) => p.rate)]);
  }

  // ---------------------------------------------------------------------------------------------
  // Task stream: one lane per worker, one bar per task (runs of tiny tasks are one bar)

  const LABEL_W = 110;
  const AXIS_H = 22;
  let layout = null;

  /** The origin first, then in the order they joined. */
  const byLane = (a, b) => b.origin - a.origin || a.lane - b.lane;
  function lanes() {
    return state.workers.filter((w) => w.executes).sort(byLane);
  }

  function renderStream() {
    const canvas = $("stream");
    const ws = lanes();
    const laneH = ws.length > 12 ? 14 : 26;
    const cssH = Math.max(90, ws.length * laneH + AXIS_H + 10);
    const cssW = canvas.parentElement.clientWidth;
    const dpr = window.devicePixelRatio || 1;
    canvas.style.height = `${cssH}px`;
    if (canvas.width !== Math.round(cssW * dpr) || canvas.height !== Math.round(cssH * dpr)) {
      canvas.width = Math.round(cssW * dpr);
      canvas.height = Math.round(cssH * dpr);
    }
    const ctx = canvas.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, cssW, cssH);

    // The whole run while it is short (zoomed to fit), then its last minute.
    const now = state.ended ? Math.max(state.ended.at, lastBarEnd()) : serverNow();
    const firstStart = state.bars.length ? Math.min(state.bars[0].start, now) : now;
    const span = Math.min(60_000, Math.max(2_000, (now - firstStart) * 1.04));
    const t0 = now - span;
    const plotW = cssW - LABEL_W - 8;
    const x = (t) => LABEL_W + ((t - t0) / span) * plotW;
    const laneOf = new Map(ws.map((w, i) => [w.lane, i]));
    layout = { t0, span, plotW, laneH, laneOf, x };

    // lanes and labels
    ctx.font = "12px system-ui, sans-serif";
    ctx.textBaseline = "middle";
    ws.forEach((w, i) => {
      const y = 4 + i * laneH;
      ctx.fillStyle = i % 2 ? "#fafbfc" : "#f3f5f8";
      ctx.fillRect(LABEL_W, y, plotW, laneH - 2);
      ctx.fillStyle = w.leftAt !== null ? "#a0a8b2" : "#3b4652";
      ctx.fillText(w.name.length > 14 ? `${w.name.slice(0, 13)}…` : w.name, 6, y + laneH / 2);
    });

    // bars
    let shown = 0;
    for (const b of state.bars) {
      if (b.end < t0) continue;
      const i = laneOf.get(b.lane);
      if (i === undefined) continue;
      const y = 4 + i * laneH + 2;
      const x0 = Math.max(LABEL_W, x(b.start));
      let w = Math.max(1, x(b.end) - x0);
      if (w > 3) w -= 1; // a hairline between neighbouring tasks
      ctx.fillStyle = b.ok ? colorOf(b.fn) : FAILED;
      ctx.fillRect(x0, y, w, laneH - 6);
      shown++;
    }

    // time axis: seconds since the run started
    const axisY = 4 + ws.length * laneH + 4;
    ctx.strokeStyle = "#d5dae0";
    ctx.beginPath();
    ctx.moveTo(LABEL_W, axisY);
    ctx.lineTo(LABEL_W + plotW, axisY);
    ctx.stroke();
    const step = niceStep(span / 1000 / 8) * 1000;
    ctx.fillStyle = "#6b7785";
    ctx.textBaseline = "top";
    ctx.textAlign = "center";
    for (let t = Math.ceil(Math.max(0, t0 - state.startedAt) / step) * step + state.startedAt; t <= now; t += step) {
      const px = x(t);
      ctx.beginPath();
      ctx.moveTo(px, axisY);
      ctx.lineTo(px, axisY + 4);
      ctx.stroke();
      ctx.fillText(fmtSeconds((t - state.startedAt) / 1000), px, axisY + 6);
    }
    ctx.textAlign = "left";

    $("stream-hint").textContent =
      `last ${Math.round(span / 1000)} s · ${fmtInt(shown)} bars` + (state.droppedBars ? ` · ${fmtInt(state.droppedBars)} not drawn (too many tiny tasks)` : "");
    renderLegend();
  }

  function lastBarEnd() {
    return state.bars.length ? state.bars[state.bars.length - 1].end : 0;
  }

  function niceStep(raw) {
    const steps = [0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60];
    return steps.find((s) => s >= raw) ?? 60;
  }

  let legendKey = "";
  function renderLegend() {
    const key = state.fns.join("\u0000");
    if (key === legendKey) return;
    legendKey = key;
    $("legend").replaceChildren(
      ...state.fns.map((fn) => el("span", null, el("i", { class: "swatch", style: `background:${colorOf(fn)}` }), fn)),
      el("span", null, el("i", { class: "swatch", style: `background:${FAILED}` }), "failed"),
    );
  }

  function onStreamHover(ev) {
    const tip = $("stream-tip");
    if (!layout) return;
    const rect = ev.currentTarget.getBoundingClientRect();
    const px = ev.clientX - rect.left;
    const py = ev.clientY - rect.top;
    const i = Math.floor((py - 4) / layout.laneH);
    const w = lanes()[i];
    if (!w || px < LABEL_W) {
      tip.hidden = true;
      return;
    }
    const t = layout.t0 + ((px - LABEL_W) / layout.plotW) * layout.span;
    const slack = (3 / layout.plotW) * layout.span;
    let hit = null;
    for (let k = state.bars.length - 1; k >= 0; k--) {
      const b = state.bars[k];
      if (b.lane === w.lane && b.start - slack <= t && t <= b.end + slack) {
        hit = b;
        break;
      }
      if (b.end < layout.t0) break;
    }
    if (!hit) {
      tip.hidden = true;
      return;
    }
    const what = hit.n > 1 ? `${hit.fn} × ${fmtInt(hit.n)} tasks` : hit.fn;
    tip.textContent = `${what} · ${fmtDuration(hit.end - hit.start)} · ${w.name}${hit.ok ? "" : " · failed"}`;
    tip.hidden = false;
    tip.style.left = `${Math.min(px + 12, rect.width - tip.offsetWidth - 4)}px`;
    tip.style.top = `${py + 14}px`;
  }

  // ---------------------------------------------------------------------------------------------

  function render() {
    renderStatus();
    renderKpis();
    renderWorkers();
    renderMaps();
    renderErrors();
    renderCharts();
    renderStream();
  }

  window.addEventListener("resize", () => renderStream());
  $("stream").addEventListener("mousemove", onStreamHover);
  $("stream").addEventListener("mouseleave", () => ($("stream-tip").hidden = true));
  // Between ticks, keep the clock and the stream moving.
  setInterval(() => {
    if (state.totals && !state.ended && state.connected) {
      renderStatus();
      renderStream();
    }
  }, 250);
  connect();
})();
