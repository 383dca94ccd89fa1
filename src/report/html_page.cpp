// The HTML report page: a fixed template with the charting library and the
// report's data inlined. The page script turns the data into Vega-Lite specs;
// every chart sits beside a table of the same figures, so the numbers are
// readable without hovering.
#include <string_view>

#include "inferlab/html_report.h"

namespace inferlab {

namespace {

// Inside <script>, "</script" would end the element and "<!--" can switch the
// HTML parser into its escaped state; "<\/" and "<\!--" mean the same to
// JavaScript in strings, regular expressions and comments.
std::string script_safe(std::string text) {
  for (const auto& [from, to] : {std::pair<std::string_view, std::string_view>{"</script", "<\\/script"},
                                 {"</SCRIPT", "<\\/SCRIPT"},
                                 {"<!--", "<\\!--"}}) {
    for (std::size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
      text.replace(at, from.size(), to);
    }
  }
  return text;
}

// JSON inside <script type="application/json">: '<' only occurs inside JSON
// strings, where \u003c is the same character.
std::string json_safe(const std::string& json) {
  std::string out;
  out.reserve(json.size());
  for (char c : json) {
    if (c == '<') {
      out += "\\u003c";
    } else {
      out += c;
    }
  }
  return out;
}

std::string html_escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

constexpr const char* kStyle = R"CSS(
body { font-family: system-ui, sans-serif; margin: 24px; color: #222; }
h1 { margin-bottom: 4px; } .sub { color: #666; margin-top: 0; }
section { border-top: 1px solid #ddd; padding: 12px 0; }
.pair { display: flex; flex-wrap: wrap; gap: 24px; align-items: flex-start; }
.chart { min-width: 300px; }
table { border-collapse: collapse; font-size: 12px; }
th, td { border: 1px solid #ccc; padding: 2px 6px; text-align: right; }
th { background: #f3f3f3; } td.l, th.l { text-align: left; }
.missing { color: #a55; font-style: italic; }
.note { color: #666; font-size: 12px; }
)CSS";

// The page script. DATA comes from report_data(); every chart id it names
// gets a section. Errors are collected for the render marker.
constexpr const char* kScript = R"JS(
const errors = [];
window.addEventListener('error', e => errors.push(String(e.message || e)));
window.addEventListener('unhandledrejection', e => errors.push(String(e.reason)));
const consoleError = console.error.bind(console);
console.error = (...args) => { errors.push(args.map(String).join(' ')); consoleError(...args); };
const DATA = JSON.parse(document.getElementById('report-data').textContent);
const fmt = v => (v === null || v === undefined) ? '-' : (typeof v === 'number' ? Number(v.toPrecision(4)).toString() : String(v));
const ok = r => r.status === 'ok';
const benchRows = DATA.rows.filter(r => r.kind === 'bench' && ok(r));
const schema = 'https://vega.github.io/schema/vega-lite/v6.json';
const W = 560, H = 320;

function table(columns, rows) {
  const t = document.createElement('table');
  const head = t.insertRow();
  for (const [title, , left] of columns) { const th = document.createElement('th'); th.textContent = title; if (left) th.className = 'l'; head.appendChild(th); }
  for (const r of rows) {
    const tr = t.insertRow();
    for (const [, get, left] of columns) { const td = tr.insertCell(); td.textContent = fmt(get(r)); if (left) td.className = 'l'; }
  }
  return t;
}

const tooltip = [{field: 'label', type: 'nominal'}];
const specs = {
  'latency-cdf': () => ({
    data: {values: DATA.cdf}, transform: [{filter: 'datum.latency_ms > 0'}],
    mark: {type: 'line', interpolate: 'step-after'},
    encoding: {x: {field: 'latency_ms', type: 'quantitative', scale: {type: 'log'}, title: 'latency (ms, log scale)'},
               y: {field: 'fraction', type: 'quantitative', title: 'fraction of runs at or below'},
               color: {field: 'series', type: 'nominal', title: 'configuration', legend: {orient: 'bottom', columns: 1, labelLimit: 400}}}}),
  'throughput-batch': () => ({
    data: {values: benchRows.map(r => ({...r, series: `${r.model} ${r.backend} ${r.precision} t${r.threads} run ${r.run_id}`}))},
    mark: {type: 'line', point: true},
    encoding: {x: {field: 'batch', type: 'quantitative', scale: {type: 'log', base: 2}, title: 'batch'},
               y: {field: 'throughput_per_s', type: 'quantitative', scale: {type: 'log'}, title: 'throughput (samples/s, log scale)'},
               color: {field: 'series', type: 'nominal', title: 'series', legend: {orient: 'bottom', columns: 1, labelLimit: 400}},
               tooltip: [{field: 'label'}, {field: 'throughput_per_s'}]}}),
  'memory': () => ({
    data: {values: benchRows.filter(r => r.peak_rss_mb !== null)}, mark: 'bar',
    encoding: {y: {field: 'label', type: 'nominal', sort: '-x', title: null, axis: {labelLimit: 320}},
               x: {field: 'peak_rss_mb', type: 'quantitative', title: 'peak RSS (MB)'},
               color: {field: 'backend', type: 'nominal'}, tooltip: [{field: 'label'}, {field: 'peak_rss_mb'}]}}),
  'pareto-accuracy': () => front('p99_ms', 'p99 latency (ms, log scale)', 'top1', 'Top-1', 'front_accuracy_latency', true, false),
  'pareto-memory': () => front('peak_rss_mb', 'peak RSS (MB)', 'throughput_per_s', 'throughput (samples/s, log scale)', 'front_memory_throughput', false, true),
  'live-stages': () => {
    // Stages along x in pipeline order, one offset column per backend run; a
    // rule from p50 to p99, a dot at p50, a tick at p99 (log scale: stages span 1 us to 100 ms).
    const enc = {x: {field: 'stage', type: 'nominal', sort: DATA.live_stage_order, title: 'stage', axis: {labelAngle: -30}},
                 xOffset: {field: 'series', type: 'nominal'},
                 color: {field: 'series', type: 'nominal', title: 'backend (run)', legend: {orient: 'bottom', columns: 1, labelLimit: 400}}};
    const y = {type: 'quantitative', scale: {type: 'log'}, title: 'latency (ms, log scale)'};
    const tip = [{field: 'series'}, {field: 'stage'}, {field: 'count'}, {field: 'p50_ms'}, {field: 'p90_ms'}, {field: 'p99_ms'}, {field: 'max_ms'}];
    return {data: {values: DATA.live_stages.filter(s => s.p50_ms > 0 && s.p99_ms > 0)}, layer: [
      {mark: {type: 'rule', strokeWidth: 2}, encoding: {...enc, y: {field: 'p50_ms', ...y}, y2: {field: 'p99_ms'}}},
      {mark: {type: 'point', filled: true, size: 60}, encoding: {...enc, y: {field: 'p50_ms', ...y}, tooltip: tip}},
      {mark: {type: 'tick', thickness: 2}, encoding: {...enc, y: {field: 'p99_ms', ...y}, tooltip: tip}}]};
  },
};
function front(x, xTitle, y, yTitle, flag, logX, logY) {
  const values = DATA.configurations.filter(c => c[x] !== null && c[y] !== null);
  const enc = {x: {field: x, type: 'quantitative', title: xTitle, scale: logX ? {type: 'log'} : {zero: false}},
               y: {field: y, type: 'quantitative', title: yTitle, scale: logY ? {type: 'log'} : {zero: false}}};
  return {data: {values}, layer: [
    {mark: {type: 'point', filled: true, size: 70}, encoding: {...enc, color: {field: 'backend', type: 'nominal'}, tooltip}},
    {transform: [{filter: `datum.${flag}`}], mark: {type: 'line', color: '#444', strokeDash: [4, 3]}, encoding: {...enc, order: {field: x}}}]};
}
DATA.profiles.forEach((p, i) => {
  specs['profile-' + i] = () => ({
    data: {values: p.layers}, mark: 'bar',
    encoding: {y: {field: 'layer', type: 'nominal', sort: {field: 'rank'}, title: null, axis: {labelLimit: 320}},
               x: {field: 'mean_ms', type: 'quantitative', title: 'time per run (ms)'},
               color: {field: 'op', type: 'nominal'}, tooltip: [{field: 'layer'}, {field: 'implementation'}, {field: 'mean_ms'}]}});
});
const frontRows = flag => DATA.configurations.filter(c => c[flag]);
const tables = {
  'latency-cdf': () => table([['configuration', r => r.label, true], ['p50 ms', r => r.p50_ms], ['p99 ms', r => r.p99_ms], ['mean ms', r => r.mean_ms], ['count', r => r.count], ['valid', r => r.valid ? 'yes' : 'no*']], benchRows),
  'throughput-batch': () => table([['configuration', r => r.label, true], ['batch', r => r.batch], ['samples/s', r => r.throughput_per_s]], benchRows),
  'memory': () => table([['configuration', r => r.label, true], ['peak RSS MB', r => r.peak_rss_mb]], benchRows),
  'pareto-accuracy': () => table([['on the front', r => r.label, true], ['p99 ms', r => r.p99_ms], ['Top-1', r => r.top1], ['accuracy run', r => r.accuracy_run_id]], frontRows('front_accuracy_latency')),
  'pareto-memory': () => table([['on the front', r => r.label, true], ['peak RSS MB', r => r.peak_rss_mb], ['samples/s', r => r.throughput_per_s]], frontRows('front_memory_throughput')),
};
tables['live-stages'] = () => table([['backend (run)', r => r.series, true], ['stage', r => r.stage, true], ['count', r => r.count], ['mean ms', r => r.mean_ms], ['p50 ms', r => r.p50_ms], ['p90 ms', r => r.p90_ms], ['p99 ms', r => r.p99_ms], ['max ms', r => r.max_ms]], DATA.live_stages);
DATA.profiles.forEach((p, i) => { tables['profile-' + i] = () => table([['layer', r => r.layer, true], ['op', r => r.op, true], ['kernel', r => r.implementation, true], ['ms/run', r => r.mean_ms]], p.layers); });

const main = document.getElementById('charts');
const pending = [];
for (const c of DATA.charts) {
  const s = document.createElement('section');
  s.innerHTML = '<h2></h2>';
  s.firstChild.textContent = c.title;
  main.appendChild(s);
  if (c.why_missing) { const p = document.createElement('p'); p.className = 'missing'; p.textContent = 'not drawn: ' + c.why_missing; s.appendChild(p); continue; }
  const pair = document.createElement('div'); pair.className = 'pair'; s.appendChild(pair);
  const el = document.createElement('div'); el.className = 'chart'; el.id = 'chart-' + c.id; el.dataset.chart = c.id; pair.appendChild(el);
  try { pair.appendChild(tables[c.id]()); } catch (e) { errors.push(c.id + ' table: ' + e); }
  const spec = Object.assign({$schema: schema, width: W, height: H}, specs[c.id]());
  pending.push(vegaEmbed(el, spec, {renderer: 'svg', actions: false}).catch(e => { errors.push(c.id + ': ' + e); }));
}
const all = document.getElementById('all-rows');
all.appendChild(table([['run', r => r.run_id], ['model', r => r.model, true], ['backend', r => r.backend, true], ['precision', r => r.precision, true], ['batch', r => r.batch], ['threads', r => r.threads], ['status', r => r.status + (r.valid ? '' : ' *'), true], ['p50 ms', r => r.p50_ms], ['p99 ms', r => r.p99_ms], ['samples/s', r => r.throughput_per_s], ['peak RSS MB', r => r.peak_rss_mb], ['Top-1', r => r.top1], ['reason', r => r.reason || r.invalid_reason, true]], DATA.rows));
const runs = document.getElementById('runs');
runs.appendChild(table([['run', r => r.id], ['verb', r => r.verb, true], ['started', r => r.started_at, true], ['machine', r => r.hostname + ', ' + r.cpu_model + ', ' + r.cores + ' CPUs', true], ['power', r => r.power_sensor, true], ['tags', r => r.tags.join(','), true], ['command', r => r.command_line, true]], DATA.runs));

Promise.allSettled(pending).then(() => {
  const charts = [...document.querySelectorAll('[data-chart]')].map(el => {
    const svg = el.querySelector('svg');
    const box = svg ? svg.getBoundingClientRect() : {width: 0, height: 0};
    return {id: el.dataset.chart, width: box.width, height: box.height, marks: svg ? svg.querySelectorAll('path, line, rect').length : 0};
  });
  for (const c of charts) if (!(c.width > 0 && c.height > 0 && c.marks > 0)) errors.push('chart ' + c.id + ' did not render');
  document.getElementById('render-status').textContent = JSON.stringify({charts, errors});
  document.body.dataset.renderState = errors.length ? 'error' : 'done';
});
)JS";

}  // namespace

std::string render_html_report(const ReportInput& input, const ChartLibrary& library) {
  const nlohmann::json data = report_data(input);
  std::string html;
  html.reserve(library.vega.size() + library.vega_lite.size() + library.vega_embed.size() + 256 * 1024);
  html += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>" + html_escape(input.title) +
          "</title>\n<style>" + kStyle + "</style>\n";
  for (const std::string* lib : {&library.vega, &library.vega_lite, &library.vega_embed}) {
    html += "<script>" + script_safe(*lib) + "</script>\n";
  }
  html += "</head>\n<body data-render-state=\"pending\">\n<h1>" + html_escape(input.title) +
          "</h1>\n<p class=\"sub\">" + std::to_string(input.runs.size()) + " run(s), " +
          std::to_string(input.rows.size()) + " row(s); generated " +
          html_escape(data["generated_at"].get<std::string>()) + " by inferlab; charts by " +
          html_escape(library.description) + ", inlined: this file needs no network.</p>\n";
  html +=
      "<section><h2>Runs</h2><div id=\"runs\"></div></section>\n<div id=\"charts\"></div>\n"
      "<section><h2>All rows</h2><div id=\"all-rows\"></div><p class=\"note\">* invalid: the run was cut by "
      "--max-duration-ms before its minimums (see reason). Latency CDFs use the raw samples kept with each row "
      "(at most 4096, evenly strided). Live stage percentiles come from each run's log-spaced histogram (bins 2% "
      "wide); their mean and max are exact.</p></section>\n<pre id=\"render-status\" class=\"note\"></pre>\n";
  html += "<script type=\"application/json\" id=\"report-data\">" +
          json_safe(data.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)) + "</script>\n";
  html += std::string("<script>") + kScript + "</script>\n</body>\n</html>\n";
  return html;
}

}  // namespace inferlab
