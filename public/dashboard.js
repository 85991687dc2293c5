// Stagedoor's operator dashboard. Plain browser JavaScript, no build step; uPlot and hls.js are served
// by the admin port itself. It uses only the admin API, with the credential in a header:
//   GET /api/v1/streams, /api/v1/sessions, /api/v1/revocations, /api/v1/streams/:app/:stream/security
//   GET /api/v1/events (Server-Sent Events, read with fetch), DELETE /api/v1/sessions/:id,
//   POST/DELETE /api/v1/revocations, GET /api/v1/streams/:app/:stream/hls/* (the muted previews).
// In a cluster the listings cover every node: each session and stream names its node, and `nodes`
// says which nodes answered (a node that did not is shown, its sessions are missing from the list).
'use strict';

const POLL_MS = 2000;
const WINDOW_SAMPLES = 300; // 10 minutes of 2 s samples
const FEED_SIZE = 100;

const $ = (id) => document.getElementById(id);
let token =
  sessionStorage.getItem('stagedoorAdmin') ||
  new URLSearchParams(location.hash.slice(1)).get('token') ||
  '';
$('token').value = token;

const state = {
  sessions: [],
  streams: [],
  /** The nodes the listings asked: { node, self, reachable, error? } (one, self, outside a cluster). */
  nodes: [],
  revocations: [],
  /** Refusals by code since the page opened (from the event feed). */
  refusals: {},
  /** Counted since the last sample: refusals by code, expiry cuts. */
  pending: { refusals: {}, expiry: 0 },
  /** Publisher bytes at the last poll, by session id: ingest bitrate from the difference. */
  lastBytes: new Map(),
  lastPollAt: 0,
  ingestKbps: {},
  security: new Map(),
  following: false,
  /**
   * none (no credential), connecting, connected, refused (the credential is not accepted) or
   * unreachable. Until the server has answered, the page shows no figures rather than zeros.
   */
  connection: 'none',
  /** The streams and sessions above are the server's answer (connected, or stale while unreachable). */
  hasData: false,
  /** The feed has been seeded with the sessions live at connect. */
  seeded: false,
};
window.stagedoorDashboard = {
  sessions: () => state.sessions,
  streams: () => state.streams,
  nodes: () => state.nodes,
  refusals: state.refusals,
  get following() {
    return state.following;
  },
  get connection() {
    return state.connection;
  },
  charts: () => charts,
};

const api = (path, init = {}) =>
  fetch(path, {
    ...init,
    headers: {
      ...(init.headers || {}),
      authorization: `Bearer ${token}`,
      ...(init.body ? { 'content-type': 'application/json' } : {}),
    },
  });

/** An element with text (never HTML) and attributes. */
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null) continue;
    if (k === 'class') node.className = v;
    else if (k.startsWith('data-')) node.setAttribute(k, v);
    else node[k] = v;
  }
  for (const child of children)
    node.append(child instanceof Node ? child : document.createTextNode(String(child ?? '')));
  return node;
}

function setStatus(text, cls = 'muted') {
  $('status').textContent = text;
  $('status').className = cls;
}

/** The connection changes: the status line says so in words, the lists say whether they are real. */
function setConnection(connection, text) {
  state.connection = connection;
  const cls = { connected: 'ok', connecting: 'muted' }[connection] ?? 'bad';
  setStatus(text, cls);
  document.body.dataset.connection = connection;
  if (connection === 'none' || connection === 'refused') {
    state.streams = [];
    state.sessions = [];
    state.nodes = [];
    state.hasData = false;
    state.seeded = false;
  }
  renderStreams();
  renderSessions();
}

/** Why the admin API refused the credential, for an operator (not the bare code). */
function refusalWords(status, body) {
  const code = body.error?.code;
  const jwt = token.startsWith('eyJ');
  switch (code) {
    case 'TOKEN_MISSING':
      return 'not connected: enter an admin token or API key';
    case 'SIGNATURE_INVALID':
      return jwt
        ? 'this admin token is not accepted: its signature does not verify'
        : 'this API key is not accepted: check it and connect again';
    case 'TOKEN_EXPIRED':
      return 'this admin token has expired: enter a new one';
    case 'TOKEN_REVOKED':
      return 'this admin token has been revoked';
    case 'SCOPE_DENIED':
      return 'this token does not grant admin access';
    default:
      if (status === 401 || status === 403)
        return `this admin token is not accepted: ${body.error?.message ?? `refused (${status})`}`;
      return `the server answered ${status}${body.error ? `: ${body.error.message}` : ''}`;
  }
}

// ---- units ----------------------------------------------------------------------------------------

/** 512 B, 3.4 KiB, 12.1 MiB, 1.02 GiB. */
function formatBytes(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 ** 2) return `${(bytes / 1024).toFixed(1)} KiB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
  return `${(bytes / 1024 ** 3).toFixed(2)} GiB`;
}

/** h:mm:ss, e.g. 0:09:57, 12:00:00. */
function formatDuration(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const pad = (n) => String(n).padStart(2, '0');
  return `${Math.floor(s / 3600)}:${pad(Math.floor(s / 60) % 60)}:${pad(s % 60)}`;
}

/** Copies text to the clipboard; outside a secure context (plain http to a remote host), by selection. */
async function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) return navigator.clipboard.writeText(text);
  const area = el('textarea', { value: text, readOnly: true });
  area.style.position = 'fixed';
  area.style.opacity = '0';
  document.body.append(area);
  area.select();
  const ok = document.execCommand('copy');
  area.remove();
  if (!ok) throw new Error('copy refused');
}

// ---- charts (uPlot) -------------------------------------------------------------------------------

const COLORS = [
  '#58a6ff',
  '#7ee787',
  '#ffb86b',
  '#ff7b72',
  '#d2a8ff',
  '#79c0ff',
  '#e3b341',
  '#a5d6ff',
];
const charts = {};

function makeChart(id, series) {
  const target = $(id);
  const opts = {
    width: Math.max(260, target.clientWidth),
    height: 150,
    legend: { live: false },
    cursor: { show: false },
    scales: { x: { time: true }, y: { range: (_u, min, max) => [0, Math.max(1, max * 1.15)] } },
    axes: [
      { stroke: '#888', grid: { stroke: '#222' }, ticks: { stroke: '#333' } },
      { stroke: '#888', grid: { stroke: '#222' }, ticks: { stroke: '#333' }, size: 44 },
    ],
    series: [
      {},
      ...series.map((label, i) => ({
        label,
        stroke: COLORS[i % COLORS.length],
        width: 1.5,
        points: { show: false },
      })),
    ],
  };
  const data = [[], ...series.map(() => [])];
  charts[id] = { plot: new uPlot(opts, data, target), data, labels: [...series] };
}

/** Adds a series (a new refusal code), zero for the samples before it. */
function ensureSeries(id, label) {
  const chart = charts[id];
  if (chart.labels.includes(label)) return;
  chart.labels.push(label);
  chart.data.push(chart.data[0].map(() => 0));
  chart.plot.addSeries(
    {
      label,
      stroke: COLORS[(chart.labels.length - 1) % COLORS.length],
      width: 1.5,
      points: { show: false },
    },
    chart.labels.length,
  );
}

function pushSample(id, time, values) {
  const chart = charts[id];
  chart.data[0].push(time);
  chart.labels.forEach((label, i) => chart.data[i + 1].push(values[label] ?? 0));
  if (chart.data[0].length > WINDOW_SAMPLES) for (const column of chart.data) column.shift();
  chart.plot.setData(chart.data);
}

function setupCharts() {
  makeChart('chart-viewers', ['all', 'hls', 'rtmp']);
  makeChart('chart-ingest', ['kbit/s']);
  makeChart('chart-refusals', []);
  makeChart('chart-expiry', ['cuts']);
  addEventListener('resize', () => {
    for (const [id, chart] of Object.entries(charts))
      chart.plot.setSize({ width: Math.max(260, $(id).clientWidth), height: 150 });
  });
}

function sample() {
  const time = Date.now() / 1000;
  const viewers = { all: 0, hls: 0, rtmp: 0 };
  for (const s of state.sessions)
    if (s.kind === 'viewer') {
      viewers.all++;
      viewers[s.protocol] = (viewers[s.protocol] || 0) + 1;
    }
  pushSample('chart-viewers', time, viewers);
  const ingest = Object.values(state.ingestKbps).reduce((a, b) => a + b, 0);
  pushSample('chart-ingest', time, { 'kbit/s': Math.round(ingest) });
  for (const code of Object.keys(state.pending.refusals)) ensureSeries('chart-refusals', code);
  pushSample('chart-refusals', time, state.pending.refusals);
  pushSample('chart-expiry', time, { cuts: state.pending.expiry });
  state.pending = { refusals: {}, expiry: 0 };
}

// ---- streams --------------------------------------------------------------------------------------

const cards = new Map(); // stream key → { root, fields, video, hls, retry }

function streamCard(key) {
  const fields = {};
  const field = (name) => (fields[name] = el('dd'));
  const video = el('video', {
    muted: true,
    autoplay: true,
    playsInline: true,
    title: `preview of ${key}`,
  });
  video.muted = true;
  const dl = el('dl');
  for (const [label, name] of [
    ['publisher', 'publisher'],
    ['live for', 'uptime'],
    ['codecs', 'codecs'],
    ['bitrate', 'bitrate'],
    ['output', 'output'],
    ['fps / speed', 'speed'],
    ['viewers', 'viewers'],
    ['security', 'security'],
    ['node', 'node'],
  ])
    dl.append(el('dt', {}, label), field(name));
  const warnings = el('div', { class: 'warn warnings' });
  const root = el(
    'article',
    { class: 'stream', 'data-stream': key },
    video,
    el(
      'div',
      {},
      el(
        'h3',
        {},
        key,
        ' ',
        el('button', { class: 'copy', 'data-copy': key, title: 'copy the stream key' }, 'copy'),
      ),
      dl,
      warnings,
    ),
  );
  const card = { root, fields, video, warnings, hls: undefined, retry: undefined };
  startPreview(key, card);
  return card;
}

/** A muted live preview through the admin port, with the admin credential in a header. */
function startPreview(key, card) {
  if (!window.Hls || !Hls.isSupported()) return;
  const hls = new Hls({
    liveSyncDurationCount: 2,
    maxBufferLength: 6,
    xhrSetup: (xhr) => xhr.setRequestHeader('authorization', `Bearer ${token}`),
  });
  card.hls = hls;
  hls.on(Hls.Events.ERROR, (_event, data) => {
    if (!data.fatal) return;
    hls.destroy();
    card.hls = undefined;
    // The master playlist appears a second or two after the publish: try again while it is live.
    card.retry = setTimeout(() => cards.has(key) && startPreview(key, card), 3000);
  });
  hls.loadSource(`/api/v1/streams/${key}/hls/index.m3u8`);
  hls.attachMedia(card.video);
  card.video.play().catch(() => {});
}

function stopPreview(card) {
  clearTimeout(card.retry);
  card.hls?.destroy();
}

function describeSecurity(sec) {
  if (!sec) return '…';
  const keys = sec.keys.length
    ? ` · keys ${sec.keys.map((k) => `${k.kid ?? '—'} (${k.alg})`).join(', ')}`
    : '';
  return `publish ${sec.publish} · play ${sec.play}${keys}`;
}

async function loadSecurity(key) {
  const entry = state.security.get(key);
  if (entry && Date.now() - entry.at < 30_000) return;
  state.security.set(key, { at: Date.now(), value: entry?.value });
  const res = await api(`/api/v1/streams/${key}/security`);
  if (res.ok) state.security.set(key, { at: Date.now(), value: await res.json() });
}

function renderStreams() {
  const seen = new Set();
  for (const s of state.streams) {
    seen.add(s.stream);
    let card = cards.get(s.stream);
    if (!card) {
      card = streamCard(s.stream);
      cards.set(s.stream, card);
      $('streams').append(card.root);
      loadSecurity(s.stream).then(renderStreams, () => {});
    }
    const f = card.fields;
    const p = s.publisher || {};
    f.publisher.textContent = `${p.subject ?? '—'} · ${p.protocol ?? ''} · ${p.address ?? ''}`;
    f.uptime.textContent = p.startedAt
      ? formatDuration((Date.now() - Date.parse(p.startedAt)) / 1000)
      : '—';
    f.codecs.textContent = [s.codecs?.video, s.codecs?.audio].filter(Boolean).join(' + ') || '—';
    const now = state.ingestKbps[s.stream];
    f.bitrate.textContent = `${Math.round(now ?? s.bitrateKbps)} kbit/s${s.renditions?.length ? ` · ${s.renditions.join(', ')}` : ''}`;
    const t = s.transcoder;
    f.output.textContent = t
      ? `${t.kind === 'packager' ? 'packaged in-process · ' : ''}${t.state}${t.pid ? ` (pid ${t.pid})` : ''}${t.restarts ? ` · ${t.restarts} restarts` : ''}${t.lastSegmentAgeSec !== undefined ? ` · segment ${t.lastSegmentAgeSec} s ago` : ''}`
      : 'no HLS';
    f.speed.textContent =
      t?.kind === 'packager'
        ? 'passthrough, no encoder'
        : t?.fps !== undefined
          ? `${t.fps.toFixed(1)} fps · ${t.speed.toFixed(2)}×${t.droppedFrames ? ` · ${t.droppedFrames} dropped` : ''}`
          : '—';
    f.speed.className = t?.speed !== undefined && t.speed < 0.95 ? 'bad' : '';
    const viewers = Object.entries(s.viewers || {});
    f.viewers.textContent = viewers.length
      ? viewers.map(([proto, n]) => `${proto} ${n}`).join(' · ')
      : '0';
    f.security.textContent = describeSecurity(state.security.get(s.stream)?.value);
    f.node.textContent = s.node ?? '—';
    card.warnings.textContent = (t?.warnings || []).join(' ');
  }
  for (const [key, card] of cards)
    if (!seen.has(key)) {
      stopPreview(card);
      card.root.remove();
      cards.delete(key);
      state.security.delete(key);
    }
  const empty = document.querySelector('#streams .empty');
  $('stream-count').textContent = state.hasData ? `(${state.streams.length})` : '';
  empty.textContent = state.hasData ? 'no live stream' : notConnectedText();
  empty.hidden = state.streams.length > 0;
}

/** What the lists say when the server has not answered: never "none" when it was not asked. */
function notConnectedText() {
  return state.connection === 'connecting' ? 'connecting…' : 'not connected';
}

// ---- nodes ----------------------------------------------------------------------------------------

/** Several nodes, or one that did not answer: the strip lists them all; else just this node's name. */
const clustered = () => state.nodes.length > 1 || state.nodes.some((n) => !n.reachable);

/** `*` stands for the nodes a listing could not even enumerate (the cluster store away). */
const nodeLabel = (node) => (node === '*' ? 'other nodes' : node);

const plural = (n, word) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** One entry per node, from both listings: a node either listing could not ask is unreachable. */
function mergeNodes(...listings) {
  const byNode = new Map();
  for (const nodes of listings)
    for (const n of nodes || []) {
      const seen = byNode.get(n.node);
      if (!seen)
        byNode.set(n.node, { node: n.node, self: n.self, reachable: n.reachable, error: n.error });
      else if (!n.reachable && seen.reachable)
        Object.assign(seen, { reachable: false, error: n.error });
    }
  return [...byNode.values()];
}

function renderNodes() {
  const strip = $('cluster');
  strip.hidden = state.nodes.length === 0;
  const full = clustered();
  strip.className = full ? 'full' : 'compact';
  if (!full) {
    const self = state.nodes[0];
    $('node-summary').textContent = 'node';
    $('nodes').replaceChildren(
      ...(self
        ? [el('li', { class: 'node ok', 'data-node': self.node, 'data-self': '' }, self.node)]
        : []),
    );
    return;
  }
  const down = state.nodes.filter((n) => !n.reachable).length;
  $('node-summary').textContent =
    `${plural(state.nodes.length, 'node')}${down ? `, ${down} unreachable` : ''}:`;
  $('nodes').replaceChildren(
    ...state.nodes.map((n) => {
      const li = el(
        'li',
        {
          class: `node ${n.reachable ? 'ok' : 'bad'}`,
          'data-node': n.node,
          'data-self': n.self ? '' : undefined,
          'data-reachable': String(n.reachable),
          title: n.error,
        },
        el('strong', {}, nodeLabel(n.node)),
      );
      if (n.self) li.append(' ', el('span', { class: 'muted' }, '(this node)'));
      if (n.reachable) {
        const sessions = state.sessions.filter((s) => s.node === n.node).length;
        const streams = state.streams.filter((s) => s.node === n.node).length;
        li.append(` · ${plural(sessions, 'session')} · ${plural(streams, 'stream')}`);
      } else
        li.append(
          ' ',
          el(
            'span',
            { class: 'bad' },
            `unreachable: ${n.error ?? 'no answer'} (its sessions and streams are not listed)`,
          ),
        );
      return li;
    }),
  );
}

// ---- sessions, refusals, revocations, feed ----------------------------------------------------------

function renderSessions() {
  $('count').textContent = state.hasData ? `(${state.sessions.length})` : '';
  renderNodes();
  if (!state.hasData) {
    $('sessions').replaceChildren(
      el('tr', {}, el('td', { class: 'muted', colSpan: 9 }, notConnectedText())),
    );
    return;
  }
  const rows = state.sessions.map((s) => {
    const left = s.expiresAt
      ? Math.max(0, Math.round((Date.parse(s.expiresAt) - Date.now()) / 1000))
      : undefined;
    const cls = left === undefined ? 'muted' : left < 30 ? 'bad' : left < 120 ? 'warn' : '';
    const actions = el('td', {}, el('button', { class: 'kick danger', 'data-id': s.id }, 'kick'));
    if (s.subject)
      actions.append(
        ' ',
        el('button', { class: 'revoke danger', 'data-sub': s.subject }, 'revoke sub'),
      );
    return el(
      'tr',
      { 'data-id': s.id },
      el('td', {}, s.kind),
      el('td', {}, s.protocol),
      el('td', { class: 'mono' }, s.stream),
      el('td', {}, s.subject ?? '—'),
      el('td', { class: 'mono' }, s.address),
      el('td', { class: cls }, left === undefined ? 'never' : formatDuration(left)),
      el('td', { class: 'mono' }, `${formatBytes(s.bytesIn)} / ${formatBytes(s.bytesOut)}`),
      el('td', { class: 'mono node' }, s.node ?? '—'),
      actions,
    );
  });
  $('sessions').replaceChildren(...rows);
}

function renderRefusals() {
  const entries = Object.entries(state.refusals);
  $('refusals').replaceChildren(
    ...(entries.length
      ? entries.map(([code, n]) => el('span', { 'data-code': code }, `${code}: ${n}`))
      : [el('span', { class: 'muted' }, 'none')]),
  );
}

function renderRevocations() {
  $('revocation-count').textContent = `(${state.revocations.length})`;
  $('revocations').replaceChildren(
    ...state.revocations.map((r) =>
      el(
        'tr',
        { 'data-id': r.id },
        el('td', {}, r.type),
        el('td', { class: 'mono' }, r.value),
        el('td', {}, r.until.replace('T', ' ').slice(0, 19)),
        el('td', {}, r.reason ?? ''),
        el('td', {}, el('button', { class: 'unrevoke', 'data-id': r.id }, 'remove')),
      ),
    ),
  );
}

function describeEvent(e) {
  switch (e.type) {
    case 'live': {
      const { kind, stream, protocol, subject } = e.session;
      return `live: ${kind} ${stream} (${protocol})${subject && subject !== stream ? ` ${subject}` : ''}`;
    }
    case 'session_start':
      return `+ ${e.session.kind} ${e.session.protocol} ${e.session.stream} ${e.session.subject ?? ''}`;
    case 'session_refreshed':
      return `↻ ${e.session.kind} ${e.session.stream} new token until ${e.session.expiresAt ?? 'never'}`;
    case 'session_end':
      return `− ${e.session.kind} ${e.session.protocol} ${e.session.stream} (${e.reason})`;
    case 'refusal':
      return `✕ ${e.protocol} ${e.action} ${e.stream} ${e.code} from ${e.address}`;
    case 'kick':
      return `kick ${e.sessionId} by ${e.actor}`;
    default:
      return e.type;
  }
}

function addToFeed(e) {
  const cls =
    e.type === 'refusal' || (e.type === 'session_end' && e.reason !== 'client-closed')
      ? 'warn'
      : '';
  // In a cluster the feed carries every node's events: each says where it happened.
  const node = e.node ?? e.session?.node;
  const where = clustered() && node ? ` [${node}]` : '';
  $('feed').prepend(
    el(
      'li',
      { class: cls, title: JSON.stringify(e) },
      `${e.at.slice(11, 19)}${where} ${describeEvent(e)}`,
    ),
  );
  while ($('feed').children.length > FEED_SIZE) $('feed').lastChild.remove();
}

/** At connect the feed starts with what is live already, oldest first, as of its start time. */
function seedFeed() {
  if (state.seeded) return;
  state.seeded = true;
  const live = [...state.sessions].sort(
    (a, b) => Date.parse(a.startedAt) - Date.parse(b.startedAt),
  );
  for (const session of live) addToFeed({ type: 'live', at: session.startedAt, session });
}

// ---- data ----------------------------------------------------------------------------------------

/** Reads streams and sessions; false (and the status line says why) when the server did not answer them. */
async function poll() {
  let streams, sessions;
  try {
    [streams, sessions] = await Promise.all([api('/api/v1/streams'), api('/api/v1/sessions')]);
  } catch {
    setConnection(
      'unreachable',
      `not connected: the server cannot be reached${state.hasData ? ' (figures below are from before)' : ''}; retrying`,
    );
    return false;
  }
  if (!streams.ok || !sessions.ok) {
    const failed = streams.ok ? sessions : streams;
    const body = await failed.json().catch(() => ({}));
    const words = refusalWords(failed.status, body);
    if (failed.status === 401 || failed.status === 403) setConnection('refused', words);
    else setConnection('unreachable', `not connected: ${words}; retrying`);
    return false;
  }
  const [streamList, sessionList] = [await streams.json(), await sessions.json()];
  state.streams = streamList.streams;
  state.sessions = sessionList.sessions;
  state.nodes = mergeNodes(sessionList.nodes, streamList.nodes);
  const now = Date.now();
  const seconds = state.lastPollAt ? (now - state.lastPollAt) / 1000 : 0;
  const bytes = new Map();
  state.ingestKbps = {};
  for (const s of state.sessions) {
    if (s.kind !== 'publisher') continue;
    bytes.set(s.id, s.bytesIn);
    const before = state.lastBytes.get(s.id);
    if (seconds > 0 && before !== undefined)
      state.ingestKbps[s.stream] = ((s.bytesIn - before) * 8) / seconds / 1000;
  }
  state.lastBytes = bytes;
  state.lastPollAt = now;
  state.hasData = true;
  setConnection('connected', 'connected');
  return true;
}

async function loadRevocations() {
  const res = await api('/api/v1/revocations');
  if (res.ok) {
    state.revocations = (await res.json()).revocations;
    renderRevocations();
  }
}

function onEvent(event) {
  addToFeed(event);
  if (event.type === 'session_start') state.sessions.push(event.session);
  if (event.type === 'session_refreshed')
    state.sessions = state.sessions.map((s) => (s.id === event.session.id ? event.session : s));
  if (event.type === 'session_end') {
    state.sessions = state.sessions.filter((s) => s.id !== event.session.id);
    if (event.reason === 'expired') state.pending.expiry++;
  }
  if (event.type === 'refusal') {
    state.refusals[event.code] = (state.refusals[event.code] || 0) + 1;
    state.pending.refusals[event.code] = (state.pending.refusals[event.code] || 0) + 1;
    renderRefusals();
  }
  renderSessions();
}

async function follow() {
  const res = await api('/api/v1/events');
  state.following = res.ok;
  if (!res.ok) throw new Error(`events: ${res.status}`);
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let cut;
    while ((cut = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      const data = block.split('\n').find((l) => l.startsWith('data: '));
      if (data) onEvent(JSON.parse(data.slice(6)));
    }
  }
  state.following = false;
}

let running = false;
let reconnect;
/** Connects with the credential entered; keeps trying while the server cannot be reached. */
async function start() {
  clearTimeout(reconnect);
  if (!token) {
    setConnection('none', 'not connected: enter an admin token or API key');
    return;
  }
  if (running) return;
  setConnection('connecting', 'connecting…');
  if (!(await poll())) {
    if (state.connection === 'unreachable') reconnect = setTimeout(start, POLL_MS);
    return;
  }
  seedFeed();
  running = true;
  await loadRevocations().catch(() => {});
  const keepFollowing = () => {
    const next = state.connection === 'connected' ? follow() : Promise.resolve();
    next
      .catch(() => {})
      .finally(() => {
        state.following = false;
        setTimeout(keepFollowing, 2000); // reconnect
      });
  };
  keepFollowing();
  setInterval(async () => {
    // A refused credential is not tried again until a new one is entered.
    if (state.connection === 'refused') return;
    if (!(await poll())) return; // no sample: a gap in the charts, not zeros
    seedFeed();
    sample();
  }, POLL_MS);
  setInterval(() => {
    if (state.connection === 'connected') loadRevocations().catch(() => {});
  }, 10_000);
}

// ---- actions --------------------------------------------------------------------------------------

$('login').addEventListener('submit', async (e) => {
  e.preventDefault();
  token = $('token').value.trim();
  sessionStorage.setItem('stagedoorAdmin', token);
  if (!running) return start();
  setConnection('connecting', 'connecting…');
  if (await poll()) seedFeed();
});

$('streams').addEventListener('click', async (e) => {
  const button = e.target.closest('button.copy');
  if (!button) return;
  try {
    await copyText(button.dataset.copy);
    button.textContent = 'copied';
  } catch {
    button.textContent = 'copy failed';
  }
  clearTimeout(button.reset);
  button.reset = setTimeout(() => (button.textContent = 'copy'), 2000);
});

/** Why a kick did not happen, for an operator: the session's node, and what to do. */
function kickWords(res, body, id) {
  const s = state.sessions.find((x) => x.id === id);
  const what = s ? `${s.kind} ${s.protocol} ${s.stream}` : id;
  const node = s?.node ?? (id.includes('@') ? id.slice(id.lastIndexOf('@') + 1) : undefined);
  switch (body.error?.code) {
    case 'NODE_UNREACHABLE':
      return `not kicked: ${what} is on node ${node ?? '(unknown)'}, which did not answer (${body.error.message}); it may still be live there, try again shortly`;
    case 'CLUSTER_UNAVAILABLE':
      return `not kicked: ${what}: the cluster store (Redis) cannot be reached; try again shortly`;
    case 'NOT_FOUND':
      return `not kicked: ${what} has already ended`;
    default:
      return `not kicked: ${what}: ${refusalWords(res.status, body)}`;
  }
}

function setSessionMessage(text) {
  const message = $('session-message');
  message.textContent = text;
  message.hidden = !text;
}

async function kick(id) {
  setSessionMessage('');
  let res;
  try {
    res = await api(`/api/v1/sessions/${encodeURIComponent(id)}`, { method: 'DELETE' });
  } catch {
    setSessionMessage(`not kicked: ${id}: the server cannot be reached`);
    return;
  }
  if (res.ok) return;
  const body = await res.json().catch(() => ({}));
  setSessionMessage(kickWords(res, body, id));
}

$('sessions').addEventListener('click', async (e) => {
  const button = e.target.closest('button');
  if (!button) return;
  if (button.classList.contains('kick')) await kick(button.dataset.id);
  if (button.classList.contains('revoke') && confirm(`Revoke ${button.dataset.sub} for 24 h?`)) {
    await api('/api/v1/revocations', {
      method: 'POST',
      body: JSON.stringify({ type: 'sub', value: button.dataset.sub, reason: 'dashboard' }),
    });
    await loadRevocations();
  }
});

$('revoke').addEventListener('submit', async (e) => {
  e.preventDefault();
  const until = new Date(Date.now() + Number($('revoke-for').value) * 1000).toISOString();
  const reason = $('revoke-reason').value.trim();
  const res = await api('/api/v1/revocations', {
    method: 'POST',
    body: JSON.stringify({
      type: $('revoke-type').value,
      value: $('revoke-value').value.trim(),
      until,
      ...(reason ? { reason } : {}),
    }),
  });
  if (!res.ok) {
    const body = await res.json().catch(() => ({}));
    setStatus(`revocation refused: ${body.error ? body.error.message : res.status}`, 'bad');
    return;
  }
  $('revoke-value').value = '';
  $('revoke-reason').value = '';
  await loadRevocations();
});

$('revocations').addEventListener('click', async (e) => {
  const button = e.target.closest('button.unrevoke');
  if (!button) return;
  await api(`/api/v1/revocations/${encodeURIComponent(button.dataset.id)}`, { method: 'DELETE' });
  await loadRevocations();
});

setupCharts();
setInterval(renderSessions, 1000); // countdowns
start();
