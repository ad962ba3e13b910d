// The Shoal dashboard page: draws the cluster view the server sends over Server-Sent
// Events (/api/live: one `view` event after every change; `usage` events when resource
// figures exist) and follows a selected service's log tail. No polling: everything that
// moves arrives on those two streams. Data goes into the page through textContent only.

const $ = (sel) => document.querySelector(sel);
/** Points of usage history kept per service and node (one per usage event). */
const HISTORY = 60;
/** Log lines kept in the tail panel. */
const LOG_LINES = 200;

const state = {
  view: undefined,
  selected: undefined, // service ID
  usage: new Map(), // id → [{ cpu, mem }]
  logs: undefined, // AbortController of the open tail
  drawnTasks: new Set(), // task IDs in the grid as last drawn
};

/** Builds an element: el('td', { class: 'x', 'data-k': 1, hue: 120 }, 'text', child…). */
function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    // Through the CSSOM, not a style attribute: the page's CSP allows no inline styles.
    if (k === 'hue') e.style.setProperty('--h', String(v));
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) if (c !== undefined && c !== null) e.append(c instanceof Node ? c : String(c));
  return e;
}

function bytes(n) {
  if (!n) return '0 B';
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  const i = Math.min(u.length - 1, Math.floor(Math.log2(n) / 10));
  return `${(n / 2 ** (10 * i)).toFixed(i ? 1 : 0)} ${u[i]}`;
}

/** A stable pale colour per service name. */
function hue(name) {
  let h = 0;
  for (const ch of name) h = (h * 31 + ch.charCodeAt(0)) % 360;
  return h;
}

/** An inline SVG sparkline of `points` (numbers), or a dash when there are none. */
function sparkline(points, label) {
  if (!points || points.length < 2) return el('span', { class: 'muted', 'aria-label': `${label}: no figures yet` }, '—');
  const w = 80, h = 20, max = Math.max(...points, 1e-9);
  const d = points.map((p, i) => `${((i / (points.length - 1)) * w).toFixed(1)},${(h - (p / max) * (h - 2) - 1).toFixed(1)}`).join(' ');
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', `0 0 ${w} ${h}`);
  svg.setAttribute('class', 'spark');
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', label);
  const line = document.createElementNS(ns, 'polyline');
  line.setAttribute('points', d);
  svg.append(line);
  return svg;
}

function usageCell(id, key, fmt) {
  const hist = state.usage.get(id) ?? [];
  const last = hist.at(-1);
  // A flex box inside the cell: a flex cell itself would leave the table's layout.
  const box = el('div', { class: 'usage' }, sparkline(hist.map((p) => p[key]), `${key} history`));
  if (last) box.append(el('span', { class: 'now' }, fmt(last[key])));
  return el('td', {}, box);
}

/** Keeps keyboard focus on the same row or chip across a redraw. */
function keepFocus(draw) {
  const key = document.activeElement?.dataset?.key;
  draw();
  if (key) document.querySelector(`[data-key="${CSS.escape(key)}"]`)?.focus();
}

function drawNodes(view) {
  const body = $('#nodes tbody');
  body.replaceChildren(...view.nodes.map((n) => {
    // Figures of a node that is not ready would be stale: its capacity and reservations instead.
    const measured = n.state === 'ready' && state.usage.has(n.id);
    return el('tr', { tabindex: 0, 'data-key': `node:${n.id}`, 'data-node-host': n.hostname, 'data-state': n.state, class: `node-${n.state}` },
    el('th', { scope: 'row' }, n.hostname, el('span', { class: 'muted' }, ` ${n.addr}`)),
    el('td', {}, n.role + (n.leader ? ' ★ leader' : n.role === 'manager' && n.reachability ? ` (${n.reachability})` : '')),
    el('td', { class: `st st-${n.state}` }, n.state),
    el('td', {}, n.availability),
    el('td', {}, String(n.tasks)),
    measured ? usageCell(n.id, 'cpu', (v) => `${v.toFixed(0)}% of ${n.cpus}`) : el('td', {}, `${n.reservedCpus ? `${n.reservedCpus} / ` : ''}${n.cpus} cores`),
    measured ? usageCell(n.id, 'mem', (v) => `${bytes(v)} / ${bytes(n.memoryBytes)}`) : el('td', {}, `${n.reservedMemoryBytes ? `${bytes(n.reservedMemoryBytes)} / ` : ''}${bytes(n.memoryBytes)}`),
    );
  }));
}

function updateCell(s) {
  if (!s.update) return el('td', { class: 'muted' }, '—');
  const u = s.update;
  const pct = u.total ? Math.round((u.updated / u.total) * 100) : 100;
  return el('td', { class: `upd upd-${u.state}` },
    el('span', {}, `${u.state.replace('_', ' ')} ${u.updated}/${u.total}`),
    el('progress', { max: u.total || 1, value: u.updated, 'aria-label': `update ${pct}%` }),
    u.message ? el('span', { class: 'muted msg' }, u.message) : undefined);
}

function drawServices(view) {
  const body = $('#services tbody');
  body.replaceChildren(...view.services.map((s) => {
    const row = el('tr', {
      tabindex: 0, 'data-key': `svc:${s.id}`, 'data-service': s.name, 'aria-current': state.selected === s.id ? 'true' : undefined,
      class: s.running < s.desired ? 'short' : '',
    },
    el('th', { scope: 'row' }, el('span', { class: 'swatch', hue: hue(s.name) }), s.name),
    el('td', {}, s.mode),
    el('td', { class: 'replicas', 'data-running': s.running, 'data-desired': s.desired }, `${s.running}/${s.desired}`),
    el('td', { class: 'image', title: s.image }, s.image),
    el('td', {}, s.ports.map((p) => `${p.published ?? '*'}→${p.target}/${p.protocol}${p.mode === 'host' ? ' (host)' : ''}`).join(', ') || '—'),
    updateCell(s),
    usageCell(s.id, 'cpu', (v) => `${v.toFixed(1)}%`),
    usageCell(s.id, 'mem', bytes));
    const pick = () => select(s.id === state.selected ? undefined : s.id);
    row.addEventListener('click', pick);
    row.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' || e.key === ' ') {
        e.preventDefault();
        pick();
      }
    });
    return row;
  }));
}

/** A task being stopped (struck through); a failed one stays red, a `ready` one waits to start. */
function leaving(t) {
  return t.desiredState !== 'running' && t.desiredState !== 'ready' && t.state !== 'failed' && t.state !== 'rejected';
}

function drawGrid(view) {
  const grid = $('#grid');
  // Only tasks not drawn before arrive with an animation: a redraw must not flash the rest.
  const drawn = state.drawnTasks;
  state.drawnTasks = new Set(view.tasks.map((t) => t.id));
  const byNode = new Map(view.nodes.map((n) => [n.id, []]));
  for (const t of view.tasks) byNode.get(t.nodeId)?.push(t);
  grid.replaceChildren(...view.nodes.map((n) => {
    const tasks = byNode.get(n.id);
    const col = el('div', { class: `col node-${n.state} avail-${n.availability}`, role: 'group', 'aria-label': `${n.hostname}, ${n.state}, ${tasks.length} tasks`, 'data-node-host': n.hostname, 'data-state': n.state },
      el('h3', {}, n.hostname, el('span', { class: `st st-${n.state}` }, n.state), n.leader ? el('span', { class: 'muted' }, '★') : undefined));
    const list = el('ul', { class: 'tasks' });
    list.append(...tasks.map((t) => el('li', {
      class: `task ts-${t.state}${leaving(t) ? ' leaving' : ''}${state.selected && state.selected !== t.serviceId ? ' dim' : ''}${drawn.has(t.id) ? '' : ' new'}`,
      tabindex: 0, 'data-key': `task:${t.id}`, 'data-service': t.serviceName, 'data-state': t.state, 'data-desired': t.desiredState, 'data-task': t.id,
      hue: hue(t.serviceName), title: t.message || t.state,
      'aria-label': `${t.name} ${t.state}${t.message ? `: ${t.message}` : ''}`,
    }, el('span', { class: 'tn' }, t.name), el('span', { class: 'ts' }, t.state))));
    col.append(list);
    return col;
  }));
}

function drawSummary(view) {
  const running = view.tasks.filter((t) => t.state === 'running').length;
  const ready = view.nodes.filter((n) => n.state === 'ready').length;
  $('#summary').textContent = `${ready}/${view.nodes.length} nodes ready · ${view.services.length} services · ${running} tasks running`;
}

function draw() {
  const view = state.view;
  if (!view) return;
  keepFocus(() => {
    drawSummary(view);
    drawNodes(view);
    drawServices(view);
    drawGrid(view);
  });
}

function setConn(s, text) {
  const c = $('#conn');
  c.dataset.state = s;
  c.textContent = text;
}

/** Selects a service: its tasks stand out in the grid and its log tail opens. */
function select(id) {
  state.selected = id;
  state.logs?.abort();
  state.logs = undefined;
  const section = $('#logs-section');
  const pre = $('#logs');
  pre.textContent = '';
  draw();
  if (!id) {
    section.hidden = true;
    return;
  }
  const svc = state.view?.services.find((s) => s.id === id);
  $('#logs-title').textContent = `Logs of ${svc?.name ?? id}`;
  section.hidden = false;
  const ctl = new AbortController();
  state.logs = ctl;
  followLogs(id, pre, ctl.signal).catch((err) => {
    if (!ctl.signal.aborted) pre.append(`(log tail ended: ${err.message})\n`);
  });
}

/** `TIME DETAILS MESSAGE` (timestamps and details asked for) → `HH:MM:SS web.2 | MESSAGE`. */
function logLine(payload) {
  const m = /^(\S+) (\S+) ([\s\S]*)$/.exec(payload);
  if (!m) return payload;
  const taskId = /(?:^|,)com\.docker\.swarm\.task\.id=([^,]+)/.exec(m[2])?.[1] ?? '';
  const name = state.view?.tasks.find((t) => t.id === taskId)?.name ?? taskId.slice(0, 12);
  const time = m[1].slice(11, 19);
  return `${time} ${name} | ${m[3].endsWith('\n') ? m[3] : `${m[3]}\n`}`;
}

/** Reads Docker's multiplexed log stream (8-byte frame headers) and appends its lines. */
async function followLogs(id, pre, signal) {
  const res = await fetch(`/api/services/${encodeURIComponent(id)}/logs?tail=50`, { signal });
  if (!res.ok) throw new Error((await res.json().catch(() => ({}))).message ?? `HTTP ${res.status}`);
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buf = new Uint8Array(0);
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    const joined = new Uint8Array(buf.length + value.length);
    joined.set(buf);
    joined.set(value, buf.length);
    buf = joined;
    let text = '';
    while (buf.length >= 8) {
      const size = new DataView(buf.buffer, buf.byteOffset + 4, 4).getUint32(0);
      if (buf.length < 8 + size) break;
      text += logLine(decoder.decode(buf.subarray(8, 8 + size)));
      buf = buf.subarray(8 + size);
    }
    if (text) {
      const lines = (pre.textContent + text).split('\n');
      pre.textContent = lines.slice(-LOG_LINES - 1).join('\n');
      pre.scrollTop = pre.scrollHeight;
    }
  }
}

function onUsage(u) {
  for (const [id, p] of Object.entries({ ...u.services, ...u.nodes })) {
    const hist = state.usage.get(id) ?? [];
    hist.push({ cpu: p.cpuPct, mem: p.memBytes });
    if (hist.length > HISTORY) hist.shift();
    state.usage.set(id, hist);
  }
  draw();
}

function connect() {
  const es = new EventSource('/api/live');
  es.addEventListener('open', () => setConn('live', 'live'));
  es.addEventListener('error', () => setConn('lost', 'reconnecting…'));
  es.addEventListener('idle', (e) => {
    setConn('idle', JSON.parse(e.data).message);
  });
  es.addEventListener('view', (e) => {
    const first = !state.view;
    state.view = JSON.parse(e.data);
    setConn('live', 'live');
    if (state.selected && !state.view.services.some((s) => s.id === state.selected)) select(undefined);
    draw();
    if (first) performance.mark('shoal:first-view');
    document.body.dataset.viewAt = String(state.view.at);
  });
  es.addEventListener('usage', (e) => onUsage(JSON.parse(e.data)));
}

/** Arrow keys move between the rows of a table and the chips of a node; Escape closes the log tail. */
document.addEventListener('keydown', (e) => {
  if (e.key === 'Escape' && state.selected) {
    select(undefined);
    return;
  }
  if (e.key !== 'ArrowDown' && e.key !== 'ArrowUp') return;
  const here = document.activeElement;
  if (!here?.matches('tbody tr, li.task')) return;
  const next = e.key === 'ArrowDown' ? here.nextElementSibling : here.previousElementSibling;
  if (next) {
    e.preventDefault();
    next.focus();
  }
});

connect();
