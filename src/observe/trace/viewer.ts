/**
 * The timeline page's script and style, inlined into the HTML `scoop trace` writes (no network, no
 * library): it reads the JSON data island `#trace-data` and draws on a canvas — one lane per worker
 * (split into sub-lanes where tasks overlap: a suspended parent and the children run meanwhile),
 * tasks coloured by function (solid while running, pale while waiting on futures), parent → child
 * links, and the queue lengths below. Wheel zooms, drag pans, double-click resets, hover explains.
 *
 * Kept as plain ES2020 in a string (no template literals inside, so it can live in String.raw).
 */

export const VIEWER_CSS = String.raw`
* { box-sizing: border-box; }
body { margin: 0; font: 13px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; color: #1f2328; background: #f6f8fa; }
header { padding: 14px 20px 8px; background: #fff; border-bottom: 1px solid #d0d7de; }
h1 { font-size: 17px; margin: 0 0 2px; font-weight: 600; }
h1 small { font-weight: 400; color: #57606a; font-size: 13px; margin-left: 8px; }
h2 { font-size: 14px; margin: 18px 0 6px; font-weight: 600; }
.meta { color: #57606a; }
.meta b { color: #1f2328; font-weight: 600; }
#legend { margin-top: 8px; display: flex; flex-wrap: wrap; gap: 4px 14px; }
#legend span { display: inline-flex; align-items: center; gap: 5px; white-space: nowrap; }
#legend i { display: inline-block; width: 12px; height: 12px; border-radius: 2px; }
#legend .pale { opacity: .3; }
#legend .link { width: 18px; height: 0; border-top: 1.5px solid rgba(60,60,80,.6); border-radius: 0; }
#hint { color: #57606a; font-size: 12px; padding: 6px 20px; }
#view { position: relative; margin: 0 12px; background: #fff; border: 1px solid #d0d7de; border-radius: 6px; overflow: hidden; }
canvas { display: block; cursor: grab; }
canvas.dragging { cursor: grabbing; }
#tip { position: absolute; pointer-events: none; display: none; background: rgba(255,255,255,.97); border: 1px solid #d0d7de; border-radius: 6px; box-shadow: 0 4px 14px rgba(0,0,0,.12); padding: 7px 10px; font-size: 12px; min-width: 190px; z-index: 2; }
#tip .fn { font-weight: 600; font-size: 13px; }
#tip table { border-collapse: collapse; margin-top: 3px; }
#tip td { padding: 0 8px 0 0; white-space: nowrap; }
#tip td:first-child { color: #57606a; }
section { padding: 4px 20px 24px; display: flex; flex-wrap: wrap; gap: 0 40px; }
table.stats { border-collapse: collapse; background: #fff; border: 1px solid #d0d7de; }
table.stats th, table.stats td { padding: 3px 10px; border-bottom: 1px solid #eaeef2; text-align: right; white-space: nowrap; }
table.stats th { background: #f6f8fa; font-weight: 600; }
table.stats th:first-child, table.stats td:first-child { text-align: left; }
.warn { color: #9a6700; margin: 6px 20px; font-size: 12px; }
`;

export const VIEWER_JS = String.raw`
(function () {
  "use strict";
  var D = JSON.parse(document.getElementById("trace-data").textContent);
  var R = D.runs;
  var N = R.id.length;
  var PALETTE = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#86bcb6", "#d37295", "#a0cbe8"];
  function color(i) { return i < PALETTE.length ? PALETTE[i] : "hsl(" + ((i * 137.508) % 360).toFixed(1) + ",55%,52%)"; }
  function esc(s) { return String(s).replace(/[&<>"]/g, function (c) { return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[c]; }); }
  function fmt(ms) {
    if (!(ms >= 0) && !(ms < 0)) return "-";
    var a = Math.abs(ms);
    if (a < 1) return (ms * 1000).toFixed(0) + " µs";
    if (a < 10) return ms.toFixed(2) + " ms";
    if (a < 1000) return ms.toFixed(1) + " ms";
    if (a < 60000) return (ms / 1000).toFixed(a < 10000 ? 3 : 2) + " s";
    return Math.floor(ms / 60000) + " min " + ((ms % 60000) / 1000).toFixed(1) + " s";
  }

  // Legend.
  var legend = document.getElementById("legend");
  var html = "";
  for (var f = 0; f < D.fns.length; f++) html += "<span><i style=\"background:" + color(f) + "\"></i>" + esc(D.fns[f]) + "</span>";
  html += "<span><i style=\"background:#888\"></i>running</span><span><i class=\"pale\" style=\"background:#888\"></i>waiting on its futures</span>";
  html += "<span><i class=\"link\"></i>submitted by</span>";
  html += "<span><i style=\"background:rgba(110,119,129,.3);border:1px solid #6e7781\"></i>broker queue</span>";
  html += "<span><i style=\"background:#8250df;height:3px\"></i>queued on workers</span>";
  legend.innerHTML = html;

  // Layout.
  // A lane per worker: a strip of what it ran (its busy time), then sub-rows with each task's whole
  // life (running, then waiting on its futures), as many as tasks overlap there.
  var LABEL_W = 150, RIGHT = 14, AXIS_H = 28, LANE_PAD = 5, LANE_GAP = 4, STRIP_H = 16, STRIP_GAP = 5, QUEUE_H = 96, QUEUE_GAP = 30, BOTTOM = 10;
  var totalRows = 0;
  for (var w = 0; w < D.workers.length; w++) totalRows += D.workers[w].rows;
  // Rows share about 480 px: with very many overlapping tasks a row gets thinner than a pixel and the
  // lane becomes a density picture (hover still finds the task under the mouse).
  var ROW_H = Math.min(14, totalRows <= 160 ? Math.max(3, Math.floor(480 / Math.max(1, totalRows))) : 480 / totalRows);
  var laneTop = [], laneH = [];
  var y = AXIS_H + 4;
  for (w = 0; w < D.workers.length; w++) {
    laneTop.push(y);
    laneH.push(Math.max(40, STRIP_H + STRIP_GAP + D.workers[w].rows * ROW_H + 2 * LANE_PAD));
    y += laneH[w] + LANE_GAP;
  }
  var lanesBottom = y;
  var queueTop = lanesBottom + QUEUE_GAP;
  var H = queueTop + QUEUE_H + BOTTOM + 16;

  // Runs per (worker, row), in start order (data.runs is sorted by start), for hit testing.
  var byLane = {};
  var children = new Array(N);
  for (var i = 0; i < N; i++) {
    var k = R.w[i] + ":" + R.row[i];
    (byLane[k] || (byLane[k] = [])).push(i);
    var p = R.p[i];
    if (p >= 0) (children[p] || (children[p] = [])).push(i);
  }

  // Queue series: [t, value] pairs, step functions.
  var QB = D.queue.broker, QL = D.queue.workers;
  var qmax = 1;
  for (i = 0; i < QB.length; i++) qmax = Math.max(qmax, QB[i][1]);
  for (i = 0; i < QL.length; i++) qmax = Math.max(qmax, QL[i][1]);

  var canvas = document.getElementById("timeline");
  var ctx = canvas.getContext("2d");
  var tip = document.getElementById("tip");
  var view = document.getElementById("view");
  var W = 800;
  var pad = Math.max(D.span * 0.01, 0.05);
  var full = [-pad, D.span + pad];
  var v0 = full[0], v1 = full[1];
  var hover = -1;
  var stats = { runs: N, workers: D.workers.length, drawn: 0, links: 0, frames: 0 };
  window.scoopTrace = stats;

  function X(t) { return LABEL_W + (t - v0) / (v1 - v0) * (W - LABEL_W - RIGHT); }
  function T(x) { return v0 + (x - LABEL_W) / (W - LABEL_W - RIGHT) * (v1 - v0); }
  function rowsTop(w) { return laneTop[w] + LANE_PAD + STRIP_H + STRIP_GAP; }
  function rowY(i) { return rowsTop(R.w[i]) + R.row[i] * ROW_H; }

  function niceStep(span, px) {
    var raw = span / Math.max(1, px / 110);
    var e = Math.pow(10, Math.floor(Math.log10(raw)));
    var m = raw / e;
    return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * e;
  }

  function link(i, strong) {
    var p = R.p[i];
    if (p < 0) return false;
    var x0 = X(R.sub[i]), y0 = rowY(p) + ROW_H / 2;
    var x1 = X(R.s[i]), y1 = rowY(i) + ROW_H / 2;
    if (Math.max(x0, x1) < LABEL_W || Math.min(x0, x1) > W - RIGHT) return false;
    ctx.beginPath();
    ctx.moveTo(x0, y0);
    var dx = Math.max(12, Math.abs(x1 - x0) * 0.5);
    ctx.bezierCurveTo(x0 + dx, y0, x1 - dx, y1, x1, y1);
    ctx.strokeStyle = strong ? "rgba(20,20,40,.9)" : "rgba(60,60,90,.28)";
    ctx.lineWidth = strong ? 1.6 : 0.8;
    ctx.stroke();
    if (strong || Math.abs(x1 - x0) > 6) {
      ctx.beginPath();
      ctx.moveTo(x1, y1);
      ctx.lineTo(x1 - 5, y1 - 3);
      ctx.lineTo(x1 - 5, y1 + 3);
      ctx.closePath();
      ctx.fillStyle = ctx.strokeStyle;
      ctx.fill();
    }
    return true;
  }

  function draw() {
    stats.frames++;
    var dpr = window.devicePixelRatio || 1;
    W = Math.max(400, view.clientWidth);
    if (canvas.width !== Math.round(W * dpr) || canvas.height !== Math.round(H * dpr)) {
      canvas.width = Math.round(W * dpr);
      canvas.height = Math.round(H * dpr);
      canvas.style.width = W + "px";
      canvas.style.height = H + "px";
    }
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, W, H);
    ctx.font = "12px system-ui, -apple-system, Segoe UI, Roboto, sans-serif";
    ctx.textBaseline = "middle";

    // Lanes.
    for (var w = 0; w < D.workers.length; w++) {
      ctx.fillStyle = w % 2 ? "#f6f8fa" : "#fbfcfd";
      ctx.fillRect(0, laneTop[w], W, laneH[w]);
      ctx.fillStyle = "#1f2328";
      ctx.font = "600 12px system-ui, -apple-system, Segoe UI, Roboto, sans-serif";
      ctx.fillText(D.workers[w].name, 10, laneTop[w] + LANE_PAD + STRIP_H / 2);
      ctx.font = "11px system-ui, -apple-system, Segoe UI, Roboto, sans-serif";
      ctx.fillStyle = "#57606a";
      ctx.fillText(D.workers[w].runs + " tasks · " + (D.workers[w].busy * 100).toFixed(0) + "% busy", 10, laneTop[w] + 30);
    }
    ctx.strokeStyle = "#d0d7de";
    ctx.lineWidth = 1;
    ctx.beginPath();
    ctx.moveTo(LABEL_W - 0.5, AXIS_H);
    ctx.lineTo(LABEL_W - 0.5, H - BOTTOM);
    ctx.stroke();

    // Time grid and axis.
    var step = niceStep(v1 - v0, W - LABEL_W - RIGHT);
    ctx.font = "11px system-ui, -apple-system, Segoe UI, Roboto, sans-serif";
    ctx.textAlign = "center";
    for (var t = Math.ceil(v0 / step) * step; t <= v1; t += step) {
      var x = Math.round(X(t)) + 0.5;
      if (x < LABEL_W) continue;
      ctx.strokeStyle = "rgba(0,0,0,.07)";
      ctx.beginPath();
      ctx.moveTo(x, AXIS_H - 4);
      ctx.lineTo(x, H - BOTTOM - 16);
      ctx.stroke();
      ctx.fillStyle = "#57606a";
      ctx.fillText(Math.abs(t) < step / 1e6 ? "0" : fmt(t), x, AXIS_H / 2);
    }
    ctx.textAlign = "left";

    ctx.save();
    ctx.beginPath();
    ctx.rect(LABEL_W, AXIS_H, W - LABEL_W - RIGHT, H - AXIS_H);
    ctx.clip();

    // Busy strips: the running part of every task (a worker runs one at a time).
    for (w = 0; w < D.workers.length; w++) {
      ctx.fillStyle = "#eef1f4";
      ctx.fillRect(LABEL_W, laneTop[w] + LANE_PAD, W - LABEL_W - RIGHT, STRIP_H);
    }
    for (var i = 0; i < N; i++) {
      var sx0 = X(R.s[i]), sx1 = X(R.a[i]);
      if (sx1 < LABEL_W || sx0 > W - RIGHT) continue;
      ctx.fillStyle = color(R.fn[i]);
      ctx.fillRect(sx0, laneTop[R.w[i]] + LANE_PAD, Math.max(0.75, sx1 - sx0), STRIP_H);
    }

    // Tasks.
    var drawn = 0;
    var hBar = ROW_H >= 3 ? Math.max(2, ROW_H - (ROW_H > 6 ? 3 : 1)) : Math.max(1, ROW_H);
    for (i = 0; i < N; i++) {
      var x0 = X(R.s[i]), x1 = X(R.e[i]);
      if (x1 < LABEL_W || x0 > W - RIGHT) continue;
      var xa = X(R.a[i]);
      var yy = rowY(i) + 1;
      var c = color(R.fn[i]);
      if (x1 - xa > 0.5) {
        ctx.globalAlpha = ROW_H >= 3 ? 0.3 : 0.1;
        ctx.fillStyle = c;
        ctx.fillRect(xa, yy, x1 - xa, hBar);
        ctx.globalAlpha = 1;
      }
      ctx.fillStyle = c;
      ctx.fillRect(x0, yy, Math.max(1, xa - x0), hBar);
      if (R.ok[i] !== 1 && x1 - x0 > 2) {
        ctx.strokeStyle = R.ok[i] === 0 ? "#cf222e" : "#9a6700";
        ctx.lineWidth = 1.5;
        ctx.strokeRect(x0 + 0.75, yy + 0.75, Math.max(1, x1 - x0 - 1.5), hBar - 1.5);
      }
      drawn++;
    }
    stats.drawn = drawn;

    // Parent -> child links: all of them while they stay readable, else those of the task under the mouse.
    var links = 0;
    if (N <= 5000) for (i = 0; i < N; i++) if (link(i, false)) links++;
    stats.links = links;
    if (hover >= 0) {
      var hx0 = X(R.s[hover]), hx1 = X(R.e[hover]);
      ctx.strokeStyle = "#1f2328";
      ctx.lineWidth = 1.5;
      ctx.strokeRect(hx0 - 1, rowY(hover), Math.max(2, hx1 - hx0 + 2), ROW_H - 1);
      link(hover, true);
      var ch = children[hover] || [];
      for (i = 0; i < ch.length; i++) link(ch[i], true);
    }

    // Queue chart.
    var qy0 = queueTop + QUEUE_H;
    function QY(v) { return qy0 - v / qmax * (QUEUE_H - 6); }
    function series(pts, fill, stroke) {
      if (pts.length === 0) return;
      ctx.beginPath();
      ctx.moveTo(X(pts[0][0]), qy0);
      var prev = pts[0][1];
      ctx.lineTo(X(pts[0][0]), QY(prev));
      for (var j = 1; j < pts.length; j++) {
        var xj = X(pts[j][0]);
        ctx.lineTo(xj, QY(prev));
        prev = pts[j][1];
        ctx.lineTo(xj, QY(prev));
      }
      var xe = X(D.span);
      ctx.lineTo(xe, QY(prev));
      if (fill) {
        ctx.lineTo(xe, qy0);
        ctx.closePath();
        ctx.fillStyle = fill;
        ctx.fill();
      }
      ctx.strokeStyle = stroke;
      ctx.lineWidth = 1.5;
      ctx.stroke();
    }
    series(QB, "rgba(110,119,129,.25)", "#6e7781");
    series(QL, null, "#8250df");
    ctx.restore();

    ctx.fillStyle = "#fbfcfd";
    ctx.fillRect(0, queueTop - 8, LABEL_W - 1, QUEUE_H + 8);
    ctx.fillStyle = "#1f2328";
    ctx.font = "600 12px system-ui, -apple-system, Segoe UI, Roboto, sans-serif";
    ctx.fillText("queue", 10, queueTop + 8);
    ctx.font = "11px system-ui, -apple-system, Segoe UI, Roboto, sans-serif";
    ctx.fillStyle = "#57606a";
    ctx.fillText("tasks waiting", 10, queueTop + 24);
    ctx.textAlign = "right";
    ctx.fillText(String(qmax), LABEL_W - 6, QY(qmax));
    ctx.fillText("0", LABEL_W - 6, qy0);
    ctx.textAlign = "left";
    ctx.strokeStyle = "#d0d7de";
    ctx.beginPath();
    ctx.moveTo(LABEL_W, qy0 + 0.5);
    ctx.lineTo(W - RIGHT, qy0 + 0.5);
    ctx.moveTo(LABEL_W, QY(qmax) + 0.5);
    ctx.lineTo(W - RIGHT, QY(qmax) + 0.5);
    ctx.stroke();
  }

  var pending = false;
  function redraw() {
    if (pending) return;
    pending = true;
    requestAnimationFrame(function () { pending = false; draw(); });
  }

  function hit(mx, my) {
    for (var w = 0; w < D.workers.length; w++) {
      if (my < laneTop[w] || my >= laneTop[w] + laneH[w]) continue;
      var t = T(mx), slack = (v1 - v0) / (W - LABEL_W - RIGHT) * 3;
      if (my < rowsTop(w)) {
        // The busy strip: the task running at that moment.
        for (var q = N - 1; q >= 0; q--) if (R.w[q] === w && R.s[q] - slack <= t && t <= R.a[q] + slack) return q;
        return -1;
      }
      var row = Math.floor((my - rowsTop(w)) / ROW_H);
      var list = byLane[w + ":" + row];
      if (!list) return -1;
      var lo = 0, hi = list.length - 1, best = -1;
      while (lo <= hi) {
        var mid = (lo + hi) >> 1;
        if (R.s[list[mid]] <= t + slack) { best = mid; lo = mid + 1; } else hi = mid - 1;
      }
      for (var j = best; j >= 0 && j >= best - 2; j--) {
        var i = list[j];
        if (R.s[i] - slack <= t && t <= R.e[i] + slack) return i;
      }
      return -1;
    }
    return -1;
  }

  function showTip(i, mx, my) {
    if (i < 0) { tip.style.display = "none"; return; }
    var rows = [
      ["task", "#" + R.id[i]],
      ["worker", D.workers[R.w[i]].name],
      ["start", "+" + fmt(R.s[i])],
      ["duration", fmt(R.e[i] - R.s[i]) + (R.ok[i] === -1 ? " (never ended)" : "")],
      ["running", fmt(R.a[i] - R.s[i])],
    ];
    if (R.e[i] - R.a[i] > 0) rows.push(["waiting", fmt(R.e[i] - R.a[i])]);
    if (R.sub[i] !== null) {
      rows.push(["queued", fmt(R.s[i] - R.sub[i])]);
      rows.push(["submitted by", D.workers[R.sw[i]] ? D.workers[R.sw[i]].name : "?"]);
    }
    if (R.p[i] >= 0) rows.push(["parent", D.fns[R.fn[R.p[i]]] + " #" + R.id[R.p[i]]]);
    else if (R.sub[i] !== null) rows.push(["parent", "main"]);
    var nc = (children[i] || []).length;
    if (nc) rows.push(["children", String(nc)]);
    if (R.ok[i] === 0) rows.push(["result", "failed"]);
    var h = "<div class=\"fn\" style=\"color:" + color(R.fn[i]) + "\">" + esc(D.fns[R.fn[i]]) + "</div><table>";
    for (var j = 0; j < rows.length; j++) h += "<tr><td>" + rows[j][0] + "</td><td>" + esc(rows[j][1]) + "</td></tr>";
    tip.innerHTML = h + "</table>";
    tip.style.display = "block";
    var tw = tip.offsetWidth, th = tip.offsetHeight;
    tip.style.left = Math.min(mx + 14, W - tw - 4) + "px";
    tip.style.top = (my + 16 + th > H ? my - th - 10 : my + 16) + "px";
  }

  var drag = null;
  canvas.addEventListener("mousedown", function (e) {
    drag = { x: e.clientX, v0: v0, v1: v1 };
    canvas.classList.add("dragging");
  });
  window.addEventListener("mouseup", function () {
    drag = null;
    canvas.classList.remove("dragging");
  });
  canvas.addEventListener("mousemove", function (e) {
    var r = canvas.getBoundingClientRect();
    var mx = e.clientX - r.left, my = e.clientY - r.top;
    if (drag) {
      var dt = (e.clientX - drag.x) / (W - LABEL_W - RIGHT) * (drag.v1 - drag.v0);
      v0 = drag.v0 - dt;
      v1 = drag.v1 - dt;
      tip.style.display = "none";
      redraw();
      return;
    }
    var i = mx > LABEL_W ? hit(mx, my) : -1;
    if (i !== hover) { hover = i; redraw(); }
    showTip(i, mx, my);
  });
  canvas.addEventListener("mouseleave", function () {
    if (hover >= 0) { hover = -1; redraw(); }
    tip.style.display = "none";
  });
  canvas.addEventListener("wheel", function (e) {
    e.preventDefault();
    var r = canvas.getBoundingClientRect();
    var mx = e.clientX - r.left;
    var at = T(Math.max(LABEL_W, mx));
    var f = Math.exp((e.deltaMode === 1 ? e.deltaY * 16 : e.deltaY) * 0.0015);
    var span = Math.min((full[1] - full[0]) * 4, Math.max(0.001, (v1 - v0) * f));
    var k = (at - v0) / (v1 - v0);
    v0 = at - k * span;
    v1 = v0 + span;
    redraw();
  }, { passive: false });
  canvas.addEventListener("dblclick", function () {
    v0 = full[0];
    v1 = full[1];
    redraw();
  });
  window.addEventListener("resize", redraw);
  draw();
})();
`;
