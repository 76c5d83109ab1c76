/**
 * The dashboard's browser code, as text: the live page and the static report run the same script,
 * one polling `state.json`, the other reading the state embedded in the page. Every string from
 * the crawl (URLs, error messages) goes in as text, never as markup.
 */
export const DASHBOARD_SCRIPT = String.raw`
(() => {
  const embedded = document.getElementById('trawl-state');
  const live = !embedded;
  const $ = (selector) => document.querySelector(selector);
  const el = (tag, text, cls) => {
    const node = document.createElement(tag);
    if (text !== undefined) node.textContent = String(text);
    if (cls) node.className = cls;
    return node;
  };
  const fmt = (n) => (typeof n === 'number' ? n.toLocaleString('en-US', { maximumFractionDigits: 2 }) : '-');
  const duration = (ms) => {
    const s = Math.round(ms / 1000);
    return (s >= 3600 ? Math.floor(s / 3600) + 'h ' : '') + (s >= 60 ? Math.floor((s % 3600) / 60) + 'm ' : '') + (s % 60) + 's';
  };
  const plots = {};

  function chart(id, series, state) {
    const t = state.timeline;
    const data = [t.time, ...series.map((s) => t[s.key])];
    const box = document.getElementById(id);
    if (!plots[id]) {
      plots[id] = new uPlot({
        width: Math.max(300, box.clientWidth - 8),
        height: 220,
        series: [{}, ...series.map((s) => ({ label: s.label, stroke: s.color, width: 2 }))],
        axes: [{}, { size: 60 }],
      }, data, box);
    } else {
      plots[id].setData(data);
    }
  }

  function rows(tbody, list, cells) {
    const body = $(tbody);
    body.replaceChildren();
    for (const row of list) {
      const tr = el('tr');
      for (const cell of cells(row)) tr.append(el('td', cell));
      body.append(tr);
    }
    if (list.length === 0) {
      const tr = el('tr');
      const td = el('td', 'none', 'empty');
      td.colSpan = 20;
      tr.append(td);
      body.append(tr);
    }
  }

  function render(state) {
    const s = state.stats;
    $('#title').textContent = state.title;
    $('#status').textContent = state.finished ? 'finished: ' + (s.stopReason || 'finished') : 'running';
    $('#status').className = state.finished ? 'status done' : 'status running';
    $('#updated').textContent = 'elapsed ' + duration(s.elapsedMs) + ' · updated ' + new Date(state.updatedAt).toLocaleTimeString();
    const tiles = {
      pages: s.pages, items: s.items, requests: s.requests, failed: s.failed, retries: s.retries,
      queued: s.gauges.queued, inFlight: s.gauges.inFlight, parseBacklog: s.gauges.parseBacklog,
      pagesPerSecond: s.rates.pagesPerSecond, itemsPerSecond: s.rates.itemsPerSecond,
      notModified: s.notModified, megabytes: s.bytes / 1e6,
    };
    for (const node of document.querySelectorAll('[data-stat]')) node.textContent = fmt(tiles[node.dataset.stat]);
    const total = Object.values(s.responses).reduce((a, b) => a + b, 0) || 1;
    for (const [cls, n] of Object.entries(s.responses)) {
      $('[data-status="' + cls + '"]').textContent = fmt(n);
      $('[data-bar="' + cls + '"]').style.width = (100 * n) / total + '%';
    }
    rows('#errors tbody', Object.entries(s.errors).sort((a, b) => b[1] - a[1]), ([code, n]) => [code, fmt(n)]);
    rows('#hosts tbody', state.hosts, (h) => [
      h.host, h.active, h.concurrency + ' / ' + h.configuredConcurrency, fmt(h.delayMs) + ' ms',
      h.throttled ? 'throttled' : h.waitMs > 0 ? 'waiting ' + fmt(h.waitMs) + ' ms' : 'ok',
      fmt(h.responses), h.p50Ms === undefined ? '-' : fmt(h.p50Ms) + ' ms', h.p95Ms === undefined ? '-' : fmt(h.p95Ms) + ' ms',
    ]);
    $('#more-hosts').textContent = state.moreHosts ? '+ ' + state.moreHosts + ' more hosts' : '';
    rows('#failures tbody', state.failures, (f) => [new Date(f.at).toLocaleTimeString(), f.code, f.stage, f.url, f.message]);
    if (typeof uPlot !== 'undefined' && state.timeline.time.length > 0) {
      chart('rate-chart', [
        { key: 'pagesPerSecond', label: 'pages/s', color: '#2563eb' },
        { key: 'itemsPerSecond', label: 'items/s', color: '#16a34a' },
        { key: 'failedPerSecond', label: 'failed/s', color: '#dc2626' },
      ], state);
      chart('queue-chart', [
        { key: 'queued', label: 'queued', color: '#9333ea' },
        { key: 'inFlight', label: 'in flight', color: '#ea580c' },
        { key: 'parseBacklog', label: 'parse backlog', color: '#0891b2' },
      ], state);
    }
    document.body.dataset.ready = 'true';
  }

  async function poll() {
    try {
      const response = await fetch('state.json', { cache: 'no-store' });
      const state = await response.json();
      render(state);
      $('#offline').hidden = true;
      if (!state.finished) setTimeout(poll, 1000);
    } catch {
      $('#offline').hidden = false;
      setTimeout(poll, 2000);
    }
  }

  if (live) poll();
  else render(JSON.parse(embedded.textContent));
})();
`;
