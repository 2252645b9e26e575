/*!
 * ZAX web chat widget: a dependency-free chat panel for a Rasa bot (REST channel).
 *
 * Embed with one tag:
 *   <script src="https://bot.example/widget.js" data-bot-url="https://bot.example:5005" defer></script>
 *
 * Everything lives in a shadow root on one <zax-chat> element, so the host page's styles and
 * scripts are untouched; the only global is window.ZaxWidget. Text from the user or the bot is
 * only ever inserted with textContent / createElement, never parsed as HTML.
 *
 * Optional data attributes on the script tag:
 *   data-bot-url      Rasa server address (required), e.g. https://bot.example:5005
 *   data-css-url      stylesheet to load (default: widget.css next to this script, or the
 *                     href of a <link rel="stylesheet"> on the page whose name is widget.css)
 *   data-title        bot name shown in the header (default "ZAX")
 *   data-subtitle     line under the title
 *   data-timeout-ms   how long to wait for an answer (default 20000)
 *   data-probe-ms     health-probe interval while the server is unreachable (default 5000)
 *   data-max-length   longest message a user may send (default 1000)
 *   data-open         "true" to open the panel on first visit
 *   data-idle-minutes forget the conversation kept in this browser after this many minutes
 *                     without use (default 30): a shared computer does not show it to the next
 *                     person. TPIN-like digit runs are masked in what is kept; "Start over"
 *                     removes it at once.
 */
(function () {
  'use strict';

  if (window.ZaxWidget && window.ZaxWidget.started) {
    return; // embedded twice: keep the first instance
  }

  var VERSION = '1.0.0';
  var MAX_STORED_MESSAGES = 60;
  var MAX_STORED_CHARS = 120000;
  var MAX_RENDERED_TEXT = 8000;
  var SVG_NS = 'http://www.w3.org/2000/svg';

  var script = document.currentScript || document.querySelector('script[data-bot-url]');
  var data = (script && script.dataset) || {};

  function intAttr(value, fallback, min, max) {
    var n = parseInt(value, 10);
    if (!isFinite(n)) return fallback;
    return Math.min(max, Math.max(min, n));
  }

  function trimSlash(url) {
    return String(url || '').replace(/\/+$/, '');
  }

  function scriptBase() {
    try {
      return new URL('.', script && script.src ? script.src : location.href).href;
    } catch (e) {
      return location.href;
    }
  }

  function defaultCssUrl() {
    if (data.cssUrl) return new URL(data.cssUrl, location.href).href;
    var links = document.querySelectorAll('link[rel~="stylesheet"][href]');
    for (var i = 0; i < links.length; i++) {
      if (/(^|\/)widget\.css(\?|#|$)/.test(links[i].getAttribute('href'))) return links[i].href;
    }
    return new URL('widget.css', scriptBase()).href;
  }

  var config = {
    botUrl: trimSlash(data.botUrl || ''),
    cssUrl: defaultCssUrl(),
    title: data.title || 'ZAX',
    subtitle: data.subtitle || 'Customs assistant \u00b7 ZRA (sample)',
    timeoutMs: intAttr(data.timeoutMs, 20000, 1000, 120000),
    probeMs: intAttr(data.probeMs, 5000, 500, 600000),
    maxLength: intAttr(data.maxLength, 1000, 1, 10000),
    openOnStart: data.open === 'true',
    idleMs: intAttr(data.idleMinutes, 30, 1, 24 * 60) * 60000,
    notifyMs: intAttr(data.notifyMs, 20000, 500, 3600000)
  };

  if (!config.botUrl) {
    config.botUrl = trimSlash(location.origin);
    if (window.console) console.warn('ZAX widget: no data-bot-url on the script tag; using ' + config.botUrl);
  }
  var webhookUrl = config.botUrl + '/webhooks/rest/webhook';
  var storeKey = 'zax-widget:v1:' + config.botUrl;

  /* ------------------------------------------------------------------ helpers */

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (key) {
        var value = attrs[key];
        if (value === null || value === undefined || value === false) return;
        if (key === 'class') node.className = value;
        else if (key === 'text') node.textContent = value;
        else if (key.indexOf('on') === 0) node.addEventListener(key.slice(2), value);
        else node.setAttribute(key, value === true ? '' : String(value));
      });
    }
    (children || []).forEach(function (child) {
      if (child) node.appendChild(typeof child === 'string' ? document.createTextNode(child) : child);
    });
    return node;
  }

  /** Small inline icon; paths are constants of this file, never data. */
  function icon(pathData, size) {
    var svg = document.createElementNS(SVG_NS, 'svg');
    svg.setAttribute('viewBox', '0 0 24 24');
    svg.setAttribute('width', String(size || 24));
    svg.setAttribute('height', String(size || 24));
    svg.setAttribute('aria-hidden', 'true');
    svg.setAttribute('focusable', 'false');
    var path = document.createElementNS(SVG_NS, 'path');
    path.setAttribute('d', pathData);
    path.setAttribute('fill', 'currentColor');
    svg.appendChild(path);
    return svg;
  }

  var ICON_CHAT = 'M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H8.4L4 21.6V18H4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2zm3 6.5a1.5 1.5 0 1 0 0 .01zm5 0a1.5 1.5 0 1 0 0 .01zm5 0a1.5 1.5 0 1 0 0 .01z';
  var ICON_CLOSE = 'M6.4 5 12 10.6 17.6 5 19 6.4 13.4 12l5.6 5.6-1.4 1.4-5.6-5.6L6.4 19 5 17.6 10.6 12 5 6.4z';
  var ICON_SEND = 'M3 20.5V14l9-2-9-2V3.5L22 12z';
  var ICON_RESTART = 'M12 5V2L7.5 6.5 12 11V7a5 5 0 1 1-5 5H5a7 7 0 1 0 7-7z';

  /** 'web-' and 128 random bits as 32 hex digits: the form the server trusts with status
   *  notifications (bot/channels/identity.py is_widget_sender). */
  function newSenderId() {
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return 'web-' + Array.prototype.map.call(bytes, function (b) {
      return ('0' + b.toString(16)).slice(-2);
    }).join('');
  }

  /** Returns an absolute http(s) URL or null: no javascript:, data:, relative or odd schemes. */
  function safeUrl(href) {
    try {
      var url = new URL(String(href));
      return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : null;
    } catch (e) {
      return null;
    }
  }

  /* ---------------------------------------------------- safe rich-text rendering */

  var BOLD_RE = /\*\*(?=\S)([\s\S]*?\S)\*\*/g;
  var LINK_RE = /\[([^\]\n]{1,300})\]\(([^()\s]{1,2000})\)|\bhttps?:\/\/[^\s<>"'`]+/gi;
  var BULLET_RE = /^\s*[-*\u2022]\s+(.*)$/;

  function appendLink(parent, label, href) {
    var a = el('a', { href: href, target: '_blank', rel: 'noopener noreferrer', class: 'zax-link' });
    a.textContent = label;
    a.appendChild(el('span', { class: 'zax-sr', text: ' (opens in a new tab)' }));
    parent.appendChild(a);
  }

  function linkify(parent, text) {
    var last = 0;
    var match;
    LINK_RE.lastIndex = 0;
    while ((match = LINK_RE.exec(text)) !== null) {
      var label;
      var href;
      var end = match.index + match[0].length;
      if (match[1] !== undefined) {
        label = match[1];
        href = match[2];
      } else {
        href = match[0].replace(/[.,;:!?)\]]+$/, '');
        end = match.index + href.length;
        label = href;
      }
      var safe = safeUrl(href);
      if (!safe) continue; // not a web link: it stays plain text
      if (match.index > last) parent.appendChild(document.createTextNode(text.slice(last, match.index)));
      appendLink(parent, label, safe);
      last = end;
      LINK_RE.lastIndex = end;
    }
    if (last < text.length) parent.appendChild(document.createTextNode(text.slice(last)));
  }

  function renderInline(parent, text) {
    var last = 0;
    var match;
    BOLD_RE.lastIndex = 0;
    while ((match = BOLD_RE.exec(text)) !== null) {
      linkify(parent, text.slice(last, match.index));
      var strong = el('strong');
      linkify(strong, match[1]);
      parent.appendChild(strong);
      last = match.index + match[0].length;
    }
    linkify(parent, text.slice(last));
  }

  /** Paragraphs, "- " bullet lists, **bold** and http(s) links, all built as DOM nodes. */
  function renderRich(container, text) {
    var lines = String(text).slice(0, MAX_RENDERED_TEXT).replace(/\r\n?/g, '\n').split('\n');
    var list = null;
    var para = null;
    lines.forEach(function (line) {
      var bullet = BULLET_RE.exec(line);
      if (bullet) {
        para = null;
        if (!list) {
          list = el('ul');
          container.appendChild(list);
        }
        var item = el('li');
        renderInline(item, bullet[1]);
        list.appendChild(item);
      } else if (!line.trim()) {
        list = null;
        para = null;
      } else {
        list = null;
        if (para) para.appendChild(el('br'));
        else {
          para = el('p');
          container.appendChild(para);
        }
        renderInline(para, line);
      }
    });
  }

  /* ----------------------------------------------------------------- storage */

  function cleanButtons(buttons) {
    if (!Array.isArray(buttons)) return [];
    return buttons.filter(function (b) {
      return b && typeof b.title === 'string' && (typeof b.payload === 'string' || typeof b.title === 'string');
    }).slice(0, 20).map(function (b) {
      return { title: b.title.slice(0, 200), payload: String(b.payload || b.title).slice(0, 2000) };
    });
  }

  function cleanMessage(m) {
    if (!m || (m.from !== 'user' && m.from !== 'bot')) return null;
    var out = { from: m.from, text: typeof m.text === 'string' ? m.text.slice(0, MAX_RENDERED_TEXT) : '' };
    if (m.from === 'bot') {
      out.buttons = cleanButtons(m.buttons);
      if (typeof m.image === 'string' && safeUrl(m.image)) out.image = safeUrl(m.image);
    } else {
      out.payload = typeof m.payload === 'string' ? m.payload.slice(0, 2000) : out.text;
      if (typeof m.id === 'string' && /^[\w.:-]{1,100}$/.test(m.id)) out.id = m.id;
      if (m.failed) out.failed = true;
    }
    return out.text || out.image || (out.buttons && out.buttons.length) ? out : null;
  }

  // Digit runs of 10 or more (TPINs, phone numbers; groups joined by spaces, dashes, dots or
  // brackets) become ****** and their last four digits, as the server masks them
  // (bot/privacy.py); a time stamp is left alone.
  var DIGIT_RUN = /\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}|\d+(?:[\s\-().]+\d+)*/g;

  function maskDigits(text) {
    if (typeof text !== 'string') return text;
    return text.replace(DIGIT_RUN, function (run) {
      if (run.indexOf(':') >= 0) return run;
      var digits = run.replace(/\D/g, '');
      return digits.length >= 10 ? '******' + digits.slice(-4) : run;
    });
  }

  function maskedForStorage(s) {
    return {
      sender: s.sender,
      open: s.open,
      savedAt: Date.now(),
      messages: s.messages.map(function (m) {
        var out = {};
        Object.keys(m).forEach(function (key) { out[key] = m[key]; });
        out.text = maskDigits(m.text);
        if (typeof m.payload === 'string') out.payload = maskDigits(m.payload);
        if (out.buttons) {
          out.buttons = out.buttons.map(function (b) {
            return { title: maskDigits(b.title), payload: maskDigits(b.payload) };
          });
        }
        return out;
      })
    };
  }

  function forget() {
    try { window.localStorage.removeItem(storeKey); } catch (e) { /* blocked storage */ }
  }

  function loadState() {
    try {
      var raw = window.localStorage.getItem(storeKey);
      if (raw) {
        var parsed = JSON.parse(raw);
        var age = parsed && typeof parsed.savedAt === 'number' ? Date.now() - parsed.savedAt : Infinity;
        if (!(age >= 0 && age <= config.idleMs)) {
          forget(); // left idle (or from an older version without a time): start afresh
          forgetWatched(); // and the next person sees none of the last one's notifications
        } else if (parsed && typeof parsed.sender === 'string' && /^[\w-]{1,80}$/.test(parsed.sender)) {
          return {
            sender: parsed.sender,
            open: parsed.open === true,
            messages: (Array.isArray(parsed.messages) ? parsed.messages : [])
              .map(cleanMessage).filter(Boolean).slice(-MAX_STORED_MESSAGES)
          };
        }
      }
    } catch (e) { /* unreadable or blocked storage: start afresh */ }
    return { sender: newSenderId(), open: config.openOnStart, messages: [] };
  }

  var state = loadState();

  var lastUse = Date.now();

  function saveState() {
    state.messages = state.messages.slice(-MAX_STORED_MESSAGES);
    lastUse = Date.now();
    try {
      var raw = JSON.stringify(maskedForStorage(state));
      while (raw.length > MAX_STORED_CHARS && state.messages.length > 1) {
        state.messages.shift();
        raw = JSON.stringify(maskedForStorage(state));
      }
      window.localStorage.setItem(storeKey, raw);
    } catch (e) { /* storage full or blocked: the conversation still works */ }
  }

  /* ---------------------------------------------------------------- building */

  var host = document.createElement('zax-chat');
  var root = host.attachShadow({ mode: 'open' });
  var wrapper = el('div', { class: 'zax-root', hidden: true });

  var stylesheet = el('link', { rel: 'stylesheet', href: config.cssUrl });
  function reveal() { wrapper.hidden = false; }
  stylesheet.addEventListener('load', reveal);
  stylesheet.addEventListener('error', reveal);
  setTimeout(reveal, 3000);

  var panelId = 'zax-panel';
  var titleId = 'zax-title';

  var launcher = el('button', {
    type: 'button', class: 'zax-launcher', 'aria-controls': panelId, 'aria-expanded': 'false',
    'aria-label': 'Open chat with ' + config.title + ', the customs assistant'
  }, [icon(ICON_CHAT, 28), icon(ICON_CLOSE, 26)]);

  var restartBtn = el('button', {
    type: 'button', class: 'zax-icon-btn', 'aria-label': 'Start a new conversation',
    title: 'New conversation'
  }, [icon(ICON_RESTART, 20)]);
  var closeBtn = el('button', {
    type: 'button', class: 'zax-icon-btn', 'aria-label': 'Close chat', title: 'Close'
  }, [icon(ICON_CLOSE, 22)]);

  var avatar = el('span', { class: 'zax-avatar', 'aria-hidden': 'true', text: config.title.slice(0, 3) });
  var header = el('div', { class: 'zax-header' }, [
    avatar,
    el('div', { class: 'zax-heading' }, [
      el('h2', { class: 'zax-title', id: titleId, text: config.title }),
      el('p', { class: 'zax-subtitle', text: config.subtitle })
    ]),
    restartBtn,
    closeBtn
  ]);

  var log = el('div', {
    class: 'zax-log', role: 'log', 'aria-live': 'polite', 'aria-relevant': 'additions',
    'aria-label': 'Conversation with ' + config.title
  });
  var typing = el('div', { class: 'zax-typing', role: 'status', hidden: true }, [
    el('span', { class: 'zax-dots', 'aria-hidden': 'true' }, [el('span'), el('span'), el('span')]),
    el('span', { class: 'zax-sr', text: config.title + ' is typing\u2026' })
  ]);
  var scroller = el('div', { class: 'zax-scroller' }, [log, typing]);

  var alertText = el('span', { class: 'zax-alert-text' });
  var alertBox = el('div', { class: 'zax-alert', role: 'alert', hidden: true }, [alertText]);

  var input = el('textarea', {
    class: 'zax-input', rows: '1', maxlength: String(config.maxLength), id: 'zax-input',
    placeholder: 'Type your question\u2026', 'aria-describedby': 'zax-counter',
    autocomplete: 'off', enterkeyhint: 'send'
  });
  var inputLabel = el('label', { class: 'zax-sr', for: 'zax-input', text: 'Message to ' + config.title });
  var sendBtn = el('button', { type: 'submit', class: 'zax-send', 'aria-label': 'Send message' }, [icon(ICON_SEND, 22)]);
  var counter = el('div', { class: 'zax-counter', id: 'zax-counter', 'aria-live': 'polite' });
  var form = el('form', { class: 'zax-composer', novalidate: true }, [inputLabel, input, sendBtn]);
  var footer = el('div', { class: 'zax-footer' }, [
    el('span', { class: 'zax-disclaimer', text: 'Sample assistant. Never share passwords or PINs.' }),
    counter
  ]);

  var panel = el('div', {
    class: 'zax-panel', id: panelId, role: 'dialog', 'aria-labelledby': titleId, hidden: true
  }, [header, scroller, alertBox, form, footer]);

  wrapper.appendChild(panel);
  wrapper.appendChild(launcher);
  root.appendChild(stylesheet);
  root.appendChild(wrapper);

  /* --------------------------------------------------------------- rendering */

  function scrollToEnd() {
    scroller.scrollTop = scroller.scrollHeight;
  }

  function removeQuickReplies() {
    var groups = log.querySelectorAll('.zax-quick');
    for (var i = 0; i < groups.length; i++) groups[i].remove();
    state.messages.forEach(function (m) { if (m.from === 'bot') m.buttons = []; });
  }

  function renderBot(message) {
    var bubble = el('div', { class: 'zax-bubble' });
    if (message.text) renderRich(bubble, message.text);
    if (message.image) {
      bubble.appendChild(el('img', { class: 'zax-image', src: message.image, alt: 'Image from ' + config.title, loading: 'lazy' }));
    }
    var row = el('div', { class: 'zax-msg zax-msg-bot' }, [
      el('span', { class: 'zax-sr', text: config.title + ' said: ' }), bubble
    ]);
    if (message.buttons && message.buttons.length) {
      var group = el('div', { class: 'zax-quick', role: 'group', 'aria-label': 'Suggested replies' });
      message.buttons.forEach(function (b) {
        group.appendChild(el('button', {
          type: 'button', class: 'zax-chip', text: b.title,
          onclick: function () { send(b.payload, b.title); }
        }));
      });
      row.appendChild(group);
    }
    return row;
  }

  function renderUser(message) {
    var bubble = el('div', { class: 'zax-bubble', text: message.text });
    var row = el('div', { class: 'zax-msg zax-msg-user' }, [
      el('span', { class: 'zax-sr', text: 'You said: ' }), bubble
    ]);
    if (message.failed) markFailed(row, message);
    return row;
  }

  function markFailed(row, message) {
    row.classList.add('zax-failed');
    var retry = el('button', {
      type: 'button', class: 'zax-retry', text: 'Retry',
      'aria-label': 'Retry sending: ' + message.text.slice(0, 80)
    });
    var note = el('div', { class: 'zax-failed-note' }, [el('span', { text: 'Not delivered.' }), retry]);
    retry.addEventListener('click', function () {
      message.failed = false;
      note.remove();
      row.classList.remove('zax-failed');
      saveState();
      deliver(message, row);
      input.focus();
    });
    row.appendChild(note);
  }

  function append(message) {
    var node = message.from === 'bot' ? renderBot(message) : renderUser(message);
    log.appendChild(node);
    scrollToEnd();
    return node;
  }

  /** Local greeting, not stored: always first, with its suggestion only on a new conversation. */
  function renderWelcome() {
    log.appendChild(renderBot({
      text: 'Hello! I am **' + config.title + '**, the customs assistant of the Zambia Revenue ' +
        'Authority (sample). Ask me about TPINs, declarations, duties and payments.',
      buttons: state.messages.length ? [] : [{ title: 'What can you do?', payload: 'what can you do' }]
    }));
  }

  function renderHistory() {
    log.textContent = '';
    renderWelcome();
    state.messages.forEach(append);
  }

  /* ----------------------------------------------------------------- network */

  var pending = 0;
  var queue = Promise.resolve();
  var probeTimer = null;

  function setTyping(on) {
    typing.hidden = !on;
    if (on) scrollToEnd();
  }

  function showAlert(text, kind) {
    alertText.textContent = text;
    alertBox.className = 'zax-alert zax-alert-' + kind;
    alertBox.hidden = false;
  }

  function hideAlert() {
    alertBox.hidden = true;
    alertText.textContent = '';
  }

  function describeError(err) {
    if (err && err.kind === 'timeout') {
      return config.title + ' is taking too long to answer. Please try again in a moment.';
    }
    if (err && err.kind === 'server') {
      return config.title + ' is having a technical problem (error ' + err.status + '). We will keep trying.';
    }
    if (err && err.kind === 'rejected') {
      if (err.detail) return err.detail.slice(0, 300);
      return 'The message could not be processed (error ' + err.status + ').';
    }
    return 'Cannot reach ' + config.title + ' right now. Check your connection; we will keep trying.';
  }

  function fail(kind, status, detail) {
    var e = new Error(kind);
    e.kind = kind;
    e.status = status;
    e.detail = detail || '';
    return e;
  }

  /** A message's own id: sent again with a retry, so the bot answers it once. */
  function newMessageId() {
    return newSenderId().replace('web-', 'msg-');
  }

  function postToBot(payload, messageId) {
    var controller = new AbortController();
    var timer = setTimeout(function () { controller.abort(); }, config.timeoutMs);
    return fetch(webhookUrl, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ sender: state.sender, message: payload, message_id: messageId }),
      signal: controller.signal,
      credentials: 'omit',
      cache: 'no-store'
    }).then(function (res) {
      if (res.status >= 500) throw fail('server', res.status);
      if (!res.ok) {
        // 4xx from the guarded REST channel carries a plain-language reason in "message".
        return res.json().catch(function () { return {}; }).then(function (body) {
          throw fail('rejected', res.status,
                     body && typeof body.message === 'string' ? body.message : '');
        });
      }
      return res.json().catch(function () { throw fail('server', res.status); });
    }, function (err) {
      throw fail(err && err.name === 'AbortError' ? 'timeout' : 'network');
    }).then(function (body) {
      if (!Array.isArray(body)) throw fail('server', 200);
      return body;
    }).finally(function () {
      clearTimeout(timer);
    });
  }

  function startProbe() {
    if (probeTimer) return;
    probeTimer = setInterval(function () {
      // Rasa answers GET / with "Hello from Rasa"; no-cors is enough to learn it is reachable.
      fetch(config.botUrl + '/', { mode: 'no-cors', cache: 'no-store', credentials: 'omit' })
        .then(function () { recovered(); }, function () { /* still down */ });
    }, config.probeMs);
  }

  function recovered() {
    if (probeTimer) {
      clearInterval(probeTimer);
      probeTimer = null;
    }
    if (!alertBox.hidden && alertBox.classList.contains('zax-alert-error')) {
      showAlert(config.title + ' is back online.', 'ok');
      setTimeout(function () {
        if (alertBox.classList.contains('zax-alert-ok')) hideAlert();
      }, 4000);
    }
  }

  /* ----------------------------------------------------------- notifications */
  // Status notifications the person asked for ("tell me when it changes"), fetched when the
  // widget starts and every data-notify-ms (20 s) while the page is open. The ids of this
  // browser's recent conversations are kept (ids only) so a notification still shows when the
  // person comes back within the idle time; after it, or on "Start over", they are forgotten
  // with the conversation: on a shared computer the next person sees none of them. What was already shown is remembered by notification id, so it shows once.
  var notifyKey = storeKey + ':notify';
  var notifyUrl = config.botUrl + '/webhooks/rest/notifications';
  var NOTIFY_KEEP_MS = 30 * 24 * 3600 * 1000;
  var MAX_WATCHED = 5;

  function loadWatched() {
    var out = {};
    try {
      var parsed = JSON.parse(window.localStorage.getItem(notifyKey) || '{}') || {};
      Object.keys(parsed).forEach(function (id) {
        var w = parsed[id];
        if (/^[\w-]{1,80}$/.test(id) && w && typeof w.after === 'number' &&
            typeof w.at === 'number' && Date.now() - w.at < NOTIFY_KEEP_MS) {
          out[id] = { after: w.after, at: w.at };
        }
      });
    } catch (e) { /* unreadable or blocked storage */ }
    return out;
  }

  function saveWatched(watched) {
    var ids = Object.keys(watched).sort(function (a, b) { return watched[b].at - watched[a].at; });
    var kept = {};
    ids.slice(0, MAX_WATCHED).forEach(function (id) { kept[id] = watched[id]; });
    try { window.localStorage.setItem(notifyKey, JSON.stringify(kept)); } catch (e) { /* blocked */ }
  }

  function forgetWatched() {
    // storeKey, not notifyKey: loadState runs before the notifications part is set up
    try { window.localStorage.removeItem(storeKey + ':notify'); } catch (e) { /* blocked storage */ }
  }

  function showNotifications(sender, list) {
    var watched = loadWatched();
    var seen = watched[sender] ? watched[sender].after : 0;
    list.forEach(function (n) {
      if (!n || typeof n.id !== 'number' || n.id <= seen || typeof n.text !== 'string') return;
      seen = n.id;
      var message = cleanMessage({ from: 'bot', text: n.text });
      if (!message) return;
      state.messages.push(message);
      append(message);
    });
    if (watched[sender]) {
      watched[sender].after = seen;
      saveWatched(watched);
    }
    saveState();
  }

  function checkNotifications() {
    var watched = loadWatched();
    if (state.messages.length) {  // a conversation worth watching (a fresh id has nothing)
      watched[state.sender] = { after: watched[state.sender] ? watched[state.sender].after : 0,
                                at: Date.now() };
      saveWatched(watched);
      watched = loadWatched();
    }
    Object.keys(watched).forEach(function (sender) {
      var url = notifyUrl + '?sender=' + encodeURIComponent(sender) + '&after=' + watched[sender].after;
      fetch(url, { cache: 'no-store', credentials: 'omit' }).then(function (res) {
        return res.ok ? res.json() : null;
      }).then(function (body) {
        if (body && Array.isArray(body.notifications) && body.notifications.length) {
          showNotifications(sender, body.notifications.slice(0, 20));
        }
      }).catch(function () { /* offline: the next round tries again */ });
    });
  }

  function deliver(message, row) {
    pending += 1;
    setTyping(true);
    if (!message.id) message.id = newMessageId();
    queue = queue.then(function () {
      return postToBot(message.payload, message.id).then(function (replies) {
        recovered();
        if (!alertBox.hidden && alertBox.classList.contains('zax-alert-error')) hideAlert();
        replies.forEach(function (r) {
          var bot = cleanMessage({ from: 'bot', text: r && r.text, buttons: r && r.buttons, image: r && r.image });
          if (bot) {
            state.messages.push(bot);
            append(bot);
          }
        });
      }, function (err) {
        message.failed = true;
        markFailed(row, message);
        showAlert(describeError(err), 'error');
        if (err.kind !== 'rejected') startProbe();
      }).then(function () {
        pending -= 1;
        if (!pending) setTyping(false);
        saveState();
        scrollToEnd();
      });
    });
    return queue;
  }

  /** Sends payload to the bot, showing `shown` (a button title, or the text itself). */
  function send(payload, shown) {
    var text = String(payload || '').trim().slice(0, config.maxLength);
    if (!text) return Promise.resolve();
    removeQuickReplies();
    var message = { from: 'user', text: String(shown || text).slice(0, config.maxLength), payload: text };
    state.messages.push(message);
    var row = append(message);
    saveState();
    input.focus();
    return deliver(message, row);
  }

  /* ------------------------------------------------------------ interaction */

  function updateCounter() {
    var used = input.value.length;
    counter.textContent = used >= config.maxLength
      ? 'Limit reached: ' + config.maxLength + ' characters'
      : used + ' / ' + config.maxLength;
    counter.classList.toggle('zax-counter-warn', used >= config.maxLength * 0.9);
    input.style.height = 'auto';
    input.style.height = Math.min(input.scrollHeight, 120) + 'px';
  }

  function isOpen() {
    return !panel.hidden;
  }

  function open() {
    panel.hidden = false;
    launcher.setAttribute('aria-expanded', 'true');
    launcher.setAttribute('aria-label', 'Close chat with ' + config.title);
    wrapper.classList.add('zax-is-open');
    state.open = true;
    saveState();
    scrollToEnd();
    input.focus();
  }

  function close() {
    panel.hidden = true;
    launcher.setAttribute('aria-expanded', 'false');
    launcher.setAttribute('aria-label', 'Open chat with ' + config.title + ', the customs assistant');
    wrapper.classList.remove('zax-is-open');
    state.open = false;
    saveState();
    launcher.focus();
  }

  function reset() {
    // "Start over": nothing of the old conversation stays in this browser, and the new one
    // has a new sender id, so the next person cannot continue it.
    state = { sender: newSenderId(), open: isOpen(), messages: [] };
    forget();
    lastUse = Date.now();
    hideAlert();
    renderHistory();
    input.focus();
  }

  launcher.addEventListener('click', function () {
    if (isOpen()) close();
    else open();
  });
  closeBtn.addEventListener('click', close);
  restartBtn.addEventListener('click', function () {
    forgetWatched();
    reset();
  });
  panel.addEventListener('keydown', function (event) {
    if (event.key === 'Escape') {
      event.preventDefault();
      close();
    }
  });
  input.addEventListener('keydown', function (event) {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit ? form.requestSubmit() : form.dispatchEvent(new Event('submit'));
    }
  });
  input.addEventListener('input', updateCounter);
  form.addEventListener('submit', function (event) {
    event.preventDefault();
    var text = input.value;
    if (!text.trim()) return;
    input.value = '';
    updateCounter();
    send(text);
  });

  function mount() {
    document.body.appendChild(host);
    renderHistory();
    updateCounter();
    if (state.open) {
      panel.hidden = false;
      launcher.setAttribute('aria-expanded', 'true');
      launcher.setAttribute('aria-label', 'Close chat with ' + config.title);
      wrapper.classList.add('zax-is-open');
      scrollToEnd();
    }
  }

  if (document.body) mount();
  else document.addEventListener('DOMContentLoaded', mount);

  checkNotifications();
  setInterval(function () {
    if (!document.hidden) checkNotifications();
  }, config.notifyMs);

  // A page left open on a shared computer: after the idle time the conversation is cleared.
  setInterval(function () {
    if (Date.now() - lastUse > config.idleMs && (state.messages.length || pending)) {
      if (!pending) {
        reset();
        forgetWatched();
      }
    }
  }, Math.min(60000, config.idleMs));

  window.ZaxWidget = {
    started: true,
    version: VERSION,
    open: open,
    close: close,
    reset: reset,
    send: function (text) { return send(text); },
    get senderId() { return state.sender; }
  };
})();
