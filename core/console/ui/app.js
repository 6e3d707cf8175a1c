// The operator console: plain DOM, every text from visitors and operators
// is set with textContent, never parsed as HTML.
import { t, translate, lang } from './i18n.js';

const $ = (id) => document.getElementById(id);

// ---------- DOM helpers ----------

// h builds an element: h('div.cls', {attr}, child, 'text', …).
function h(spec, attrs, ...children) {
  const [tag, ...classes] = spec.split('.');
  const el = document.createElement(tag || 'div');
  if (classes.length) el.className = classes.join(' ');
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v == null || v === false) continue;
      if (k === 'text') el.textContent = v;
      else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
      else if (k === 'dataset') Object.assign(el.dataset, v);
      else el.setAttribute(k, v === true ? '' : v);
    }
  }
  for (const c of children.flat()) {
    if (c == null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

const ICONS = {
  clock: 'M12 7v5l3 2M21 12a9 9 0 1 1-18 0 9 9 0 0 1 18 0Z',
  user: 'M16 7a4 4 0 1 1-8 0 4 4 0 0 1 8 0ZM4 21a8 8 0 0 1 16 0',
  inbox: 'M3 13h5l1.5 3h5L16 13h5M5 5h14l2 8v6H3v-6z',
  bot: 'M12 3v3M7 8h10a3 3 0 0 1 3 3v6a3 3 0 0 1-3 3H7a3 3 0 0 1-3-3v-6a3 3 0 0 1 3-3ZM9 13h.01M15 13h.01M9.5 17h5',
  zap: 'M13 2 4 14h7l-1 8 9-12h-7z',
  bell: 'M6 8a6 6 0 1 1 12 0c0 7 3 9 3 9H3s3-2 3-9M10 21a2 2 0 0 0 4 0',
  logout: 'M15 4h3a2 2 0 0 1 2 2v12a2 2 0 0 1-2 2h-3M10 17l5-5-5-5M15 12H4',
  check: 'M20 6 9 17l-5-5',
  message: 'M21 12a8 8 0 0 1-11.6 7.1L4 21l1.9-5.4A8 8 0 1 1 21 12Z',
  back: 'M15 18l-6-6 6-6',
  info: 'M12 16v-4M12 8h.01M21 12a9 9 0 1 1-18 0 9 9 0 0 1 18 0Z',
  send: 'M22 2 11 13M22 2l-7 20-4-9-9-4z',
  lock: 'M6 11h12v10H6zM8 11V7a4 4 0 0 1 8 0v4',
  eye: 'M2 12s3.5-7 10-7 10 7 10 7-3.5 7-10 7S2 12 2 12ZM12 15a3 3 0 1 0 0-6 3 3 0 0 0 0 6Z',
  x: 'M18 6 6 18M6 6l12 12',
  plus: 'M12 5v14M5 12h14',
  users: 'M16 21v-2a4 4 0 0 0-4-4H6a4 4 0 0 0-4 4v2M9 11a4 4 0 1 0 0-8 4 4 0 0 0 0 8ZM22 21v-2a4 4 0 0 0-3-3.9M16 3.1a4 4 0 0 1 0 7.8',
  help: 'M9.1 9a3 3 0 0 1 5.8 1c0 2-3 3-3 3M12 17h.01M21 12a9 9 0 1 1-18 0 9 9 0 0 1 18 0Z',
};

function icon(name) {
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('aria-hidden', 'true');
  const p = document.createElementNS('http://www.w3.org/2000/svg', 'path');
  p.setAttribute('d', ICONS[name] || '');
  svg.append(p);
  return svg;
}

function fillIcons(root) {
  for (const el of root.querySelectorAll('[data-icon]')) {
    if (!el.firstChild) el.append(icon(el.dataset.icon));
  }
}

function initials(name) {
  const s = (name || '?').trim();
  const parts = s.split(/\s+/).filter(Boolean);
  if (/[\u3400-\u9fff]/.test(s)) return s.slice(0, 1);
  return ((parts[0] || '?')[0] + (parts.length > 1 ? parts[parts.length - 1][0] : '')).toUpperCase();
}

// Avatars get one of a few soft colours, the same for one name.
function hue(name) {
  let n = 0;
  for (const ch of name || '') n = (n * 31 + ch.codePointAt(0)) % 8;
  return 'c' + n;
}

function avatar(el, name) {
  el.textContent = initials(name);
  el.className = el.className.replace(/\bc\d\b/g, '').trim() + ' ' + hue(name);
}

const timeFmt = new Intl.DateTimeFormat(lang === 'zh' ? 'zh-CN' : undefined, { hour: '2-digit', minute: '2-digit' });
const dateTimeFmt = new Intl.DateTimeFormat(lang === 'zh' ? 'zh-CN' : undefined, { dateStyle: 'medium', timeStyle: 'short' });

function ago(iso) {
  const s = Math.max(0, (Date.now() - new Date(iso).getTime()) / 1000);
  if (s < 60) return t('just_now');
  if (s < 3600) return t('min', { n: Math.floor(s / 60) });
  if (s < 86400) return t('hour', { n: Math.floor(s / 3600) });
  return t('day', { n: Math.floor(s / 86400) });
}

function visitorName(c) {
  return (c.user && (c.user.name || c.user.id)) || t('visitor');
}

// ---------- API ----------

class HTTPError extends Error {
  constructor(status, body) {
    super((body && body.error && body.error.message) || 'HTTP ' + status);
    this.status = status;
    this.code = body && body.error && body.error.code;
  }
}

async function api(method, path, body) {
  const res = await fetch('/op/v1' + path, {
    method,
    credentials: 'same-origin',
    headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  let data = null;
  if (res.status !== 204) {
    try { data = await res.json(); } catch { data = null; }
  }
  if (!res.ok) {
    const err = new HTTPError(res.status, data);
    if (res.status === 401 && state.me) signedOut(true);
    throw err;
  }
  return data;
}

// ---------- state ----------

const state = {
  me: null,
  view: 'waiting',
  convs: new Map(), // id → conversation view
  openId: null,
  messages: [], // of the open conversation
  lastMsgId: 0,
  canned: [],
  operators: [],
  mode: 'reply',
  typing: new Map(), // conversation id → {from, name, until}
  unread: new Set(), // conversations with visitor lines not seen yet
  loading: null, // the conversation whose transcript is loading
  pending: [], // its lines that arrived meanwhile
  events: null,
  cannedIndex: 0,
};

// newer says whether view b is at least as current as a.
function newer(a, b) {
  return !a || new Date(b.activity_at) >= new Date(a.activity_at);
}

function inView(c, view) {
  switch (view) {
    case 'waiting': return c.console && c.state === 'waiting_human';
    case 'mine': return c.console && c.state === 'human' && c.handoff && c.handoff.assignee === state.me.id;
    case 'open': return c.console;
    case 'bot': return c.state === 'bot';
  }
  return false;
}

// Priorities, lowest first; an unrouted handoff is normal.
const PRIORITIES = ['low', 'normal', 'high', 'urgent'];
const route = (c) => (c.handoff && c.handoff.route) || null;
const priorityOf = (c) => PRIORITIES.indexOf((route(c) && route(c).priority) || 'normal');

// Waiting conversations are served highest priority first, then oldest.
const byQueue = (a, b) => (priorityOf(b) - priorityOf(a)) || (new Date(a.waiting_since) - new Date(b.waiting_since));

function sortFor(view) {
  if (view === 'waiting') return byQueue;
  return (a, b) => {
    const wa = a.state === 'waiting_human', wb = b.state === 'waiting_human';
    if (wa !== wb) return wa ? -1 : 1;
    if (wa) return byQueue(a, b);
    return new Date(b.activity_at) - new Date(a.activity_at);
  };
}

// ---------- sign-in ----------

let setupToken = null;

function showAuth(message) {
  stopEvents();
  $('app').hidden = true;
  $('boot').hidden = true;
  $('auth').hidden = false;
  const setup = !!setupToken;
  $('auth-title').textContent = setup ? t('setup_title') : t('sign_in_title');
  $('auth-sub').textContent = setup ? t('setup_sub') : t('sign_in_sub');
  $('name-field').hidden = !setup;
  $('auth-submit').textContent = setup ? t('create_account') : t('sign_in');
  $('auth-password').autocomplete = setup ? 'new-password' : 'current-password';
  $('auth-password').placeholder = setup ? t('password_rule') : '';
  showAuthError(message);
  (setup ? $('auth-name') : $('auth-email')).focus();
}

function showAuthError(message) {
  $('auth-error').hidden = !message;
  $('auth-error').textContent = message || '';
}

function signedOut(expired) {
  if (!$('auth').hidden) return;
  state.me = null;
  showAuth(expired ? t('session_ended') : '');
}

async function submitAuth(ev) {
  ev.preventDefault();
  unlockAudio();
  const email = $('auth-email').value.trim();
  const password = $('auth-password').value;
  $('auth-submit').disabled = true;
  try {
    let res;
    if (setupToken) {
      res = await api('POST', '/setup', { token: setupToken, email, name: $('auth-name').value.trim(), password });
      setupToken = null;
      history.replaceState(null, '', '/console/');
    } else {
      res = await api('POST', '/login', { email, password });
    }
    $('auth-password').value = '';
    await start(res.operator);
  } catch (err) {
    let msg = t('error_generic');
    if (err.status === 401) msg = t('bad_credentials');
    else if (err.status === 429) msg = t('rate_limited');
    else if (err.code === 'setup_link_invalid') { msg = t('setup_invalid'); setupToken = null; showAuth(msg); }
    else if (err.status === 400) msg = err.message;
    showAuthError(msg);
  } finally {
    $('auth-submit').disabled = false;
  }
}

// ---------- start ----------

async function start(me) {
  state.me = me;
  $('auth').hidden = true;
  $('boot').hidden = true;
  $('app').hidden = false;
  $('me-name').textContent = me.name;
  avatar($('me-avatar'), me.name);
  $('me-status').value = me.status === 'away' ? 'away' : 'online';
  $('me-dot').className = 'dot ' + ($('me-status').value);
  $('enable-notify').hidden = !('Notification' in window) || Notification.permission !== 'default';
  $('open-team').hidden = me.role !== 'admin';
  $('open-gaps').hidden = me.role !== 'admin';
  startEvents();
  await Promise.all([reloadLists(), loadCanned(), loadOperators()]);
  setView(state.view);
}

async function reloadLists() {
  const started = Date.now();
  const [open, bot] = await Promise.all([api('GET', '/conversations'), api('GET', '/conversations?state=bot&limit=100')]);
  const fresh = new Map();
  for (const c of [...open.conversations, ...bot.conversations]) fresh.set(c.id, c);
  // What events brought while the lists loaded is kept when it is newer.
  for (const [id, c] of state.convs) {
    const f = fresh.get(id);
    if (f ? !newer(c, f) : new Date(c.activity_at).getTime() > started - 5000) fresh.set(id, c);
  }
  state.convs = fresh;
  renderList();
  if (state.openId) await openConversation(state.openId, true);
}

async function loadCanned() {
  const res = await api('GET', '/canned');
  state.canned = res.canned;
}

async function loadOperators() {
  const res = await api('GET', '/operators');
  state.operators = res.operators;
}

// ---------- events ----------

function startEvents() {
  stopEvents();
  const es = new EventSource('/op/v1/events');
  state.events = es;
  es.addEventListener('open', () => { $('conn').hidden = true; });
  es.addEventListener('error', async () => {
    $('conn').hidden = false;
    $('conn').textContent = t('offline');
    try { await api('GET', '/me'); } catch { /* 401 shows the sign-in */ }
  });
  es.addEventListener('conversation', (e) => onConversation(JSON.parse(e.data)));
  es.addEventListener('message', (e) => onMessage(JSON.parse(e.data)));
  es.addEventListener('typing', (e) => onTyping(JSON.parse(e.data)));
  es.addEventListener('presence', (e) => onPresence(JSON.parse(e.data)));
  es.addEventListener('sla_breached', (e) => {
    const n = JSON.parse(e.data);
    const c = state.convs.get(n.conversation_id);
    toast(t('sla_breached', { name: c ? visitorName(c) : n.conversation_id, department: n.department, priority: t('priority_' + n.priority) }));
  });
  es.addEventListener('resync', () => { reloadLists().catch(() => {}); });
  es.addEventListener('signed_out', () => signedOut(true));
}

function stopEvents() {
  if (state.events) state.events.close();
  state.events = null;
}

function onConversation(c) {
  const old = state.convs.get(c.id);
  if (old && !newer(old, c)) return;
  state.convs.set(c.id, c);
  const lm = c.last_message;
  if (lm && lm.role === 'visitor' && c.id !== state.openId && (!old || !old.last_message || old.last_message.id < lm.id)) state.unread.add(c.id);
  const startedWaiting = c.console && c.state === 'waiting_human' && (!old || old.state !== 'waiting_human');
  if (startedWaiting) alertWaiting(c);
  renderList();
  if (c.id === state.openId) renderChatHead();
}

function onMessage(ev) {
  if (ev.conversation_id !== state.openId) {
    // The conversation's own event may already end on a later line (the
    // bot's answer to it): the visitor's line is what makes it unread.
    const old = state.convs.get(ev.conversation_id);
    const m = ev.message;
    if (m.role === 'visitor' && (!old || !old.last_message || old.last_message.id < m.id) && !state.unread.has(ev.conversation_id)) {
      state.unread.add(ev.conversation_id);
      renderList();
    }
    return;
  }
  if (state.loading === ev.conversation_id) { state.pending.push(ev.message); return; }
  const m = ev.message;
  if (m.id <= state.lastMsgId) return;
  state.messages.push(m);
  state.lastMsgId = m.id;
  if (m.role === 'visitor') clearTyping(ev.conversation_id, 'visitor');
  appendMessages([m]);
}

function onTyping(ev) {
  state.typing.set(ev.conversation_id + '/' + ev.from + '/' + (ev.operator ? ev.operator.id : ''), {
    conv: ev.conversation_id, from: ev.from, name: ev.operator && ev.operator.name, until: Date.now() + 6000,
  });
  renderTyping();
  setTimeout(renderTyping, 6100);
}

function clearTyping(conv, from) {
  for (const [k, v] of state.typing) if (v.conv === conv && v.from === from) state.typing.delete(k);
  renderTyping();
}

function onPresence(p) {
  const op = state.operators.find((o) => o.id === p.operator_id);
  if (op) op.status = p.status;
}

// ---------- alerts: sound and desktop notification ----------

let audio = null;

function unlockAudio() {
  if (audio) return;
  try { audio = new AudioContext(); } catch { audio = null; }
}

function chime() {
  if (!audio) return;
  const now = audio.currentTime;
  for (const [i, f] of [[0, 880], [1, 1320]]) {
    const o = audio.createOscillator();
    const g = audio.createGain();
    o.type = 'sine';
    o.frequency.value = f;
    g.gain.setValueAtTime(0.0001, now + i * 0.16);
    g.gain.exponentialRampToValueAtTime(0.18, now + i * 0.16 + 0.02);
    g.gain.exponentialRampToValueAtTime(0.0001, now + i * 0.16 + 0.35);
    o.connect(g).connect(audio.destination);
    o.start(now + i * 0.16);
    o.stop(now + i * 0.16 + 0.4);
  }
}

function alertWaiting(c) {
  chime();
  if ('Notification' in window && Notification.permission === 'granted') {
    const n = new Notification(t('new_waiting_title'), { body: t('new_waiting_body', { name: visitorName(c), channel: c.channel }), tag: c.id, icon: '/console/icon.svg' });
    n.onclick = () => { window.focus(); setView('waiting'); openConversation(c.id); n.close(); };
  }
}

// ---------- list ----------

function setView(view) {
  state.view = view;
  for (const b of document.querySelectorAll('.nav-item[data-view]')) b.classList.toggle('active', b.dataset.view === view);
  $('list-title').textContent = t('list_' + view);
  renderList();
}

function renderList() {
  if (!state.me) return;
  const all = [...state.convs.values()];
  const counts = { waiting: 0, mine: 0, open: 0, bot: 0 };
  for (const c of all) for (const v of Object.keys(counts)) if (inView(c, v)) counts[v]++;
  for (const v of Object.keys(counts)) {
    const el = $('count-' + v);
    el.textContent = counts[v] ? String(counts[v]) : '';
    el.classList.toggle('hot', v === 'waiting' && counts[v] > 0);
  }
  document.title = (counts.waiting ? '(' + counts.waiting + ') ' : '') + 'Switchboard Console';
  const list = all.filter((c) => inView(c, state.view)).sort(sortFor(state.view));
  const ul = $('conv-list');
  ul.replaceChildren(...list.map(listItem));
  $('list-empty').hidden = list.length > 0;
  $('list-empty-text').textContent = t('empty_' + state.view);
}

function listItem(c) {
  const name = visitorName(c);
  const last = c.last_message;
  let preview = last ? last.text : '';
  const who = last && (last.private ? t('private_note') + ': ' : last.role === 'bot' ? t('bot') + ': ' : last.role === 'operator' ? (last.author && last.author.id === state.me.id ? t('you') : (last.author && last.author.name) || '') + ': ' : '');
  const waiting = c.state === 'waiting_human';
  const holder = c.state === 'human' && c.handoff && c.handoff.assignee ? (c.handoff.assignee === state.me.id ? t('held_by_you') : t('held_by', { name: c.handoff.operator })) : '';
  const li = h('li', null,
    h('button.conv' + (c.id === state.openId ? '.active' : '') + (waiting ? '.waiting' : '') + (state.unread.has(c.id) ? '.unread' : ''), { dataset: { id: c.id }, onclick: () => openConversation(c.id) },
      h('div.avatar.' + hue(name), { text: initials(name) }),
      h('div.conv-body', null,
        h('div.conv-top', null,
          h('span.conv-name', { text: name }),
          h('span.conv-time' + (waiting ? '.urgent' : ''), { text: waiting ? t('waiting_for', { t: ago(c.waiting_since) }) : ago(c.activity_at), dataset: { since: waiting ? c.waiting_since : c.activity_at, wait: waiting ? '1' : '' } })),
        h('div.conv-preview', null, who ? h('span.who', { text: who }) : null, preview),
        h('div.conv-tags', null,
          h('span.badge', { text: c.channel }),
          route(c) ? h('span.badge', { text: route(c).department }) : null,
          route(c) && route(c).priority !== 'normal' ? h('span.tag.prio-' + route(c).priority, { text: t('priority_' + route(c).priority) }) : null,
          waiting && c.handoff ? h('span.tag', { text: t('cause_' + c.handoff.cause) }) : null,
          holder ? h('span.tag.tag-soft', { text: holder }) : null))));
  return li;
}

// Wait times and ages move on by themselves.
setInterval(() => {
  for (const el of document.querySelectorAll('.conv-time[data-since]')) {
    el.textContent = el.dataset.wait ? t('waiting_for', { t: ago(el.dataset.since) }) : ago(el.dataset.since);
  }
}, 15000);

// ---------- conversation ----------

async function openConversation(id, refresh) {
  const switching = id !== state.openId;
  state.openId = id;
  if (state.unread.delete(id)) renderList();
  document.body.classList.add('chat-open');
  if (switching) {
    state.messages = [];
    state.lastMsgId = 0;
    $('transcript').replaceChildren();
    $('composer-text').value = '';
    setMode('reply');
  }
  for (const b of document.querySelectorAll('.conv')) b.classList.toggle('active', b.dataset.id === id);
  $('chat-empty').hidden = true;
  $('chat').hidden = false;
  // Lines that arrive while the transcript loads wait, then join it in
  // order, once each.
  state.loading = id;
  state.pending = [];
  try {
    const [detail, msgs] = await Promise.all([api('GET', '/conversations/' + id), api('GET', '/conversations/' + id + '/messages?after=' + state.lastMsgId)]);
    if (state.openId !== id) return;
    const known = state.convs.get(id);
    if (!known || newer(known, detail)) state.convs.set(id, detail);
    state.tickets = detail.tickets || [];
    const seen = new Set();
    const fresh = [...msgs.messages, ...state.pending]
      .filter((m) => m.id > state.lastMsgId && !seen.has(m.id) && seen.add(m.id))
      .sort((a, b) => a.id - b.id);
    state.messages.push(...fresh);
    if (fresh.length) state.lastMsgId = fresh[fresh.length - 1].id;
    appendMessages(fresh);
    renderChatHead();
    renderDetails();
    renderTyping();
    if (!refresh) $('composer-text').focus();
  } catch (err) {
    if (err.status !== 401) toast(err.message);
  } finally {
    if (state.loading === id) {
      state.loading = null;
      state.pending = [];
    }
  }
}

function closeChat() {
  state.openId = null;
  document.body.classList.remove('chat-open');
  $('chat').hidden = true;
  $('chat-empty').hidden = false;
  renderList();
}

function current() {
  return state.convs.get(state.openId);
}

function renderChatHead() {
  const c = current();
  if (!c) return;
  const name = visitorName(c);
  avatar($('chat-avatar'), name);
  $('chat-name').textContent = name;
  $('chat-channel').textContent = c.channel;
  $('chat-state').textContent = t('state_' + c.state);
  $('chat-state').className = 'pill pill-' + c.state;
  const h0 = c.handoff;
  const mine = h0 && h0.assignee === state.me.id;
  $('chat-holder').textContent = c.state === 'human' && h0 && h0.assignee ? (mine ? t('held_by_you') : t('held_by', { name: h0.operator })) : '';
  const admin = state.me.role === 'admin';
  const acts = [];
  const btn = (label, action, primary) => h('button.btn' + (primary ? '.btn-primary' : '.btn-ghost'), { type: 'button', dataset: { action }, onclick: () => act(action) }, t(label));
  let banner = '';
  if (c.state === 'bot') {
    acts.push(btn('takeover', 'takeover', true));
    banner = t('banner_bot');
  } else if (c.state === 'closed') {
    banner = t('banner_closed');
  } else if (!c.console) {
    banner = t('banner_other_desk');
  } else if (c.state === 'waiting_human') {
    acts.push(btn('return_to_bot', 'return-to-bot'), btn('close', 'close'), btn('claim', 'claim', true));
    banner = t('banner_waiting', { t: timeFmt.format(new Date(c.waiting_since)) });
  } else if (mine || admin) {
    acts.push(btn('transfer', 'transfer'), btn('release', 'release'), btn('return_to_bot', 'return-to-bot'), btn('close', 'close', true));
    if (!mine) banner = t('banner_other', { name: h0.operator });
  } else {
    banner = t('banner_other', { name: h0.operator });
  }
  $('chat-actions').replaceChildren(...acts);
  $('chat-banner').hidden = !banner;
  $('chat-banner').textContent = banner;
  $('chat-banner').className = 'banner banner-' + c.state;
  const canReply = c.console && (c.state === 'waiting_human' || (c.state === 'human' && (mine || !h0.assignee)));
  $('mode-reply').disabled = !canReply;
  if (!canReply && state.mode === 'reply') setMode('note');
  if (canReply && state.mode === 'note' && !state.userChoseNote) setMode('reply');
  renderDetails();
}

function dayKey(d) { return d.getFullYear() + '-' + d.getMonth() + '-' + d.getDate(); }

function appendMessages(msgs) {
  const box = $('transcript');
  const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 80;
  for (const m of msgs) {
    const d = new Date(m.created_at);
    const prev = box.lastElementChild;
    if (!prev || prev.dataset.day !== dayKey(d)) {
      box.append(h('div.day', { dataset: { day: dayKey(d) } }, h('span', { text: new Intl.DateTimeFormat(lang === 'zh' ? 'zh-CN' : undefined, { dateStyle: 'medium' }).format(d) })));
    }
    box.append(messageRow(m, d));
  }
  if (atBottom || msgs.some((m) => m.role === 'operator')) box.scrollTop = box.scrollHeight;
}

// systemText shows the daemon's notes (written in English) in the
// console's language when it knows them.
const SYSTEM_NOTES = [
  [/^(.+) joined the conversation\.$/, (m) => t('note_joined', { name: m[1] })],
  [/^An operator joined the conversation\.$/, () => t('note_joined', { name: t('state_human') })],
  [/^(.+) put the conversation back in the queue\.$/, (m) => t('note_released', { name: m[1] })],
  [/^(.+) transferred the conversation to (.+)\.$/, (m) => t('note_transferred', { from: m[1], to: m[2] })],
  [/^The visitor left the chat\.$/, () => t('note_left')],
];

function systemText(text) {
  for (const [re, f] of SYSTEM_NOTES) {
    const m = re.exec(text);
    if (m) return f(m);
  }
  return text;
}

function messageRow(m, d) {
  const day = dayKey(d);
  const time = timeFmt.format(d);
  if (m.role === 'system') {
    return h('div.msg.msg-system', { dataset: { day, id: m.id } }, h('span', { text: systemText(m.text) }), h('time', { text: time }));
  }
  const mine = m.author && m.author.id === state.me.id;
  let who;
  if (m.role === 'visitor') who = visitorName(current() || {});
  else if (m.role === 'bot') who = t('bot');
  else who = mine ? t('you') : (m.author && m.author.name) || t('state_human');
  const cls = m.private ? 'msg-note' : 'msg-' + m.role;
  const att = (m.attachments || []).map((a) => h('div.attachment', { text: '📎 ' + (a.name || a.type) }));
  return h('div.msg.' + cls, { dataset: { day, id: m.id } },
    h('div.msg-meta', null,
      m.private ? h('span.note-label', null, icon('lock'), t('private_note')) : null,
      m.role === 'bot' ? h('span.bot-mark', null, icon('bot')) : null,
      h('span.msg-who', { text: who }),
      h('time', { text: time, title: dateTimeFmt.format(d) })),
    h('div.bubble', { text: m.text }),
    att,
    (m.sources || []).length ? h('div.sources', null, h('span.sources-label', { text: t('sources') }),
      ...m.sources.map((src) => h('span.source', { text: src.title || src.id, title: src.id }))) : null);
}

function renderTyping() {
  const now = Date.now();
  const parts = [];
  for (const [k, v] of state.typing) {
    if (v.until < now) { state.typing.delete(k); continue; }
    if (v.conv !== state.openId) continue;
    if (v.from === 'visitor') parts.push(t('typing_visitor'));
    else if (v.from === 'bot') parts.push(t('typing_bot'));
    else parts.push(t('typing_operator', { name: v.name || t('state_human') }));
  }
  $('typing').hidden = parts.length === 0;
  $('typing-text').textContent = parts.join(' · ');
}

function renderDetails() {
  const c = current();
  const pane = $('details');
  if (!c) { pane.replaceChildren(); return; }
  const row = (label, value, cls) => value ? h('div.kv', null, h('dt', { text: label }), h('dd' + (cls ? '.' + cls : ''), { text: value })) : null;
  const sections = [];
  const ho = c.handoff;
  if (ho) {
    sections.push(h('section.card', null, h('h3', { text: t('handoff') }),
      h('dl', null,
        row(t('cause'), t('cause_' + ho.cause)),
        row(t('reason'), ho.reason),
        ho.route ? row(t('department'), ho.route.department + ' · ' + t('routed_' + ho.route.by.split(':')[0], { rule: ho.route.by.split(':').slice(1).join(':') })) : null,
        ho.route ? row(t('priority'), t('priority_' + ho.route.priority) + (ho.route.raised ? ' · ' + t('raised_' + ho.route.raised) : '')) : null,
        ho.route && ho.route.language ? row(t('language'), ho.route.language) : null,
        ho.route && ho.route.tags && ho.route.tags.length ? row(t('tags'), ho.route.tags.join(', ')) : null,
        row(t('requested'), dateTimeFmt.format(new Date(ho.requested_at))),
        ho.joined_at ? row(t('joined'), dateTimeFmt.format(new Date(ho.joined_at)) + (ho.operator ? ' · ' + ho.operator : '')) : null),
      ho.summary ? h('div.summary', null, h('div.summary-label', { text: t('summary') }), h('p', { text: ho.summary })) : null));
  }
  const pr = c.profile;
  let fields = [];
  if (pr && pr.fields && typeof pr.fields === 'object') {
    fields = Object.entries(pr.fields).slice(0, 20).map(([k, v]) => row(k, typeof v === 'string' ? v : JSON.stringify(v)));
  }
  sections.push(h('section.card', null, h('h3', { text: t('visitor_section') }),
    h('dl', null,
      row(t('name'), (pr && pr.name) || (c.user && c.user.name)),
      row(t('user_id'), c.user && c.user.id, 'mono'),
      row(t('channel'), c.channel),
      pr ? row(t('email'), pr.email) : null,
      pr ? row(t('tier'), pr.tier) : null,
      ...fields,
      c.unreachable ? row('', t('unreachable')) : null)));
  const tickets = c.id === state.openId ? (state.tickets || []) : [];
  if (tickets.length) {
    sections.push(h('section.card', null, h('h3', { text: t('tickets') }),
      h('dl', null, ...tickets.map((tk) => row('#' + tk.id, tk.subject + ' · ' + t('ticket_' + tk.status))))));
  }
  sections.push(h('section.card', null, h('h3', { text: t('conversation') }),
    h('dl', null,
      row(t('created'), dateTimeFmt.format(new Date(c.created_at))),
      row(t('id'), c.id, 'mono'))));
  pane.replaceChildren(...sections);
}

// ---------- actions ----------

async function act(action) {
  const c = current();
  if (!c) return;
  if (action === 'transfer') return transferDialog(c);
  try {
    const res = await api('POST', '/conversations/' + c.id + '/' + action);
    onConversation(res.conversation);
    renderChatHead();
    if (action === 'claim' || action === 'takeover') { setMode('reply'); $('composer-text').focus(); }
  } catch (err) {
    if (err.status === 409) toast(t('conflict') + ' ' + err.message);
    else if (err.status !== 401) toast(err.message);
  }
}

function setMode(mode) {
  state.mode = mode;
  $('mode-reply').classList.toggle('active', mode === 'reply');
  $('mode-note').classList.toggle('active', mode === 'note');
  $('composer').classList.toggle('note-mode', mode === 'note');
  $('composer-text').placeholder = t(mode === 'note' ? 'note_placeholder' : 'reply_placeholder');
  $('composer-hint').textContent = t(mode === 'note' ? 'composer_hint_note' : 'composer_hint_reply');
  $('send').lastChild.textContent = t(mode === 'note' ? 'add_note' : 'send');
  hideCanned();
}

async function send(ev) {
  if (ev) ev.preventDefault();
  const ta = $('composer-text');
  const text = ta.value.trim();
  const c = current();
  if (!text || !c) return;
  $('send').disabled = true;
  try {
    const res = await api('POST', '/conversations/' + c.id + '/messages', { text, private: state.mode === 'note' });
    ta.value = '';
    autosize();
    onConversation(res.conversation);
    const msgs = await api('GET', '/conversations/' + c.id + '/messages?after=' + state.lastMsgId);
    if (state.openId === c.id) for (const m of msgs.messages) onMessage({ conversation_id: c.id, message: m });
  } catch (err) {
    if (err.status === 409) toast(err.message);
    else if (err.status !== 401) toast(err.message);
  } finally {
    $('send').disabled = false;
    ta.focus();
  }
}

let lastTypingSent = 0;

function onComposerInput() {
  autosize();
  updateCanned();
  const c = current();
  if (state.mode !== 'reply' || !c || !$('composer-text').value.trim()) return;
  if (Date.now() - lastTypingSent < 3000) return;
  lastTypingSent = Date.now();
  api('POST', '/conversations/' + c.id + '/typing').catch(() => {});
}

function autosize() {
  const ta = $('composer-text');
  ta.rows = Math.min(8, Math.max(2, ta.value.split('\n').length));
}

// ---------- saved replies in the composer ----------

function cannedMatches() {
  const v = $('composer-text').value;
  const m = /^\/(\S*)$/.exec(v);
  if (!m) return null;
  const q = m[1].toLowerCase();
  return state.canned.filter((c) => c.shortcut.toLowerCase().startsWith(q));
}

function updateCanned() {
  const matches = cannedMatches();
  const menu = $('canned-menu');
  if (!matches) return hideCanned();
  state.cannedIndex = Math.min(state.cannedIndex, Math.max(0, matches.length - 1));
  if (!matches.length) {
    menu.replaceChildren(h('li.canned-empty', { text: state.canned.length ? t('canned_none_match') : t('canned_empty') }));
  } else {
    menu.replaceChildren(...matches.map((c, i) => h('li' + (i === state.cannedIndex ? '.active' : ''), {
      role: 'option', dataset: { shortcut: c.shortcut },
      onmousedown: (e) => { e.preventDefault(); insertCanned(c); },
    }, h('span.shortcut', { text: '/' + c.shortcut }), h('span.canned-text', { text: c.text }))));
  }
  menu.hidden = false;
}

function hideCanned() {
  $('canned-menu').hidden = true;
  state.cannedIndex = 0;
}

function insertCanned(c) {
  const ta = $('composer-text');
  ta.value = c.text;
  hideCanned();
  autosize();
  ta.focus();
  ta.setSelectionRange(ta.value.length, ta.value.length);
}

function onComposerKey(e) {
  const menuOpen = !$('canned-menu').hidden;
  const matches = menuOpen ? cannedMatches() || [] : [];
  if (menuOpen && matches.length && (e.key === 'ArrowDown' || e.key === 'ArrowUp')) {
    e.preventDefault();
    state.cannedIndex = (state.cannedIndex + (e.key === 'ArrowDown' ? 1 : matches.length - 1)) % matches.length;
    updateCanned();
    return;
  }
  if (menuOpen && matches.length && (e.key === 'Enter' || e.key === 'Tab')) {
    e.preventDefault();
    insertCanned(matches[state.cannedIndex]);
    return;
  }
  if (menuOpen && e.key === 'Escape') { hideCanned(); return; }
  if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
    e.preventDefault();
    send();
  }
}

// ---------- dialogs ----------

function openDialog(title, sub, body, footer) {
  const d = $('dialog');
  d.replaceChildren(h('form.dialog-card', { method: 'dialog' },
    h('header.dialog-head', null, h('div', null, h('h2', { text: title }), sub ? h('p.muted', { text: sub }) : null),
      h('button.icon-btn', { type: 'button', 'aria-label': t('cancel'), onclick: () => d.close() }, icon('x'))),
    h('div.dialog-body', null, body),
    footer ? h('footer.dialog-foot', null, footer) : null));
  if (!d.open) d.showModal();
}

function transferDialog(c) {
  loadOperators().then(() => {
    const others = state.operators.filter((o) => o.id !== (c.handoff && c.handoff.assignee));
    const body = others.length ? h('ul.pick-list', null, others.map((o) => h('li', null,
      h('button.pick', { type: 'button', dataset: { operator: o.id }, onclick: async () => {
        $('dialog').close();
        try {
          const res = await api('POST', '/conversations/' + c.id + '/transfer', { operator_id: o.id });
          onConversation(res.conversation);
          renderChatHead();
        } catch (err) { if (err.status !== 401) toast(err.message); }
      } },
      h('div.avatar.avatar-sm.' + hue(o.name), { text: initials(o.name) }),
      h('span.pick-name', { text: o.name }),
      h('span.dot.' + (o.status || 'offline')),
      h('span.muted', { text: t('status_' + (o.status || 'offline')) }))))) : h('p.muted', { text: t('no_colleagues') });
    openDialog(t('transfer_to'), visitorName(c), body);
  }).catch((err) => toast(err.message));
}

function cannedDialog(editing) {
  const rows = state.canned.map((c) => h('li.canned-row', null,
    h('span.shortcut', { text: '/' + c.shortcut }),
    h('span.canned-text', { text: c.text }),
    h('span.row-actions', null,
      h('button.btn.btn-ghost.btn-sm', { type: 'button', onclick: () => cannedDialog(c) }, t('edit')),
      h('button.btn.btn-ghost.btn-sm.danger', { type: 'button', onclick: async () => {
        await api('DELETE', '/canned/' + c.id).catch((err) => toast(err.message));
        await loadCanned();
        cannedDialog();
      } }, t('delete')))));
  const shortcut = h('input', { id: 'canned-shortcut', maxlength: '32', placeholder: 'thanks', value: editing ? editing.shortcut : '' });
  const text = h('textarea', { id: 'canned-text', rows: '3', maxlength: '4000' });
  text.value = editing ? editing.text : '';
  const error = h('p.form-error', { hidden: true });
  const save = h('button.btn.btn-primary', { type: 'button', id: 'canned-save', onclick: async () => {
    try {
      const body = { shortcut: shortcut.value, text: text.value };
      if (editing) await api('PUT', '/canned/' + editing.id, body);
      else await api('POST', '/canned', body);
      await loadCanned();
      cannedDialog();
    } catch (err) { error.hidden = false; error.textContent = err.message; }
  } }, editing ? t('save') : t('add'));
  const form = h('div.canned-form', null,
    h('label.field.field-short', null, h('span', { text: t('shortcut') }), h('div.prefixed', null, h('span', { text: '/' }), shortcut)),
    h('label.field', null, h('span', { text: t('text') }), text), error,
    h('div.form-actions', null, editing ? h('button.btn.btn-ghost', { type: 'button', onclick: () => cannedDialog() }, t('cancel')) : null, save));
  const list = rows.length ? h('ul.canned-list', null, rows) : h('p.muted.canned-none', { text: t('canned_empty') });
  openDialog(t('canned_title'), t('canned_sub'), [list, form]);
  (editing ? text : shortcut).focus();
}

async function teamDialog() {
  let list;
  try { list = (await api('GET', '/operators?all=1')).operators; } catch (err) { if (err.status !== 401) toast(err.message); return; }
  const rows = list.map((o) => h('li.team-row' + (o.disabled ? '.disabled' : ''), null,
    h('div.avatar.avatar-sm.' + hue(o.name), { text: initials(o.name) }),
    h('div.team-who', null, h('div.team-name', null, o.name, o.role === 'admin' ? h('span.tag.tag-soft', { text: t('role_admin') }) : null),
      h('div.muted.team-email', { text: o.email })),
    h('span.team-status', null, h('span.dot.' + (o.disabled ? 'offline' : o.status || 'offline')), h('span.muted', { text: o.disabled ? t('disabled') : t('status_' + (o.status || 'offline')) })),
    o.id === state.me.id ? h('span.team-you.muted', { text: t('you') }) : h('button.btn.btn-ghost.btn-sm' + (o.disabled ? '' : '.danger'), { type: 'button', onclick: async () => {
      try { await api('POST', '/operators/' + o.id + '/' + (o.disabled ? 'enable' : 'disable')); } catch (err) { toast(err.message); }
      teamDialog();
    } }, o.disabled ? t('enable') : t('disable'))));
  const name = h('input', { id: 'team-name', maxlength: '100', autocomplete: 'off' });
  const email = h('input', { id: 'team-email', type: 'email', autocomplete: 'off' });
  const password = h('input', { id: 'team-password', type: 'text', autocomplete: 'off', placeholder: t('password_rule') });
  const role = h('select', { id: 'team-role' }, h('option', { value: 'agent', text: t('role_agent') }), h('option', { value: 'admin', text: t('role_admin') }));
  const error = h('p.form-error', { hidden: true });
  const add = h('button.btn.btn-primary', { type: 'button', id: 'team-add', onclick: async () => {
    try {
      await api('POST', '/operators', { name: name.value.trim(), email: email.value.trim(), role: role.value, password: password.value });
      teamDialog();
    } catch (err) { error.hidden = false; error.textContent = err.message; }
  } }, t('add_colleague'));
  const form = h('div.canned-form', null,
    h('div.form-grid', null,
      h('label.field', null, h('span', { text: t('name') }), name),
      h('label.field', null, h('span', { text: t('email') }), email),
      h('label.field', null, h('span', { text: t('first_password') }), password),
      h('label.field', null, h('span', { text: t('role') }), role)),
    error, h('div.form-actions', null, add));
  openDialog(t('team_title'), t('team_sub'), [h('ul.team-list', null, rows), form]);
}

// gapsDialog lists the questions the bot could not answer, most asked
// first; answering one writes an FAQ entry the bot answers from.
async function gapsDialog() {
  let gaps;
  try { gaps = (await api('GET', '/kb/gaps')).gaps; } catch (err) { if (err.status !== 401) toast(err.message); return; }
  const rows = gaps.map((g) => h('li.gap-row', null,
    h('div.gap-what', null,
      h('div.gap-question', { text: g.question }),
      h('div.muted.gap-meta', { text: [t('gap_asked', { n: g.count }), lastAsked(g.last_seen),
        g.reasons && g.reasons.handoff ? t('gap_handoff', { n: g.reasons.handoff }) : ''].filter(Boolean).join(' · ') })),
    h('span.row-actions', null,
      h('button.btn.btn-primary.btn-sm', { type: 'button', onclick: () => answerGapDialog(g) }, t('answer_gap')),
      h('button.btn.btn-ghost.btn-sm', { type: 'button', onclick: async () => {
        try { await api('POST', '/kb/gaps/dismiss', { question: g.question }); } catch (err) { toast(err.message); }
        gapsDialog();
      } }, t('dismiss')))));
  const list = rows.length ? h('ul.gap-list', null, rows) : h('p.muted.canned-none', { text: t('gaps_empty') });
  openDialog(t('gaps_title'), t('gaps_sub'), list);
}

function lastAsked(iso) {
  const a = ago(iso);
  return a === t('just_now') ? t('gap_last_now') : t('gap_last', { t: a });
}

function answerGapDialog(g) {
  const question = h('input', { id: 'gap-question', maxlength: '500', value: g.question });
  const answer = h('textarea', { id: 'gap-answer', rows: '5', maxlength: '4000' });
  const error = h('p.form-error', { hidden: true });
  const save = h('button.btn.btn-primary', { type: 'button', id: 'gap-save', onclick: async () => {
    try {
      const res = await api('POST', '/kb/entries', { question: question.value, answer: answer.value, asked: g.question });
      const b = res.bot;
      toast(b ? t('gap_saved_' + b.outcome, { q: b.question, list: (b.choices || []).join(' / ') }) : t('gap_saved'));
      gapsDialog();
    } catch (err) { error.hidden = false; error.textContent = err.message; }
  } }, t('save_answer'));
  const form = h('div.canned-form.gap-form', null,
    h('div.gap-asked', null, h('span.muted', { text: t('gap_visitor_words') }), h('q', { text: g.question })),
    h('label.field', null, h('span', { text: t('gap_question') }), question),
    h('label.field', null, h('span', { text: t('gap_answer') }), answer, h('small.muted', { text: t('gap_answer_hint') })),
    error,
    h('div.form-actions', null, h('button.btn.btn-ghost', { type: 'button', onclick: () => gapsDialog() }, t('back')), save));
  openDialog(t('answer_gap'), null, form);
  answer.focus();
}

function toast(msg) {
  const el = h('div.toast', { role: 'status', text: msg });
  $('toasts').append(el);
  setTimeout(() => el.remove(), 5000);
}

// ---------- wiring ----------

function wire() {
  translate(document);
  fillIcons(document);
  $('auth-form').addEventListener('submit', submitAuth);
  for (const b of document.querySelectorAll('.nav-item[data-view]')) {
    b.addEventListener('click', () => { setView(b.dataset.view); if (window.innerWidth < 760) closeChat(); });
  }
  $('composer').addEventListener('submit', send);
  $('composer-text').addEventListener('input', onComposerInput);
  $('composer-text').addEventListener('keydown', onComposerKey);
  $('composer-text').addEventListener('blur', () => setTimeout(() => { if (document.activeElement !== $('composer-text')) hideCanned(); }, 150));
  $('mode-reply').addEventListener('click', () => { state.userChoseNote = false; setMode('reply'); $('composer-text').focus(); });
  $('mode-note').addEventListener('click', () => { state.userChoseNote = true; setMode('note'); $('composer-text').focus(); });
  $('back').addEventListener('click', closeChat);
  $('toggle-details').addEventListener('click', () => document.body.classList.toggle('details-open'));
  $('open-canned').addEventListener('click', () => cannedDialog());
  $('open-team').addEventListener('click', () => teamDialog());
  $('open-gaps').addEventListener('click', () => gapsDialog());
  $('logout').addEventListener('click', async () => {
    await api('POST', '/logout').catch(() => {});
    state.me = null;
    state.convs.clear();
    closeChat();
    showAuth('');
  });
  $('me-status').addEventListener('change', async (e) => {
    const status = e.target.value;
    $('me-dot').className = 'dot ' + status;
    await api('PUT', '/me/presence', { status }).catch((err) => toast(err.message));
  });
  $('enable-notify').addEventListener('click', async () => {
    unlockAudio();
    await Notification.requestPermission();
    $('enable-notify').hidden = Notification.permission !== 'default';
  });
  document.addEventListener('pointerdown', unlockAudio, { once: true });
  document.addEventListener('keydown', unlockAudio, { once: true });
}

async function boot() {
  wire();
  const m = /[#&]setup=([A-Za-z0-9_-]+)/.exec(location.hash);
  if (m) {
    setupToken = m[1];
    return showAuth('');
  }
  try {
    const res = await api('GET', '/me');
    await start(res.operator);
  } catch (err) {
    if (err.status === 401) showAuth('');
    else showAuth(t('error_generic'));
  }
}

boot();
