// The web Timing Monitor: reads `sample` events from /events (server-sent
// events, one every sampling interval) and draws them with uPlot. The switch
// button POSTs /api/switch, the request SIGUSR1 and the TUI's 'b' key make.
"use strict";

const MAX_POINTS = 240;  // two minutes at the default 500 ms interval
const PALETTE = ["#1f6feb", "#d1242f", "#1a7f37", "#8250df", "#bf8700", "#0a9396", "#e76f51", "#222222"];

// State the page exposes for people debugging it and for the browser test.
const monitor = (window.inferlabMonitor = { samples: 0, errors: [], last: null, switchRequests: 0 });
window.addEventListener("error", (e) => monitor.errors.push(String(e.message || e)));

const $ = (id) => document.getElementById(id);
const series = (monitor.series = { t: [], fps: [], bpm: [], rss: [], power: [], stages: {} });
let stageNames = [];
const charts = {};
// Switches recorded when the button was pressed, until the server shows a new one (null: none pending).
let switchPending = null;

function fixed(v, digits) {
  return v === null || v === undefined || !isFinite(v) ? "–" : Number(v).toFixed(digits);
}

function push(array, value) {
  array.push(value);
  if (array.length > MAX_POINTS) array.shift();
}

function makeChart(id, lines, yLabel, extraScale) {
  const el = $(id);
  const opts = {
    width: Math.max(300, el.clientWidth),
    height: 220,
    scales: Object.assign({ x: { time: false } }, extraScale || {}),
    legend: { live: false },
    series: [{ label: "t (s)" }].concat(
      lines.map((name, i) => ({ label: name, stroke: PALETTE[i % PALETTE.length], width: 2, spanGaps: false }))),
    axes: [{ label: "seconds since start" }, { label: yLabel, size: 60 }],
  };
  return new uPlot(opts, [[]].concat(lines.map(() => [])), el);
}

function ensureCharts(sample) {
  if (charts.fps) return;
  stageNames = sample.stage_ms.map((st) => st.stage);  // pipeline order
  for (const name of stageNames) series.stages[name] = [];
  charts.fps = makeChart("chart-fps", ["FPS"], "frames/s");
  charts.stages = makeChart("chart-stages", stageNames, "ms", { y: { distr: 3 } });
  charts.bpm = makeChart("chart-bpm", ["BPM"], "beats/min");
  charts.rss = makeChart("chart-rss", ["RSS"], "MB");
  window.addEventListener("resize", () => {
    for (const [key, chart] of Object.entries(charts)) {
      const el = $("chart-" + key);
      if (el && el.clientWidth > 0) chart.setSize({ width: el.clientWidth, height: 220 });
    }
  });
}

function redraw() {
  charts.fps.setData([series.t, series.fps]);
  charts.stages.setData([series.t].concat(stageNames.map((n) => series.stages[n])));
  charts.bpm.setData([series.t, series.bpm]);
  charts.rss.setData([series.t, series.rss]);
  if (charts.power) charts.power.setData([series.t, series.power]);
}

function showTiles(s) {
  $("source").textContent = s.source;
  $("fps").textContent = fixed(s.fps, 1);
  $("frames").textContent = s.frames + " frames, " + s.dropped_frames + " dropped";
  $("bpm").textContent = s.bpm === null ? "n/a" : fixed(s.bpm, 1);
  $("bpm-note").textContent = s.bpm === null ? s.bpm_note : "SNR " + fixed(s.bpm_snr_db, 1) + " dB" + (s.face ? "" : ", no face now");
  $("backend").textContent = s.backend;
  $("method").textContent = "method " + s.method;
  $("rss").textContent = fixed(s.rss_mb, 1) + " MB";
  $("cpu").textContent = s.cpu_utilisation === null ? "" : "CPU " + fixed(100 * s.cpu_utilisation, 0) + "% of one core";
  if (s.power_w === null) {
    $("power").textContent = "n/a";
    $("power-note").textContent = s.power_note;
  } else {
    $("power").textContent = fixed(s.power_w, 2) + " W";
    $("power-note").textContent = "average since start";
    if (!charts.power) {
      $("power-figure").hidden = false;
      charts.power = makeChart("chart-power", ["W"], "watts");
    }
  }
}

function showSwitch(s) {
  const cycle = s.backend_cycle || [];
  const at = cycle.indexOf(s.backend);
  const next = cycle.length ? cycle[(at + 1) % cycle.length] : null;
  const button = $("switch-backend");
  if (switchPending !== null && (s.switching || s.switches.length > switchPending)) switchPending = null;
  button.disabled = s.finished || s.switching || switchPending !== null || !next || next === s.backend;
  button.textContent = next && next !== s.backend ? "Switch to " + next : "No other backend";
  $("switch-status").textContent = s.switching ? "loading the next backend…" : switchPending !== null ? "requested…" : "";
  const list = $("switches");
  if (!s.switches.length) return;
  list.replaceChildren(...s.switches.map((sw) => {
    const li = document.createElement("li");
    li.textContent = "at " + fixed(sw.at_s, 1) + " s: " + sw.from + " → " + sw.to + " in " + fixed(sw.switch_ms, 1) + " ms" +
      (sw.error ? " FAILED: " + sw.error : "");
    if (sw.error) li.className = "failed";
    return li;
  }));
}

function showStages(s) {
  const body = document.querySelector("#stage-table tbody");
  body.replaceChildren(...s.stages.map((st) => {
    const tr = document.createElement("tr");
    const queue = s.queues[st.name];
    for (const text of [st.name, fixed(st.p50_ms, 3), fixed(st.p99_ms, 3), String(st.count), queue === undefined ? "" : String(queue)]) {
      const td = document.createElement("td");
      td.textContent = text;
      tr.appendChild(td);
    }
    return tr;
  }));
}

function onSample(s) {
  if (monitor.last && s.t_s <= monitor.last.t_s && !s.finished) return;  // replayed history after a reconnect
  ensureCharts(s);
  push(series.t, s.t_s);
  push(series.fps, monitor.samples === 0 ? null : s.fps);  // the first sample has no interval yet
  push(series.bpm, s.bpm);
  push(series.rss, s.rss_mb);
  push(series.power, s.power_w);
  for (const st of s.stage_ms) {
    if (series.stages[st.stage]) push(series.stages[st.stage], st.mean_ms > 0 ? st.mean_ms : null);
  }
  monitor.samples += 1;
  monitor.last = s;
  document.body.dataset.samples = String(monitor.samples);
  showTiles(s);
  showSwitch(s);
  showStages(s);
  redraw();
}

function connect() {
  const events = new EventSource("/events");
  events.addEventListener("open", () => {
    document.body.dataset.state = "live";
    $("status").textContent = "live";
  });
  events.addEventListener("sample", (e) => {
    try {
      const s = JSON.parse(e.data);
      onSample(s);
      if (s.finished) {
        events.close();
        document.body.dataset.state = "ended";
        $("status").textContent = "run ended at " + fixed(s.t_s, 1) + " s";
      }
    } catch (err) {
      monitor.errors.push(String(err));
    }
  });
  events.addEventListener("error", () => {
    if (document.body.dataset.state === "ended") return;
    document.body.dataset.state = "reconnecting";
    $("status").textContent = "connection lost, retrying…";
  });
}

$("switch-backend").addEventListener("click", async () => {
  switchPending = monitor.last ? monitor.last.switches.length : 0;
  monitor.switchRequests += 1;
  $("switch-backend").disabled = true;
  $("switch-status").textContent = "requested…";
  try {
    const res = await fetch("/api/switch", { method: "POST", headers: { "Content-Type": "application/json" }, body: "{}" });
    if (!res.ok) {
      switchPending = null;
      $("switch-status").textContent = "refused: " + ((await res.json()).error || res.status);
    }
  } catch (err) {
    switchPending = null;
    $("switch-status").textContent = "request failed: " + err;
  }
});

connect();
