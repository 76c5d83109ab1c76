/**
 * The dashboard's HTML: served live (assets beside it, state polled) or written as one
 * self-contained report (uPlot and the final state inlined). No CDN: uPlot comes from npm.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { DASHBOARD_SCRIPT } from './dashboard-script.js';
import type { MonitorState } from './state.js';

const require = createRequire(import.meta.url);

export interface DashboardAssets {
  uplotJs: string;
  uplotCss: string;
}

let assets: DashboardAssets | undefined;

/** uPlot's browser build and stylesheet, read once. */
export function dashboardAssets(): DashboardAssets {
  assets ??= {
    uplotJs: readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js'), 'utf8'),
    uplotCss: readFileSync(require.resolve('uplot/dist/uPlot.min.css'), 'utf8'),
  };
  return assets;
}

const STYLE = `
body{font:14px/1.4 system-ui,sans-serif;margin:0;background:#f8fafc;color:#0f172a}
header{display:flex;gap:16px;align-items:baseline;padding:12px 20px;background:#0f172a;color:#f8fafc}
header h1{font-size:18px;margin:0}.status{padding:2px 8px;border-radius:4px;font-weight:600}
.running{background:#2563eb}.done{background:#16a34a}#updated{opacity:.8;margin-left:auto}
main{padding:16px 20px;display:grid;gap:16px;grid-template-columns:minmax(0,1fr)}
.tiles{display:grid;grid-template-columns:repeat(auto-fill,minmax(130px,1fr));gap:8px}
.tile{background:#fff;border:1px solid #e2e8f0;border-radius:6px;padding:8px 10px}
.tile .v{display:block;font-size:22px;font-weight:600}.tile .k{color:#64748b;font-size:12px}
section{background:#fff;border:1px solid #e2e8f0;border-radius:6px;padding:10px 12px}
section h2{font-size:15px;margin:0 0 8px}.charts{display:grid;grid-template-columns:minmax(0,1fr) minmax(0,1fr);gap:16px}
table{border-collapse:collapse;width:100%;table-layout:fixed}td,th{text-align:left;padding:3px 8px;border-bottom:1px solid #f1f5f9}
td{font-variant-numeric:tabular-nums;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.mix{display:flex;height:14px;border-radius:4px;overflow:hidden;background:#e2e8f0;margin:6px 0}
.mix span{display:block;height:100%}.s2xx{background:#16a34a}.s3xx{background:#0891b2}.s4xx{background:#f59e0b}.s5xx{background:#dc2626}
.legend{display:flex;gap:16px}#failures th:nth-child(1),#failures th:nth-child(3){width:9%}#failures th:nth-child(2){width:18%}#failures th:nth-child(4){width:36%}.scroll{max-height:420px;overflow:auto}.empty{color:#94a3b8}#offline{color:#dc2626}
@media (max-width:900px){.charts{grid-template-columns:minmax(0,1fr)}}
`;

const TILES: Array<[string, string]> = [
  ['pages', 'pages'],
  ['items', 'items'],
  ['requests', 'requests'],
  ['failed', 'failed'],
  ['retries', 'retries'],
  ['notModified', 'not modified'],
  ['queued', 'queued'],
  ['inFlight', 'in flight'],
  ['parseBacklog', 'parse backlog'],
  ['pagesPerSecond', 'pages/s (avg)'],
  ['itemsPerSecond', 'items/s (avg)'],
  ['megabytes', 'MB received'],
];

function body(): string {
  const tiles = TILES.map(
    ([key, label]) =>
      `<div class="tile"><span class="v" data-stat="${key}">-</span><span class="k">${label}</span></div>`,
  ).join('');
  const classes = ['2xx', '3xx', '4xx', '5xx'];
  const bars = classes.map((c) => `<span class="s${c}" data-bar="${c}"></span>`).join('');
  const legend = classes.map((c) => `<span>${c} <b data-status="${c}">0</b></span>`).join('');
  const table = (id: string, heads: string[]) =>
    `<table id="${id}"><thead><tr>${heads.map((h) => `<th>${h}</th>`).join('')}</tr></thead><tbody></tbody></table>`;
  return `<header><h1 id="title">trawl</h1><span id="status" class="status running">running</span>
<span id="offline" hidden>connection to the crawl lost, retrying</span><span id="updated"></span></header>
<main><div class="tiles">${tiles}</div>
<div class="charts"><section><h2>Throughput</h2><div id="rate-chart"></div></section>
<section><h2>Queue and in flight</h2><div id="queue-chart"></div></section></div>
<section><h2>Responses</h2><div class="mix">${bars}</div><div class="legend">${legend}</div></section>
<section><h2>Errors by code</h2>${table('errors', ['code', 'count'])}</section>
<section><h2>Hosts</h2>${table('hosts', ['host', 'in flight', 'concurrency', 'gap', 'state', 'responses', 'p50', 'p95'])}<div id="more-hosts" class="empty"></div></section>
<section><h2>Recent failures</h2><div class="scroll">${table('failures', ['time', 'code', 'stage', 'url', 'message'])}</div></section></main>`;
}

/** The live page: assets and state fetched from the monitor's server. */
export function livePage(): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>trawl dashboard</title>
<meta name="viewport" content="width=device-width,initial-scale=1">
<link rel="stylesheet" href="assets/uPlot.min.css"><style>${STYLE}</style></head>
<body>${body()}<script src="assets/uPlot.iife.min.js"></script><script>${DASHBOARD_SCRIPT}</script></body></html>`;
}

/** The report: one file that opens anywhere, offline, with the crawl's final state. */
export function reportPage(state: MonitorState): string {
  const { uplotJs, uplotCss } = dashboardAssets();
  // Inside a <script> block only "</" and U+2028/9 can break out or break parsing.
  const json = JSON.stringify(state)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(state.title)} report</title>
<meta name="viewport" content="width=device-width,initial-scale=1">
<style>${uplotCss}</style><style>${STYLE}</style></head>
<body>${body()}<script type="application/json" id="trawl-state">${json}</script>
<script>${uplotJs}</script><script>${DASHBOARD_SCRIPT}</script></body></html>`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
}
