// The live page's script (served as /ui/assets/live-page.js, no build step). The server renders
// every piece of markup; this script keeps the page current over Server-Sent Events (/ui/events),
// places the fragments the server sends, draws the charts with uPlot, and adds the keyboard
// shortcuts and the "Copy kc task" buttons. Without it the page is a complete snapshot.
(() => {
  'use strict';
  const root = document.documentElement;
  root.classList.add('js');
  const $ = (selector, el = document) => el.querySelector(selector);
  const statusEl = $('#status');
  const openList = $('#open-list');
  const resolvedList = $('#resolved-list');
  const opsEl = $('#ops');
  const cpEl = $('#cp');
  if (!statusEl || !openList || !resolvedList || !opsEl || !cpEl) return;

  const CHART_HEIGHT = 90;
  /** chart state: the shared time axis (seconds), per operation key the columns per metric and window */
  let windows = [];
  let capacity = 0;
  let times = [];
  const columns = new Map();
  const plots = new Map();

  const fragment = (html) => {
    const t = document.createElement('template');
    t.innerHTML = html;
    return t.content;
  };
  const setStatus = (state, text) => {
    statusEl.dataset.state = state;
    statusEl.textContent = text;
  };
  const cssVar = (name) => getComputedStyle(root).getPropertyValue(name).trim();
  const replaceCounts = (html) => {
    const el = $('[data-counts]');
    if (el) el.replaceWith(fragment(html));
  };
  const emptyPlaceholder = (list, tag) => {
    const el = document.createElement(tag);
    el.className = 'empty';
    el.dataset.empty = '';
    el.textContent = list.dataset.emptyText || '';
    return el;
  };
  const dropPlaceholder = (list) => list.querySelectorAll('[data-empty]').forEach((el) => el.remove());

  // ---- alerts ---------------------------------------------------------------------------------
  const cardOf = (id) => {
    const el = document.getElementById(id);
    return el && el.parentElement === openList ? el : null;
  };

  /** Replaces a card keeping which of its <details> were open and whether it had the focus. */
  function replaceCard(old, html) {
    const next = fragment(html).firstElementChild;
    if (!next) return;
    const opened = [...old.querySelectorAll('details')].map((d) => d.open);
    const focused = old.contains(document.activeElement);
    next.querySelectorAll('details').forEach((d, i) => {
      if (opened[i]) d.open = true;
    });
    old.replaceWith(next);
    if (focused) next.focus({ preventScroll: true });
  }

  function applyAlert(ev) {
    const existing = cardOf(ev.id);
    if (ev.resolved_html) {
      if (existing) existing.remove();
      resolvedList.querySelectorAll(`[data-id="${CSS.escape(ev.id)}"]`).forEach((el) => el.remove());
      dropPlaceholder(resolvedList);
      resolvedList.prepend(fragment(ev.resolved_html));
      if (!openList.querySelector('.alert')) openList.replaceChildren(emptyPlaceholder(openList, 'p'));
    } else if (ev.html) {
      if (existing) replaceCard(existing, ev.html);
      else {
        dropPlaceholder(openList);
        openList.append(fragment(ev.html));
      }
    }
    for (const id of ev.order || []) {
      const card = cardOf(id);
      if (card) openList.append(card);
    }
    replaceCounts(ev.counts_html);
  }

  // ---- charts ---------------------------------------------------------------------------------
  const METRICS = ['failure_rate', 'p95', 'retries'];
  const COLOR = { failure_rate: '--line1', p95: '--line2', retries: '--line3' };
  const formatMs = (v) => (v >= 10000 ? `${(v / 1000).toFixed(0)}s` : v >= 1000 ? `${(v / 1000).toFixed(1)}s` : `${Math.round(v)}ms`);
  const FORMAT = {
    failure_rate: (v) => `${Math.round(v * 100)}%`,
    p95: formatMs,
    retries: (v) => (v >= 10 ? v.toFixed(0) : v.toFixed(1)),
  };
  /** the last n values, padded with nulls in front to n */
  const fit = (values, n) => {
    const tail = values.slice(-n);
    return tail.length < n ? [...new Array(n - tail.length).fill(null), ...tail] : tail;
  };

  function destroyPlots(key) {
    for (const u of plots.get(key) || []) u.destroy();
    plots.delete(key);
  }

  function drawPlots(card) {
    const key = card.dataset.key;
    destroyPlots(key);
    const data = columns.get(key);
    if (!data || typeof uPlot !== 'function') return;
    const muted = cssVar('--muted');
    const grid = cssVar('--border');
    const list = [];
    for (const fig of card.querySelectorAll('.chart[data-metric]')) {
      const metric = fig.dataset.metric;
      const plotEl = $('.plot', fig);
      if (!METRICS.includes(metric) || !plotEl || !data[metric]) continue;
      const text = $('.chart-text', fig);
      plotEl.replaceChildren();
      plotEl.setAttribute('role', 'img');
      if (text) plotEl.setAttribute('aria-label', text.textContent);
      const stroke = cssVar(COLOR[metric]);
      const format = FORMAT[metric];
      const opts = {
        width: Math.max(120, plotEl.clientWidth || 150),
        height: CHART_HEIGHT,
        legend: { show: false },
        cursor: { drag: { x: false, y: false } },
        scales: {
          x: { time: true },
          y: { range: metric === 'failure_rate' ? [0, 1] : (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] },
        },
        axes: [
          { stroke: muted, size: 20, font: '10px system-ui', grid: { show: false }, ticks: { show: false } },
          { stroke: muted, size: 38, font: '10px system-ui', grid: { stroke: grid, width: 1 }, ticks: { show: false }, values: (_u, vals) => vals.map(format) },
        ],
        series: [{}, ...windows.map((w, i) => ({ label: w, stroke, width: i === 0 ? 1.75 : 1, dash: i === 0 ? [] : i === 1 ? [5, 3] : [1, 3] }))],
      };
      list.push(new uPlot(opts, [times, ...data[metric]], plotEl));
    }
    plots.set(key, list);
  }

  function redraw(key) {
    const data = columns.get(key);
    const list = plots.get(key);
    if (!data || !list) return;
    METRICS.forEach((metric, i) => {
      if (list[i] && data[metric]) list[i].setData([times, ...data[metric]]);
    });
  }

  function setChartData(key, data) {
    columns.set(key, {
      failure_rate: data.failure_rate.map((col) => fit(col, times.length)),
      p95: data.p95.map((col) => fit(col, times.length)),
      retries: data.retries.map((col) => fit(col, times.length)),
    });
  }

  const opCard = (key) => [...opsEl.querySelectorAll('.op')].find((el) => el.dataset.key === key) || null;

  function applyOperations(ev) {
    capacity = ev.capacity || capacity;
    if (ev.windows && ev.windows.length !== windows.length) {
      windows = ev.windows;
      plots.forEach((_list, key) => destroyPlots(key));
    }
    times = fit([...times, ...ev.times.map((t) => t / 1000)], Math.min(capacity, times.length + ev.times.length));
    for (const key of ev.removed || []) {
      destroyPlots(key);
      columns.delete(key);
      const card = opCard(key);
      if (card) card.remove();
    }
    const added = ev.added || {};
    for (const [key, data] of Object.entries(ev.data || {})) {
      if (key in added) continue;
      const current = columns.get(key);
      if (!current) continue;
      for (const metric of METRICS) current[metric] = current[metric].map((col, w) => fit([...col, ...(data[metric][w] || [])], times.length));
    }
    for (const [key, html] of Object.entries(added)) {
      dropPlaceholder(opsEl);
      const old = opCard(key);
      if (old) old.remove();
      opsEl.append(fragment(html));
      setChartData(key, ev.data[key]);
    }
    for (const key of Object.keys(ev.figures || {})) {
      const card = opCard(key);
      if (!card) continue;
      for (const [, value, field] of ev.figures[key]) {
        const el = field && card.querySelector(`[data-field="${field}"]`);
        if (el) el.textContent = value;
      }
      const trouble = ev.trouble && ev.trouble[key];
      if (trouble) card.dataset.trouble = trouble;
      else delete card.dataset.trouble;
      if (ev.points && key in ev.points) card.dataset.points = String(ev.points[key]);
      const texts = ev.texts && ev.texts[key];
      if (texts) {
        for (const fig of card.querySelectorAll('.chart[data-metric]')) {
          const text = texts[fig.dataset.metric];
          const textEl = $('.chart-text', fig);
          if (text && textEl) textEl.textContent = text;
          const plotEl = $('.plot', fig);
          if (text && plotEl && plotEl.getAttribute('role') === 'img') plotEl.setAttribute('aria-label', text);
        }
      }
    }
    for (const key of ev.order || []) {
      const card = opCard(key);
      if (card) opsEl.append(card);
    }
    updateDurations();
    for (const key of columns.keys()) {
      if (key in added || !plots.has(key)) {
        const card = opCard(key);
        if (card) drawPlots(card);
      } else redraw(key);
    }
  }

  /** "seen for …" of the open cards, as of the newest boundary (event time) */
  const formatSpan = (ms) =>
    ms < 60000 ? `${Math.round(ms / 1000)} s` : ms < 3600000 ? `${Number((ms / 60000).toFixed(1))} min` : `${Number((ms / 3600000).toFixed(1))} h`;
  function updateDurations() {
    const latest = times.length > 0 ? times[times.length - 1] * 1000 : undefined;
    if (latest === undefined) return;
    for (const el of openList.querySelectorAll('.since[data-first-seen]')) {
      const first = Number(el.dataset.firstSeen);
      if (first > 0 && latest > first) el.textContent = formatSpan(latest - first);
    }
  }

  function applySnapshot(s) {
    for (const key of [...plots.keys()]) destroyPlots(key);
    columns.clear();
    replaceCounts(s.counts_html);
    openList.innerHTML = s.open_html;
    resolvedList.innerHTML = s.resolved_html;
    opsEl.innerHTML = s.ops_html;
    cpEl.innerHTML = s.critical_path_html;
    windows = s.ops.windows;
    capacity = s.ops.capacity;
    times = s.ops.times.map((t) => t / 1000);
    for (const [key, data] of Object.entries(s.ops.data)) setChartData(key, data);
    for (const card of opsEl.querySelectorAll('.op')) drawPlots(card);
  }

  let resizeQueued = false;
  new ResizeObserver(() => {
    if (resizeQueued) return;
    resizeQueued = true;
    requestAnimationFrame(() => {
      resizeQueued = false;
      for (const list of plots.values()) for (const u of list) {
        const width = Math.max(120, u.root.parentElement ? u.root.parentElement.clientWidth : u.width);
        if (width !== u.width) u.setSize({ width, height: CHART_HEIGHT });
      }
    });
  }).observe(opsEl);
  // colours come from the theme: redraw when the system switches between light and dark
  matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => {
    for (const card of opsEl.querySelectorAll('.op')) drawPlots(card);
  });

  // ---- event stream -----------------------------------------------------------------------------
  let source = null;
  let lastId = '';
  let delay = 1000;
  const handlers = {
    snapshot: applySnapshot,
    alert: applyAlert,
    operations: applyOperations,
    critical_path: (ev) => {
      cpEl.innerHTML = ev.html;
    },
  };

  function connect() {
    // A new EventSource sends no Last-Event-ID of its own: the query parameter carries it.
    source = new EventSource(lastId ? `/ui/events?last_event_id=${encodeURIComponent(lastId)}` : '/ui/events');
    source.addEventListener('open', () => {
      delay = 1000;
      setStatus('live', 'Live');
    });
    source.addEventListener('error', () => {
      setStatus('reconnecting', 'Reconnecting…');
      if (source.readyState === EventSource.CLOSED) {
        // refused (503) or not an event stream: the browser gives up, so retry with backoff
        source.close();
        setTimeout(connect, delay);
        delay = Math.min(delay * 2, 5000);
      }
    });
    for (const [type, handle] of Object.entries(handlers)) {
      source.addEventListener(type, (message) => {
        if (message.lastEventId) lastId = message.lastEventId;
        try {
          handle(JSON.parse(message.data));
        } catch (err) {
          console.error(`live page: cannot apply ${type}`, err);
        }
      });
    }
  }

  // ---- copy and keys ----------------------------------------------------------------------------
  async function copyTask(button) {
    const pre = document.getElementById(button.dataset.copy);
    const note = button.nextElementSibling;
    if (!pre) return;
    let ok = false;
    try {
      await navigator.clipboard.writeText(pre.textContent);
      ok = true;
    } catch {
      const range = document.createRange();
      range.selectNodeContents(pre);
      const selection = getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
      ok = document.execCommand('copy');
    }
    if (note) {
      note.textContent = ok ? 'Copied' : 'Selected: press Ctrl+C to copy';
      setTimeout(() => {
        note.textContent = '';
      }, 4000);
    }
  }

  document.addEventListener('click', (event) => {
    const button = event.target.closest && event.target.closest('button.copy-task');
    if (button) copyTask(button);
  });

  document.addEventListener('keydown', (event) => {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.target.closest && event.target.closest('input, textarea, select, [contenteditable]')) return;
    const cards = [...openList.querySelectorAll('.alert')];
    const current = document.activeElement && document.activeElement.closest ? document.activeElement.closest('.alert') : null;
    const i = cards.indexOf(current);
    let target = null;
    if (event.key === 'j') target = cards[i < 0 ? 0 : Math.min(i + 1, cards.length - 1)];
    else if (event.key === 'k') target = cards[i < 0 ? 0 : Math.max(i - 1, 0)];
    else if (event.key === 'c' && current) {
      const button = current.querySelector('button.copy-task');
      if (button) copyTask(button);
    } else if (event.key === 't' && current) {
      const link = current.querySelector('a.trace');
      if (link) link.click();
    } else return;
    if (target) {
      target.focus({ preventScroll: true });
      target.scrollIntoView({ block: 'nearest' });
    }
    event.preventDefault();
  });

  connect();
})();
