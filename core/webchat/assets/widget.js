/*
 * Switchboard web chat. A site embeds it with
 *
 *   <script src="https://chat.example.com/w/widget.js" async></script>
 *
 * and may set, before that tag, window.SwitchboardChat = {identifier,
 * identifier_hash, name, language} for a signed-in visitor. The daemon's
 * full-page chat (/w/) runs the same script with data-mode="page".
 *
 * Everything the server sends is shown with textContent: a message is text,
 * never markup.
 */
(() => {
  'use strict';
  const script = document.currentScript;
  if (!script || window.__switchboardChat) return;
  window.__switchboardChat = true;

  const BASE = script.src.replace(/\/widget\.js(?:[?#].*)?$/, '');
  const API = BASE + '/v1';
  const PAGE = script.dataset.mode === 'page';
  const opts = Object.assign({}, window.SwitchboardChat);

  // ---- Texts ---------------------------------------------------------
  const TEXTS = {
    en: {
      open: 'Open chat', minimize: 'Minimize chat', tagline: 'We usually reply right away',
      placeholder: 'Write a message…', send: 'Send', human: 'Talk to a person',
      welcome: 'Hi there! 👋 Ask us anything. Our assistant answers right away, and a person is one click away.',
      bot: 'Assistant', agent: 'Support', you: 'You',
      stateBot: 'AI assistant', stateBotSub: 'Answers right away',
      stateWaiting: 'Waiting for a person',
      position: (n) => (n === 1 ? "You're next in line" : "You're number " + n + ' in line'),
      wait: (m) => 'about ' + m + (m === 1 ? ' minute' : ' minutes'),
      stateHuman: (n) => (n ? n + ' is here to help' : 'A person is here to help'),
      stateClosed: 'Conversation ended · write to start again',
      thinking: 'Assistant is thinking…', typing: (n) => (n || 'Support') + ' is typing…',
      rateTitle: (n) => (n ? 'How was your chat with ' + n + '?' : 'How was your chat?'),
      rateHint: 'Your rating helps us improve.', rateComment: 'Anything to add? (optional)',
      rateSend: 'Send feedback', rateThanks: 'Thanks for your feedback!',
      stars: (n) => n + (n === 1 ? ' star' : ' stars'),
      reconnecting: 'Connection lost. Reconnecting…', sending: 'Sending…', retry: 'Not sent. Tap to retry.',
      tooLong: (n, max) => 'This message is too long (' + n + ' of ' + max + ' characters).',
      tooFast: 'You are sending messages quickly. Please wait a moment.',
      failed: 'Something went wrong. Please try again.', counter: (n, max) => n + ' / ' + max,
    },
    zh: {
      open: '打开聊天', minimize: '收起聊天', tagline: '我们通常会立即回复',
      placeholder: '输入消息…', send: '发送', human: '转人工客服',
      welcome: '您好！👋 有什么可以帮您？智能助手会立即回复，也可以随时转人工客服。',
      bot: '智能助手', agent: '客服', you: '我',
      stateBot: '智能助手', stateBotSub: '即时回复',
      stateWaiting: '正在为您转接人工客服',
      position: (n) => (n === 1 ? '您是下一位' : '您前面还有 ' + (n - 1) + ' 位'),
      wait: (m) => '预计等待约 ' + m + ' 分钟',
      stateHuman: (n) => (n ? n + ' 正在为您服务' : '人工客服正在为您服务'),
      stateClosed: '会话已结束 · 发送消息即可重新开始',
      thinking: '智能助手正在思考…', typing: (n) => (n || '客服') + ' 正在输入…',
      rateTitle: (n) => (n ? '您对 ' + n + ' 的服务满意吗？' : '您对本次服务满意吗？'),
      rateHint: '您的评价将帮助我们改进服务。', rateComment: '还有什么想说的？（选填）',
      rateSend: '提交评价', rateThanks: '感谢您的评价！',
      stars: (n) => n + ' 星',
      reconnecting: '连接已断开，正在重新连接…', sending: '发送中…', retry: '发送失败，点击重试。',
      tooLong: (n, max) => '消息过长（' + n + ' / ' + max + ' 字）。',
      tooFast: '发送太频繁，请稍候再试。',
      failed: '出错了，请重试。', counter: (n, max) => n + ' / ' + max,
    },
  };
  const LANG = pickLanguage([opts.language, script.dataset.lang].concat(Array.from(navigator.languages || [navigator.language])));
  const T = TEXTS[LANG];

  function pickLanguage(prefs) {
    for (const p of prefs) {
      if (!p) continue;
      const l = String(p).toLowerCase();
      if (l.startsWith('zh')) return 'zh';
      if (l.startsWith('en')) return 'en';
    }
    return 'en';
  }

  // ---- DOM helpers ---------------------------------------------------
  function h(tag, props, ...kids) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(props || {})) {
      if (v == null || v === false) continue;
      if (k === 'class') el.className = v;
      else if (k === 'text') el.textContent = v;
      else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? '' : v);
    }
    for (const kid of kids) if (kid != null) el.append(kid);
    return el;
  }

  const SVG = 'http://www.w3.org/2000/svg';
  const ICONS = {
    chat: ['M5 4.5h14a2 2 0 0 1 2 2v9a2 2 0 0 1-2 2h-7.5L7 21v-3.5H5a2 2 0 0 1-2-2v-9a2 2 0 0 1 2-2z'],
    close: ['M6.5 6.5l11 11M17.5 6.5l-11 11'],
    down: ['M6 9.5l6 6 6-6'],
    send: ['M4 11.6L20.5 4l-6.6 16.4-2.6-6.2z', 'M20.5 4L11.3 14.2'],
    person: ['M12 4a3.8 3.8 0 1 1 0 7.6A3.8 3.8 0 0 1 12 4z', 'M4.5 20.5c.6-3.6 3.6-5.6 7.5-5.6s6.9 2 7.5 5.6'],
    spark: ['M12 3.5l1.9 5 5 1.9-5 1.9-1.9 5-1.9-5-5-1.9 5-1.9z', 'M18.5 15.5l.8 2 2 .8-2 .8-.8 2-.8-2-2-.8 2-.8z'],
    clock: ['M12 3.5a8.5 8.5 0 1 1 0 17 8.5 8.5 0 0 1 0-17z', 'M12 7.5V12l3 2'],
    check: ['M5 12.5l4.5 4.5L19 7.5'],
    star: ['M12 3.2l2.7 5.5 6 .9-4.4 4.2 1 6-5.3-2.8-5.4 2.8 1-6L3.3 9.6l6-.9z'],
    alert: ['M12 3.5a8.5 8.5 0 1 1 0 17 8.5 8.5 0 0 1 0-17z', 'M12 7.5v5.5', 'M12 16.2v.3'],
  };
  function icon(name, cls) {
    const s = document.createElementNS(SVG, 'svg');
    s.setAttribute('viewBox', '0 0 24 24');
    s.setAttribute('aria-hidden', 'true');
    s.setAttribute('class', 'sb-icon' + (cls ? ' ' + cls : ''));
    for (const d of ICONS[name]) {
      const p = document.createElementNS(SVG, 'path');
      p.setAttribute('d', d);
      s.append(p);
    }
    return s;
  }

  // Text with its http(s) links made clickable; both stay text.
  function linkify(text) {
    const frag = document.createDocumentFragment();
    const re = /\bhttps?:\/\/[^\s<>"']+[^\s<>"'.,;:!?)\]}。，！？）]/g;
    let at = 0;
    for (const m of text.matchAll(re)) {
      frag.append(text.slice(at, m.index));
      frag.append(h('a', { href: m[0], target: '_blank', rel: 'noopener noreferrer nofollow', text: m[0] }));
      at = m.index + m[0].length;
    }
    frag.append(text.slice(at));
    return frag;
  }

  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const uid = () => (crypto.randomUUID ? crypto.randomUUID() : Date.now().toString(36) + Math.random().toString(36).slice(2));
  const storage = {
    key: 'switchboard-chat:' + BASE + (opts.identifier ? ':' + opts.identifier : ''),
    get(store, k) { try { return window[store].getItem(k); } catch (e) { return null; } },
    set(store, k, v) { try { v == null ? window[store].removeItem(k) : window[store].setItem(k, v); } catch (e) { /* private mode */ } },
  };

  // ---- State ---------------------------------------------------------
  let config = { title: document.title || 'Chat', color: '#4f46e5', max_message_chars: 4000 };
  let token = storage.get('localStorage', storage.key);
  let sessionReady = null;
  let lastSeq = 0;
  const seen = new Set();
  const pending = new Map(); // client_id → row
  let view = { state: 'bot', operator: '', can_rate: false };
  let isOpen = PAGE;
  let unread = 0;
  let streaming = false;
  let streamAbort = null;
  let typingTimer = 0;
  let typingSentAt = 0;
  let rating = null;
  let shiftDown = false;
  let caughtUp = false; // the stream has replayed the transcript once

  // ---- Building the window ---------------------------------------------
  const ui = {};
  function build(root) {
    ui.root = h('div', { class: 'sb-root ' + (PAGE ? 'sb-mode-page' : 'sb-mode-embed'), lang: LANG === 'zh' ? 'zh-CN' : 'en' });
    ui.title = h('h1', { class: 'sb-title', text: config.title });
    ui.bannerIcon = h('span', { class: 'sb-banner-icon' });
    ui.bannerText = h('span', { class: 'sb-banner-text' });
    ui.bannerSub = h('span', { class: 'sb-banner-sub' });
    ui.human = h('button', { type: 'button', class: 'sb-human', onclick: askForHuman }, icon('person'), h('span', { text: T.human }));
    ui.banner = h('div', { class: 'sb-banner', role: 'status' }, ui.bannerIcon,
      h('span', { class: 'sb-banner-body' }, ui.bannerText, ui.bannerSub), ui.human);
    ui.conn = h('div', { class: 'sb-conn', role: 'alert', hidden: true }, h('span', { class: 'sb-spinner' }), h('span', { text: T.reconnecting }));
    ui.typingText = h('span', { class: 'sb-typing-text' });
    ui.typing = h('div', { class: 'sb-typing', hidden: true, 'aria-live': 'polite' },
      h('span', { class: 'sb-dots' }, h('i'), h('i'), h('i')), ui.typingText);
    ui.list = h('div', { class: 'sb-messages', role: 'log', 'aria-live': 'polite' },
      row({ role: 'bot', text: T.welcome, welcome: true }), ui.typing);
    ui.input = h('textarea', { class: 'sb-input', rows: '1', placeholder: T.placeholder, 'aria-label': T.placeholder, enterkeyhint: 'send' });
    ui.send = h('button', { type: 'submit', class: 'sb-send', 'aria-label': T.send, title: T.send, disabled: true }, icon('send'));
    ui.counter = h('span', { class: 'sb-counter', hidden: true });
    ui.error = h('p', { class: 'sb-error', role: 'alert', hidden: true });
    ui.form = h('form', { class: 'sb-composer', onsubmit: onSubmit }, ui.input, ui.send);
    const header = h('header', { class: 'sb-header' },
      h('span', { class: 'sb-avatar sb-avatar-lg' }, icon('spark')),
      h('div', { class: 'sb-heading' }, ui.title, h('p', { class: 'sb-tagline', text: T.tagline })),
      PAGE ? null : h('button', { type: 'button', class: 'sb-minimize', 'aria-label': T.minimize, title: T.minimize, onclick: () => setOpen(false) }, icon('down')));
    ui.panel = h('section', { class: 'sb-panel', role: 'dialog', 'aria-label': config.title, hidden: !isOpen },
      header, ui.banner, ui.conn, ui.list, h('div', { class: 'sb-footer' }, ui.error, ui.counter, ui.form));
    ui.root.append(ui.panel);
    if (!PAGE) {
      ui.badge = h('span', { class: 'sb-badge', hidden: true });
      ui.launcher = h('button', { type: 'button', class: 'sb-launcher', 'aria-label': T.open, title: T.open, 'aria-expanded': 'false', onclick: () => setOpen(!isOpen) },
        icon('chat', 'sb-when-closed'), icon('close', 'sb-when-open'), ui.badge);
      ui.root.append(ui.launcher);
    }
    ui.input.addEventListener('keydown', (e) => {
      shiftDown = e.shiftKey;
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
        e.preventDefault();
        onSubmit(e);
      }
    });
    // Enter sends; the line break it would type is not wanted either.
    ui.input.addEventListener('beforeinput', (e) => {
      if (e.inputType === 'insertLineBreak' && !shiftDown) e.preventDefault();
    });
    ui.input.addEventListener('keyup', (e) => { shiftDown = e.shiftKey; });
    ui.input.addEventListener('input', onInput);
    ui.root.addEventListener('keydown', (e) => { if (e.key === 'Escape' && !PAGE && isOpen) setOpen(false); });
    applyConfig();
    renderState();
    root.append(ui.root);
  }

  function applyConfig() {
    ui.title.textContent = config.title;
    ui.panel.setAttribute('aria-label', config.title);
    if (PAGE) document.title = config.title;
    const c = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.test(config.color) ? config.color : '#4f46e5';
    ui.root.style.setProperty('--sb-accent', c);
    ui.root.style.setProperty('--sb-on-accent', luminance(c) > 0.6 ? '#111827' : '#ffffff');
  }

  function luminance(hex) {
    let x = hex.slice(1);
    if (x.length === 3) x = x.replace(/./g, '$&$&');
    const [r, g, b] = [0, 2, 4].map((i) => {
      const v = parseInt(x.slice(i, i + 2), 16) / 255;
      return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  }

  // ---- Messages --------------------------------------------------------
  function who(m) { return m.role + ':' + (m.author || ''); }

  function row(m) {
    if (m.role === 'system') {
      return h('div', { class: 'sb-row sb-system', 'data-who': who(m) }, h('span', { class: 'sb-system-text', text: m.text }));
    }
    const mine = m.role === 'visitor';
    const bubble = h('div', { class: 'sb-bubble' });
    bubble.append(mine ? document.createTextNode(m.text) : linkify(m.text));
    const meta = h('div', { class: 'sb-meta' });
    if (m.created_at) meta.append(timeOf(m.created_at));
    const el = h('div', { class: 'sb-row sb-' + m.role + (m.welcome ? ' sb-welcome' : ''), 'data-who': who(m) });
    if (m.created_at) bubble.title = new Date(m.created_at).toLocaleString(LANG === 'zh' ? 'zh-CN' : undefined);
    if (mine) {
      el.append(h('div', { class: 'sb-col' }, bubble, meta));
    } else {
      const name = m.role === 'operator' ? m.author || T.agent : T.bot;
      const avatar = h('span', { class: 'sb-avatar', 'aria-hidden': 'true' });
      if (m.role === 'operator') avatar.textContent = initials(name);
      else avatar.append(icon('spark'));
      el.append(avatar, h('div', { class: 'sb-col' }, h('div', { class: 'sb-author', text: name }), bubble, meta));
    }
    el.meta = meta;
    return el;
  }

  function timeOf(at) {
    const d = new Date(at);
    return h('span', { class: 'sb-time', text: d.toLocaleTimeString(LANG === 'zh' ? 'zh-CN' : undefined, { hour: 'numeric', minute: '2-digit' }) });
  }

  function initials(name) {
    const parts = String(name).trim().split(/\s+/).filter(Boolean);
    if (!parts.length) return '?';
    const first = Array.from(parts[0])[0];
    return (parts.length > 1 ? first + Array.from(parts[parts.length - 1])[0] : first).toUpperCase();
  }

  // insert puts a row after the last stored one: the visitor's lines that
  // are still on their way stay at the end.
  function insert(el) {
    const nearEnd = ui.list.scrollHeight - ui.list.scrollTop - ui.list.clientHeight < 120;
    let before = ui.typing;
    for (const r of pending.values()) { if (r !== el && r.isConnected) { before = r; break; } }
    ui.list.insertBefore(el, before);
    const prev = el.previousElementSibling;
    el.classList.toggle('sb-cont', !!prev && prev.dataset.who === el.dataset.who && !prev.classList.contains('sb-rate'));
    if (nearEnd || el.classList.contains('sb-visitor')) scrollToEnd();
  }

  function scrollToEnd() { ui.list.scrollTop = ui.list.scrollHeight; }

  function onMessage(m) {
    if (seen.has(m.seq)) return;
    seen.add(m.seq);
    lastSeq = Math.max(lastSeq, m.seq);
    const mine = m.role === 'visitor' && m.client_id && pending.get(m.client_id);
    if (mine) {
      pending.delete(m.client_id);
      mine.classList.remove('sb-pending', 'sb-failed');
      mine.meta.replaceChildren(timeOf(m.created_at));
      insert(mine);
      return;
    }
    insert(row(m));
    if (m.role !== 'visitor') {
      hideTyping();
      if (!isOpen && caughtUp) setUnread(unread + 1);
    }
  }

  // ---- Sending ---------------------------------------------------------
  function onInput() {
    ui.input.style.height = 'auto';
    ui.input.style.height = Math.min(ui.input.scrollHeight, 132) + 'px';
    const n = Array.from(ui.input.value.trim()).length;
    const max = config.max_message_chars;
    ui.send.disabled = n === 0 || n > max;
    ui.counter.hidden = n < max * 0.8;
    ui.counter.textContent = T.counter(n, max);
    ui.counter.classList.toggle('sb-over', n > max);
    if (n > max) showError(T.tooLong(n, max), 'length');
    else if (ui.error.dataset.kind === 'length') showError('');
    // Tell the operators, at most every few seconds.
    if (token && n > 0 && Date.now() - typingSentAt > 3000) {
      typingSentAt = Date.now();
      call('POST', '/typing', { typing: true }).catch(() => {});
    } else if (token && n === 0 && typingSentAt) {
      typingSentAt = 0;
      call('POST', '/typing', { typing: false }).catch(() => {});
    }
  }

  function onSubmit(e) {
    e.preventDefault();
    const text = ui.input.value.trim();
    const n = Array.from(text).length;
    if (!n) return;
    if (n > config.max_message_chars) { showError(T.tooLong(n, config.max_message_chars), 'length'); return; }
    ui.input.value = '';
    onInput();
    typingSentAt = 0;
    const item = { cid: uid(), text };
    const el = row({ role: 'visitor', text });
    el.classList.add('sb-pending');
    el.meta.textContent = T.sending;
    item.el = el;
    pending.set(item.cid, el);
    insert(el);
    deliver(item);
  }

  // deliver sends a line until the server has it; retries keep the
  // client_id, so the server stores it once.
  async function deliver(item) {
    const { el } = item;
    el.classList.remove('sb-failed');
    el.meta.textContent = T.sending;
    for (let attempt = 0; ; attempt++) {
      let res;
      try {
        await ensureSession();
        res = await call('POST', '/messages', { client_id: item.cid, text: item.text });
      } catch (err) {
        if (attempt < 5) { await sleep(Math.min(8000, 600 * 2 ** attempt)); continue; }
        return failed(item, T.retry);
      }
      if (res.ok) {
        // Stored; the stream confirms it in its place in the transcript
        // (unless it already has).
        if (pending.get(item.cid) === el) {
          el.classList.remove('sb-pending');
          el.meta.textContent = '';
        }
        showError('');
        return;
      }
      if (res.status === 429) {
        showError(T.tooFast);
        await sleep(1000 * (Number(res.headers.get('Retry-After')) || 2));
        continue;
      }
      if (res.status === 401 && attempt < 2) { await renewSession(); continue; }
      const body = await res.json().catch(() => ({}));
      const code = body.error && body.error.code;
      return failed(item, code === 'too_long' ? T.tooLong(Array.from(item.text).length, config.max_message_chars) : T.retry);
    }
  }

  function failed(item, why) {
    const { el } = item;
    el.classList.add('sb-failed');
    el.meta.textContent = '';
    el.meta.append(h('button', { type: 'button', class: 'sb-retry', text: why, onclick: () => deliver(item) }));
  }

  function showError(text, kind) {
    ui.error.textContent = text;
    ui.error.hidden = !text;
    ui.error.dataset.kind = text ? kind || '' : '';
  }

  async function askForHuman() {
    ui.human.disabled = true;
    try {
      await ensureSession();
      const res = await call('POST', '/handoff', {});
      if (res.ok) setView(await res.json());
      else showError(T.failed);
    } catch (e) {
      showError(T.failed);
    } finally {
      ui.human.disabled = false;
    }
  }

  // ---- State, typing, rating -----------------------------------------
  function setView(v) {
    // The place in line and the wait belong to a wait: a view that does
    // not know them yet (just handed off) keeps the last ones known.
    view = Object.assign({}, view, v.state && v.state !== 'waiting_human' ? { position: 0, wait_minutes: 0 } : {}, v);
    renderState();
  }

  function renderState() {
    const s = view.state;
    const parts = {
      bot: ['spark', T.stateBot, T.stateBotSub],
      waiting_human: ['clock', T.stateWaiting, [view.position ? T.position(view.position) : '', view.wait_minutes ? T.wait(view.wait_minutes) : ''].filter(Boolean).join(' · ')],
      human: ['person', T.stateHuman(view.operator), ''],
      closed: ['check', T.stateClosed, ''],
    }[s] || ['spark', T.stateBot, T.stateBotSub];
    ui.banner.dataset.state = s;
    ui.bannerIcon.replaceChildren(icon(parts[0]));
    ui.bannerText.textContent = parts[1];
    ui.bannerSub.textContent = parts[2];
    ui.bannerSub.hidden = !parts[2];
    ui.human.hidden = s === 'waiting_human' || s === 'human';
    if (ui.human.hidden && rating && rating.done) rating = null; // a new handoff: rated afresh
    if (view.can_rate && !rating) showRating(view.operator);
    // Rated elsewhere (another tab), or a new chat: the question goes. Not
    // while this card's answer is on its way: the server says "rated" first.
    if (!view.can_rate && rating && !rating.done && !rating.sending) { rating.el.remove(); rating = null; }
  }

  function showTyping(v) {
    clearTimeout(typingTimer);
    if (!v.typing) { typingTimer = setTimeout(hideTyping, 400); return; }
    ui.typingText.textContent = v.from === 'bot' ? T.thinking : T.typing(v.name);
    const nearEnd = ui.list.scrollHeight - ui.list.scrollTop - ui.list.clientHeight < 120;
    ui.typing.hidden = false;
    if (nearEnd) scrollToEnd();
    // Renewed every few seconds while it lasts.
    typingTimer = setTimeout(hideTyping, 8000);
  }

  function hideTyping() {
    clearTimeout(typingTimer);
    ui.typing.hidden = true;
  }

  function showRating(operator) {
    let score = 0;
    const stars = [1, 2, 3, 4, 5].map((n) => h('button', {
      type: 'button', class: 'sb-star', role: 'radio', 'aria-checked': 'false', 'aria-label': T.stars(n), title: T.stars(n),
      'data-score': String(n), onclick: () => pick(n),
    }, icon('star')));
    const comment = h('textarea', { class: 'sb-rate-comment', rows: '2', maxlength: '1000', placeholder: T.rateComment, 'aria-label': T.rateComment, hidden: true });
    const submit = h('button', { type: 'button', class: 'sb-rate-send', disabled: true, text: T.rateSend, onclick: send });
    const el = h('div', { class: 'sb-rate' },
      h('p', { class: 'sb-rate-title', text: T.rateTitle(operator) }),
      h('p', { class: 'sb-rate-hint', text: T.rateHint }),
      h('div', { class: 'sb-stars', role: 'radiogroup', 'aria-label': T.rateTitle(operator) }, ...stars),
      comment, submit);
    rating = { el, done: false };
    ui.list.insertBefore(el, ui.typing);
    scrollToEnd();

    function pick(n) {
      score = n;
      stars.forEach((s, i) => { s.classList.toggle('sb-on', i < n); s.setAttribute('aria-checked', String(i + 1 === n)); });
      comment.hidden = false;
      submit.disabled = false;
      scrollToEnd();
    }
    async function send() {
      submit.disabled = true;
      rating.sending = true;
      try {
        const res = await call('POST', '/rating', { score, comment: comment.value.trim() });
        if (!res.ok && res.status !== 409) throw new Error('rating ' + res.status);
        rating.done = true;
        el.classList.add('sb-rated');
        el.replaceChildren(h('p', { class: 'sb-rate-title', text: T.rateThanks }),
          h('div', { class: 'sb-stars sb-stars-done', 'aria-label': T.stars(score) },
            ...[1, 2, 3, 4, 5].map((n) => h('span', { class: 'sb-star' + (n <= score ? ' sb-on' : '') }, icon('star')))));
      } catch (e) {
        submit.disabled = false;
        showError(T.failed);
      } finally {
        rating.sending = false;
      }
    }
  }

  // ---- Talking to the server -------------------------------------------
  function call(method, path, body) {
    const headers = { Authorization: 'Bearer ' + token };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    return fetch(API + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store' });
  }

  // ensureSession starts the chat once (resuming the stored one), retrying
  // while the server cannot be reached, and starts the event stream.
  function ensureSession() {
    if (!sessionReady) {
      sessionReady = openSession();
      sessionReady.catch(() => { sessionReady = null; });
    }
    return sessionReady;
  }

  async function openSession() {
    for (let attempt = 0; ; attempt++) {
      const body = {};
      if (token) body.visitor_token = token;
      if (opts.identifier) { body.identifier = String(opts.identifier); body.identifier_hash = String(opts.identifier_hash || ''); }
      if (opts.name) body.name = String(opts.name);
      let res;
      try {
        res = await fetch(API + '/session', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body), cache: 'no-store' });
      } catch (e) {
        setConnected(false);
        await sleep(Math.min(10000, 500 * 2 ** attempt));
        continue;
      }
      if (res.status === 401 && token) { forget(); continue; }
      if (res.status === 429 || res.status >= 500) { await sleep(Math.min(10000, 1000 * 2 ** attempt)); continue; }
      if (!res.ok) throw new Error('session: ' + res.status);
      const s = await res.json();
      if (s.visitor_token !== token) {
        if (token) forget();
        token = s.visitor_token;
        storage.set('localStorage', storage.key, token);
      }
      setView({ state: s.state });
      stream();
      return s;
    }
  }

  // forget drops a token the server no longer knows and what it showed.
  function forget() {
    token = null;
    storage.set('localStorage', storage.key, null);
    lastSeq = 0;
    seen.clear();
    for (const el of ui.list.querySelectorAll('.sb-row:not(.sb-welcome):not(.sb-pending), .sb-rate')) el.remove();
    rating = null;
    if (streamAbort) streamAbort();
  }

  async function renewSession() {
    forget();
    sessionReady = null;
    await ensureSession();
  }

  function setConnected(ok) {
    clearTimeout(setConnected.timer);
    if (ok) { ui.conn.hidden = true; return; }
    // A short blip is not worth a banner.
    setConnected.timer = setTimeout(() => { ui.conn.hidden = false; }, 1500);
  }

  // stream reads the event stream, reconnecting with Last-Event-ID after
  // any break, so no message is missed or shown twice.
  async function stream() {
    if (streaming) return;
    streaming = true;
    let backoff = 500;
    while (token) {
      const ctrl = new AbortController();
      let idle = 0;
      const stop = () => ctrl.abort();
      streamAbort = stop;
      try {
        const res = await fetch(API + '/events', {
          headers: { Authorization: 'Bearer ' + token, 'Last-Event-ID': String(lastSeq), Accept: 'text/event-stream' },
          cache: 'no-store', signal: ctrl.signal,
        });
        if (res.status === 401) { streaming = false; renewSession().catch(() => {}); return; }
        if (!res.ok || !res.body) throw new Error('events: ' + res.status);
        setConnected(true);
        backoff = 500;
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buf = '';
        for (;;) {
          clearTimeout(idle);
          idle = setTimeout(stop, 70000); // the server pings every 25 s
          const { value, done } = await reader.read();
          if (done) break;
          buf += value;
          let cut;
          while ((cut = buf.indexOf('\n\n')) >= 0) {
            dispatch(buf.slice(0, cut));
            buf = buf.slice(cut + 2);
          }
        }
      } catch (e) {
        // dropped, refused or aborted: reconnect below
      }
      clearTimeout(idle);
      if (!token) break;
      setConnected(false);
      await sleep(backoff + Math.random() * 300);
      backoff = Math.min(backoff * 2, 8000);
    }
    streaming = false;
  }

  function dispatch(block) {
    let type = 'message';
    let data = '';
    for (const line of block.split('\n')) {
      if (line.startsWith('event:')) type = line.slice(6).trim();
      else if (line.startsWith('data:')) data += line.slice(5).trim();
    }
    if (!data) return;
    let v;
    try { v = JSON.parse(data); } catch (e) { return; }
    if (type === 'message') onMessage(v);
    else if (type === 'state') {
      caughtUp = true;
      ui.root.classList.add('sb-synced');
      setView(v);
    }
    else if (type === 'typing') showTyping(v);
  }

  // ---- Opening and closing -------------------------------------------
  function setOpen(open) {
    isOpen = open;
    ui.panel.hidden = !open;
    ui.root.classList.toggle('sb-open', open);
    if (!PAGE) {
      ui.launcher.setAttribute('aria-expanded', String(open));
      ui.launcher.setAttribute('aria-label', open ? T.minimize : T.open);
      storage.set('sessionStorage', storage.key + ':open', open ? '1' : null);
    }
    if (open) {
      setUnread(0);
      ensureSession().catch(() => showError(T.failed));
      scrollToEnd();
      if (!matchMedia('(pointer: coarse)').matches) ui.input.focus();
    }
  }

  function setUnread(n) {
    unread = n;
    if (!ui.badge) return;
    ui.badge.textContent = n > 9 ? '9+' : String(n);
    ui.badge.hidden = n === 0;
  }

  async function start() {
    try {
      const res = await fetch(API + '/config', { cache: 'no-cache' });
      if (res.status === 403) {
        console.warn('Switchboard chat: this site is not in webchat.allowed_origins of ' + BASE);
        return;
      }
      if (res.ok) config = Object.assign(config, await res.json());
    } catch (e) { /* the defaults will do until the server answers */ }
    let mount = document.body;
    if (!PAGE) {
      const host = h('div', { id: 'switchboard-chat' });
      document.body.append(host);
      mount = host.attachShadow({ mode: 'open' });
      const css = h('link', { rel: 'stylesheet', href: BASE + '/widget.css' });
      mount.append(css);
      await new Promise((r) => { css.onload = r; css.onerror = r; });
    }
    build(mount);
    window.SwitchboardChat = Object.assign(window.SwitchboardChat || {}, {
      open: () => setOpen(true), close: () => setOpen(false), toggle: () => setOpen(!isOpen),
    });
    if (PAGE || storage.get('sessionStorage', storage.key + ':open')) setOpen(true);
    else if (token) ensureSession().catch(() => {}); // to count what arrives while closed
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
