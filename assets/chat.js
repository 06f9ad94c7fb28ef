/*
 * Page script of the chat: streaming, sending, stopping, conversations, settings,
 * message actions, backup/restore, theme and language.
 *
 * Why a hand-written stream reader instead of a component: fuc.FefferyPostEventSource
 * exposes only the latest `data` (React batching can collapse several events into
 * one and lose deltas) and dash_extensions.SSE drops newlines and has no error
 * channel. This module reads the fetch() body stream itself, parses SSE (HTML
 * Living Standard §9.2) and so sees every event in order, byte-exact. Rendering is
 * throttled (at most one Markdown update every FLUSH_MS, on an animation frame).
 *
 * Callbacks wired from callbacks/*.py live under window.dash_clientside.chat.
 * Clicks on elements drawn here (conversation list items, message actions) are
 * handled by event delegation on `data-action` attributes.
 *
 * History (state.data, owned by this script; IndexedDB records through assets/storage.js):
 *   {version, active_id: str, conversations: [{id, title, created_at, updated_at, pinned?,
 *     settings: {model?, system_prompt?, temperature?, top_p?, presence_penalty?,
 *                frequency_penalty?, max_tokens?, history?, reasoning_effort?},
 *     error: null | {status, code, message, retry_after},
 *     messages: [{id, role, content, seq, created_at, finish_reason?, usage?, model?,
 *                 incomplete?, stopped?, ttft_ms?, trimmed?, reasoning?, reasoning_ms?,
 *                 ttft_reasoning_ms?}]}]}
 * chat-history-store (a memory dcc.Store) holds a view of it: {revision, active_id,
 *   conversation: the open conversation} — Dash never carries the whole history.
 * Prefs (chat-prefs-store, localStorage, never sent to the server by a callback):
 *   {defaults: {same keys as settings}, api_key?, base_url?, theme?: 'light'|'dark'}
 * The user's API key leaves the browser only inside the stream request body.
 * Both shapes are defined once, in Python (chatcore/schema.py → config.schema). Values
 * from outside this tab's code — the IndexedDB/localStorage load, a restored backup,
 * /api/models, the server's events — are coerced against it at the edge (trusted*,
 * coerce), and text is drawn as strings only (asText): Dash renders any
 * {type, namespace, props} object placed in children as a live component.
 * Stores are updated copy-on-write (only the changed conversation is copied), so a
 * 20 MB history is not cloned on every message.
 */
(function () {
  'use strict';

  var FLUSH_MS = 40; // ≈25 Markdown updates a second at most
  var INITIAL_VISIBLE = 40; // messages drawn when a conversation opens
  var PAGE_VISIBLE = 60; // more drawn per "show earlier" / scroll to the top
  var WINDOW_STEP = 20;
  var SETTING_KEYS = ['model', 'system_prompt', 'temperature', 'top_p', 'presence_penalty',
    'frequency_penalty', 'max_tokens', 'history', 'reasoning_effort'];
  // [key, min, max, integer] — ranges from the OpenAI Chat Completions reference
  var NUMERIC = [['temperature', 0, 2, false], ['top_p', 0, 1, false], ['presence_penalty', -2, 2, false],
    ['frequency_penalty', -2, 2, false], ['max_tokens', 1, 1000000, true], ['history', 0, 10000, true]];
  var NUMERIC_IDS = {
    temperature: 'chat-setting-temperature', top_p: 'chat-setting-top-p',
    presence_penalty: 'chat-setting-presence-penalty', frequency_penalty: 'chat-setting-frequency-penalty',
    max_tokens: 'chat-setting-max-tokens', history: 'chat-setting-history'
  };
  var IDS = {
    store: 'chat-history-store',
    prefs: 'chat-prefs-store',
    active: 'chat-active-store',
    view: 'chat-view-store',
    streamMessage: 'chat-stream-message',
    streamMarkdown: 'chat-stream-markdown',
    streamReasoning: 'chat-stream-reasoning',
    streamReasoningSummary: 'chat-stream-reasoning-summary',
    streamReasoningMarkdown: 'chat-stream-reasoning-markdown',
    send: 'chat-send-button',
    stop: 'chat-stop-button',
    input: 'chat-input',
    scroll: 'chat-scroll',
    globalMessage: 'global-message',
    download: 'chat-download',
    renameModal: 'chat-rename-modal',
    renameInput: 'chat-rename-input',
    deleteModal: 'chat-delete-modal',
    editModal: 'chat-edit-modal',
    editInput: 'chat-edit-input',
    model: 'chat-setting-model',
    sidebar: 'chat-sidebar',
    sidebarToggle: 'chat-sidebar-toggle',
    sidebarMask: 'chat-sidebar-mask',
    storageAlert: 'chat-storage-alert',
    conversationList: 'chat-conversation-list',
    storageInfo: 'chat-storage-info'
  };
  var BACKUP_FORMAT = 'dash-chat-backup';

  var state = {
    data: null,      // mirror of the history store
    config: null,    // public server config
    prefs: {},       // mirror of the prefs store
    run: null,       // the reply being streamed, or null
    activeId: null,  // the open conversation (also in chat-active-store, localStorage)
    visible: {},     // conversation id → how many newest messages are drawn
    renderedId: null, // conversation drawn last (to scroll to the bottom on switch)
    pending: { rename: null, remove: null, edit: null },
    reasoningOpen: {}, // message id → the reader opened its reasoning block
    modelsLoaded: false,
    keepScroll: null
  };
  // Read-only view for tests and benchmarks (timings of the last reply and render).
  window.chatDebug = {
    lastRun: null, runs: 0, lastRender: null, coerced: 0,
    history: function () { return state.data; },
    streaming: function () { return !!state.run; }
  };

  function noUpdate() { return window.dash_clientside.no_update; }
  function setProps(id, props) { window.dash_clientside.set_props(id, props); }
  function uid(prefix) {
    return prefix + '-' + Date.now().toString(36) + '-' + Math.random().toString(36).slice(2, 8);
  }
  function isSet(value) { return value !== undefined && value !== null && value !== ''; }

  function locale() {
    return (state.config && state.config.locale) || (/^zh/i.test(navigator.language || '') ? 'zh-CN' : 'en-US');
  }
  function text(key, params) {
    var texts = (state.config && state.config.texts) || {};
    var table = texts[locale()] || texts['en-US'] || {};
    var value = table[key] || (texts['en-US'] || {})[key] || key;
    Object.keys(params || {}).forEach(function (name) {
      value = value.split('{' + name + '}').join(asText(params[name]));
    });
    return value;
  }
  function toast(kind, content) {
    setProps(IDS.globalMessage, {
      children: {
        type: 'AntdMessage', namespace: 'feffery_antd_components',
        props: { content: content, type: kind, key: uid('m') }
      }
    });
  }
  function isDark() {
    var theme = state.prefs && state.prefs.theme;
    if (theme) { return theme === 'dark'; }
    return !!(window.matchMedia && window.matchMedia('(prefers-color-scheme: dark)').matches);
  }
  function codeTheme() { return isDark() ? 'a11y-dark' : 'gh-colors'; }

  // ----- the edge: values from outside are coerced against the page schema ------------
  /** Text to draw: a string as it is, a finite number formatted, anything else ''. */
  function asText(value) {
    if (window.chatSchemaWalk) { return window.chatSchemaWalk.asText(value); }
    return typeof value === 'string' ? value : '';
  }
  /** Coerce `value` against schema `name` (assets/schema_walk.js); {ok, value, dropped}.
   *  Without the schema (config not read yet) nothing fits: `unavailable` is set. */
  function coerce(name, value) {
    var doc = state.config && state.config.schema;
    if (!window.chatSchemaWalk || !doc) { return { ok: false, value: null, dropped: 0, paths: [], unavailable: true }; }
    window.chatDebug.coerced += 1;
    return window.chatSchemaWalk.coerce(doc, name, value);
  }
  var loadedPrefs = { raw: null, value: {} }; // the last prefs value read from localStorage, coerced
  /**
   * The prefs store's value: this tab's own value passes as it is; a value it did not
   * make (the localStorage load on page open) is coerced once per object, and invalid
   * parts are dropped, written back (so they are gone for good) and reported once.
   * `{}` while the schema is not known yet.
   */
  function trustedPrefs(value) {
    if (value === undefined || value === null) { return {}; }
    if (value === state.prefs) { return value; }
    if (value === loadedPrefs.raw) { return loadedPrefs.value; }
    var result = coerce('Prefs', value);
    if (result.unavailable) { return {}; }
    loadedPrefs.raw = value;
    loadedPrefs.value = result.ok ? result.value : {};
    if (!result.ok || result.dropped) {
      var dropped = result.dropped + (result.ok ? 0 : 1);
      window.chatDebug.dropped = (window.chatDebug.dropped || 0) + dropped;
      setProps(IDS.prefs, { data: loadedPrefs.value });
      toast('warning', text('storage_dropped', { n: dropped }));
    }
    return loadedPrefs.value;
  }
  // ----- persistence (assets/storage.js: records in IndexedDB, the other tabs' changes) ----
  // saved: the history as this tab last wrote it (diffs start there); confirmed: as the
  // database is known to hold it (a failed write falls back to it)
  var store = { api: null, status: 'pending', saved: null, confirmed: null, failed: false, legacyDropped: 0 };
  window.chatDebug.storage = function () {
    return { status: store.status, failed: store.failed, writes: store.api ? store.api.debug.writes : 0,
      lastSave: store.api ? store.api.debug.lastSave : null };
  };
  window.chatDebug.failWrites = function (name) { if (store.api) { store.api.debug.failWrites = name || null; } };
  /** Benchmarks: commit `next` as the page's own actions do (no coercion: the caller
   *  built it from chatDebug.history(), copying only what it changed). */
  window.chatDebug.commit = function (next) { commit(next); };
  /** Tests and benchmarks: replace the history as if it came from outside (coerced). */
  window.chatDebug.replaceHistory = function (value) {
    var checked = coerce('History', value);
    if (checked.ok) { commit(checked.value); }
    return checked.dropped;
  };
  /** Replace (or add, or with null remove) conversations by id: a new top-level object. */
  function withConversations(history, byId) {
    if (!history) { history = { version: storeVersion(), active_id: null, conversations: [] }; }
    var left = Object.assign({}, byId);
    var conversations = [];
    (history.conversations || []).forEach(function (c) {
      if (!Object.prototype.hasOwnProperty.call(left, c.id)) { conversations.push(c); return; }
      if (left[c.id]) { conversations.push(left[c.id]); }
      delete left[c.id];
    });
    Object.keys(left).forEach(function (id) { if (left[id]) { conversations.push(left[id]); } });
    return Object.assign({}, history, { conversations: conversations });
  }
  function storageNotice(key) {
    setProps(IDS.storageAlert, { message: text(key), style: {} });
  }
  /** Open the database once (migrating the old single value), then show what it holds. */
  function startStorage() {
    if (store.api || !window.chatStorage || !(state.config && state.config.schema)) { return; }
    store.api = window.chatStorage.create({
      version: storeVersion(),
      coerceLegacy: function (value) {
        var raw = value;
        if (typeof value === 'string') { try { raw = JSON.parse(value); } catch (e) { return null; } }
        var checked = coerce('History', raw);
        store.legacyDropped += checked.dropped + (checked.ok ? 0 : 1);
        return checked.ok ? checked.value : null;
      },
      onRemote: remoteChange
    });
    store.api.persist();
    store.api.open().then(function (result) {
      var raw = result.history || { conversations: [] };
      var checked = coerce('History', { version: storeVersion(), conversations: raw.conversations });
      var loaded = checked.ok ? checked.value : { version: storeVersion(), conversations: [] };
      loaded.version = storeVersion();
      // newest first, as the sidebar lists them; the conversation open last in this browser
      loaded.conversations.sort(function (x, y) { return (y.updated_at || 0) - (x.updated_at || 0); });
      var remembered = findConversation(loaded, state.activeStored) || loaded.conversations[0];
      loaded.active_id = remembered ? remembered.id : null;
      store.status = result.status;
      // values dropped by the schema are written back clean (a diff from the raw records)
      store.saved = store.confirmed = checked.dropped ? raw : loaded;
      var dropped = checked.dropped + store.legacyDropped;
      if (dropped) {
        window.chatDebug.dropped = (window.chatDebug.dropped || 0) + dropped;
        toast('warning', text('storage_dropped', { n: dropped }));
      }
      if (result.status === 'unavailable') { storageNotice('storage_unavailable'); }
      if (result.status === 'newer') { storageNotice('storage_newer'); }
      // anything sent before the records were read stays (and is written with the next save)
      var early = ((state.data && state.data.conversations) || []).filter(function (c) { return !findConversation(loaded, c.id); });
      var shown = !early.length ? loaded : Object.assign({}, loaded, {
        conversations: early.concat(loaded.conversations), active_id: state.data.active_id || early[0].id
      });
      state.data = shown.conversations.length ? shown : null;
      setProps(IDS.store, { data: storeView(state.data) });
      setProps(IDS.view, { data: { limit: 0, at: Date.now() } }); // draw even when empty
    });
  }
  /** Write what changed since the last write; on failure keep everything in memory,
   *  say so once, and write the whole difference again with the next change. */
  function saveHistory(next) {
    if (store.status !== 'ok' || !next || next === store.saved) { return; }
    var from = store.saved;
    store.saved = next;
    store.api.save(from, next).then(function (result) {
      if (result.ok) {
        store.confirmed = next;
        if (store.failed) { store.failed = false; setProps(IDS.storageAlert, { style: { display: 'none' } }); }
        return;
      }
      if (store.saved === next) { store.saved = store.confirmed; }
      if (!store.failed) {
        store.failed = true;
        storageNotice(/quota/i.test(result.error || '') ? 'storage_full' : 'storage_failed');
      }
    });
  }
  /** Another tab wrote: read those conversations back and show them (within ~1 s). */
  function remoteChange(change) {
    if (!store.api || store.status === 'unavailable') { return; }
    var read = change.all
      ? store.api.loadAll().then(function (h) { return h.conversations; })
      : store.api.load(change.changed);
    read.then(function (conversations) {
      var byId = {};
      if (change.all) { (state.data && state.data.conversations || []).forEach(function (c) { byId[c.id] = null; }); }
      (change.deleted || []).forEach(function (id) { byId[id] = null; });
      conversations.forEach(function (c, i) {
        var id = change.all ? c && c.id : change.changed[i];
        var checked = c ? coerce('Conversation', c) : { ok: false };
        byId[id] = checked.ok ? checked.value : null;
      });
      // the same objects in every snapshot: they are not written back
      store.saved = withConversations(store.saved, byId);
      store.confirmed = withConversations(store.confirmed, byId);
      state.data = withConversations(state.data, byId);
      if (!state.data.conversations.length) { state.data = null; }
      setProps(IDS.store, { data: storeView(state.data) });
    });
  }

  function formatBytes(n) {
    var units = ['B', 'KB', 'MB', 'GB', 'TB'];
    var i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i += 1; }
    return (i ? n.toFixed(1) : String(Math.round(n))) + ' ' + units[i];
  }
  /** Used and available space (navigator.storage.estimate) in the settings drawer. */
  function showStorageInfo() {
    var estimate = store.api ? store.api.estimate() : Promise.resolve(null);
    estimate.then(function (e) {
      var info = e && typeof e.usage === 'number' && typeof e.quota === 'number'
        ? text('storage_info', { used: formatBytes(e.usage), quota: formatBytes(e.quota) })
        : text('storage_info_none');
      setProps(IDS.storageInfo, { children: info });
    });
  }

  /**
   * This module owns the whole history (state.data); the history store holds only a
   * view of it — the open conversation and a revision — so that Dash never carries
   * (or crawls) a 20 MB value on a commit. Callbacks read the history here.
   */
  function historyOf() { return state.data; }
  function storeView(history) {
    state.revision = (state.revision || 0) + 1;
    var open = history ? activeConversation(history) : null;
    return { version: storeVersion(), revision: state.revision, active_id: open ? open.id : null, conversation: open || null };
  }
  /** Make `next` the history and return the store value for it. */
  function publish(next) {
    state.data = next;
    return storeView(next);
  }

  // ----- conversations (copy-on-write) -----------------------------------------
  function storeVersion() { return (state.config && state.config.schema && state.config.schema.store_version) || 1; }
  /** The seq of a new turn: its time in ms, after every seq in the conversation
   *  (assets/storage.js: a reply shares its user message's seq). */
  function nextSeq(conversation) {
    var max = 0;
    (conversation.messages || []).forEach(function (m) { if (typeof m.seq === 'number' && m.seq > max) { max = m.seq; } });
    return Math.max(Date.now(), Math.floor(max) + 1);
  }
  function newConversation() {
    var now = Date.now();
    return { id: uid('c'), title: '', created_at: now, updated_at: now, settings: {}, error: null, messages: [] };
  }
  /** A new top-level object sharing the conversations (copy before changing one). */
  function ensureData(data) {
    if (data && Array.isArray(data.conversations) && data.conversations.length) {
      var current = activeConversation(data);
      return { version: storeVersion(), active_id: current ? current.id : data.active_id, conversations: data.conversations.slice() };
    }
    var conversation = newConversation();
    setActive(conversation.id);
    return { version: storeVersion(), active_id: conversation.id, conversations: [conversation] };
  }
  /** Open conversation `id`. Switching writes only the small chat-active-store, not
   *  the (possibly 20 MB) history; the history's active_id follows on its next write. */
  function setActive(id) {
    if (state.activeId === id) { return; }
    state.activeId = id;
    setProps(IDS.active, { data: id });
    if (state.data && findConversation(state.data, id)) { setProps(IDS.store, { data: storeView(state.data) }); }
  }
  function findIndex(data, id) {
    if (!data || !Array.isArray(data.conversations)) { return -1; }
    for (var i = 0; i < data.conversations.length; i++) {
      if (data.conversations[i] && data.conversations[i].id === id) { return i; }
    }
    return -1;
  }
  function findConversation(data, id) {
    var index = findIndex(data, id);
    return index < 0 ? null : data.conversations[index];
  }
  function activeConversation(data) {
    var found = findConversation(data, state.activeId) || findConversation(data, data && data.active_id);
    if (!found && data && data.conversations && data.conversations.length) { found = data.conversations[0]; }
    return found;
  }
  /** Copy conversation `id` inside `next` (from ensureData) so it can be changed. */
  function editable(next, id) {
    var index = findIndex(next, id);
    if (index < 0) { return null; }
    var copy = Object.assign({}, next.conversations[index]);
    copy.messages = (copy.messages || []).slice();
    copy.settings = Object.assign({}, copy.settings || {});
    next.conversations[index] = copy;
    return copy;
  }
  function editableActive(next) {
    if (!findConversation(next, next.active_id)) { next.active_id = next.conversations[0].id; }
    setActive(next.active_id);
    return editable(next, next.active_id);
  }
  function commit(next) {
    setProps(IDS.store, { data: publish(next) });
  }
  function makeTitle(content) {
    var line = content.replace(/\s+/g, ' ').trim();
    return line.length > 40 ? line.slice(0, 40) + '…' : line;
  }
  function effectiveSettings(conversation) {
    var defaults = (state.prefs && state.prefs.defaults) || {};
    var own = (conversation && conversation.settings) || {};
    var out = {};
    SETTING_KEYS.forEach(function (key) {
      out[key] = isSet(own[key]) ? own[key] : (isSet(defaults[key]) ? defaults[key] : null);
    });
    return out;
  }

  // ----- SSE parsing (HTML Living Standard §9.2.6, the fields this server sends) -----
  function createSSEParser(onEvent) {
    var buffer = '';
    var name = 'message';
    var dataLines = [];
    return function feed(chunk) {
      buffer += chunk;
      var start = 0;
      var newline;
      while ((newline = buffer.indexOf('\n', start)) >= 0) {
        var line = buffer.slice(start, newline);
        start = newline + 1;
        if (line.charAt(line.length - 1) === '\r') { line = line.slice(0, -1); }
        if (line === '') {
          if (dataLines.length) { onEvent(name, dataLines.join('\n')); }
          name = 'message';
          dataLines = [];
        } else if (line.charAt(0) !== ':') {
          var colon = line.indexOf(':');
          var field = colon < 0 ? line : line.slice(0, colon);
          var value = colon < 0 ? '' : line.slice(colon + 1);
          if (value.charAt(0) === ' ') { value = value.slice(1); }
          if (field === 'event') { name = value; } else if (field === 'data') { dataLines.push(value); }
        }
      }
      buffer = buffer.slice(start);
    };
  }

  // ----- streaming ----------------------------------------------------------
  /** Show or hide the streaming reply (one Dash update only when it changes: every
   *  update makes Dash re-check each component on the page). */
  function showStreamMessage(shown) {
    var className = shown ? 'chat-message chat-message-assistant chat-stream-active' : 'chat-stream-idle';
    if (state.streamClass === className) { return; }
    state.streamClass = className;
    setProps(IDS.streamMessage, { className: className });
  }
  function setStreaming(active) {
    var current = state.data && activeConversation(state.data);
    var shown = active && state.run && current && state.run.conversationId === current.id;
    showStreamMessage(shown);
    if (!active) {
      setProps(IDS.streamMarkdown, { markdownStr: '' });
      setProps(IDS.streamReasoningMarkdown, { markdownStr: '' });
      setProps(IDS.streamReasoning, { style: { display: 'none' }, open: true });
      setProps(IDS.streamReasoningSummary, { children: text('thinking') });
    }
    setProps(IDS.send, { style: active ? { display: 'none' } : {} });
    setProps(IDS.stop, { style: active ? {} : { display: 'none' } });
  }

  function nearBottom(element) {
    return element.scrollHeight - element.scrollTop - element.clientHeight < 120;
  }
  function scrollToBottom(force) {
    var element = document.getElementById(IDS.scroll);
    if (element && (force || element.dataset.follow !== 'false')) { element.scrollTop = element.scrollHeight; }
  }

  function flush(run) {
    run.timer = 0;
    run.frame = 0;
    run.lastFlush = performance.now();
    run.flushes += 1;
    if (run.reasoning !== run.drawnReasoning) {
      run.drawnReasoning = run.reasoning;
      if (!run.reasoningShown) {
        run.reasoningShown = true;
        setProps(IDS.streamReasoning, { style: {}, open: true });
      }
      setProps(IDS.streamReasoningMarkdown, { markdownStr: run.reasoning });
    }
    if (run.reasoningShown && run.text && !run.folded) {
      // the answer has started: fold the thinking once (the reader may open it again)
      run.folded = true;
      setProps(IDS.streamReasoning, { open: false });
      setProps(IDS.streamReasoningSummary, { children: text('thought_for', { n: thoughtSeconds(run.reasoningMs) }) });
    }
    setProps(IDS.streamMarkdown, { markdownStr: run.prefix + run.text });
    window.requestAnimationFrame(function () { scrollToBottom(false); });
  }
  function thoughtSeconds(ms) { return Math.max(1, Math.round((ms || 0) / 1000)); }
  function scheduleFlush(run) {
    if (run.timer || run.frame) { return; }
    var wait = Math.max(0, FLUSH_MS - (performance.now() - run.lastFlush));
    run.timer = window.setTimeout(function () {
      run.timer = 0;
      run.frame = window.requestAnimationFrame(function () { flush(run); });
    }, wait);
  }

  /**
   * The POST body for /api/chat/stream: the conversation's messages (the newest
   * `history` setting of them, at most config.max_messages, and within the body-size
   * limit), its effective settings, and the user's own key/base URL if set.
   * Returns {payload, leftOut} where leftOut counts messages not sent.
   */
  function requestPayload(conversation, continueReply) {
    var settings = effectiveSettings(conversation);
    var config = state.config || {};
    var all = conversation.messages
      .filter(function (m) { return m.role === 'user' || m.role === 'assistant' || m.role === 'system'; })
      .map(function (m) { return { role: m.role, content: m.content }; });
    var keep = all.length;
    if (isSet(settings.history) && Number(settings.history) > 0) { keep = Math.min(keep, Number(settings.history)); }
    keep = Math.min(keep, config.max_messages || 500);
    var messages = all.slice(all.length - keep);
    var payload = { messages: messages, locale: locale() };
    ['model', 'system_prompt', 'temperature', 'top_p', 'presence_penalty', 'frequency_penalty', 'max_tokens', 'reasoning_effort']
      .forEach(function (name) { if (isSet(settings[name])) { payload[name] = settings[name]; } });
    var prefs = state.prefs || {};
    if (isSet(prefs.api_key) && config.allow_user_api_key !== false) { payload.api_key = String(prefs.api_key).trim(); }
    // sent even without an own key: the server then refuses with a clear error
    // (it never sends its own key to a user-supplied URL)
    if (isSet(prefs.base_url) && config.allow_user_base_url) { payload.base_url = String(prefs.base_url).trim(); }
    if (continueReply) { payload.continue_reply = true; }
    // stay under the server's body limit: leave out the oldest messages first
    var limit = (config.max_body_bytes || 2000000) * 0.9;
    var size = new Blob([JSON.stringify(payload)]).size;
    while (size > limit && payload.messages.length > 1) {
      size -= new Blob([JSON.stringify(payload.messages[0])]).size + 1;
      payload.messages = payload.messages.slice(1);
    }
    return { payload: payload, leftOut: all.length - payload.messages.length };
  }

  /** One server event (chatserver/stream_api.py), coerced against its schema
   *  (config.schema.events); an event that does not fit is ignored. */
  function handleEvent(run, name, raw) {
    var schemaName = ((state.config && state.config.schema && state.config.schema.events) || {})[name];
    if (!schemaName) { return; }
    var parsed;
    try { parsed = JSON.parse(raw); } catch (e) { return; }
    var checked = coerce(schemaName, parsed);
    if (!checked.ok) { return; }
    var data = checked.value;
    if (name === 'reasoning') {
      if (run.ttftReasoningMs === null) { run.ttftReasoningMs = performance.now() - run.t0; }
      run.reasoning += data.content;
      scheduleFlush(run);
    } else if (name === 'delta') {
      if (run.ttftMs === null) {
        run.ttftMs = performance.now() - run.t0;
        if (run.ttftReasoningMs !== null) { run.reasoningMs = run.ttftMs - run.ttftReasoningMs; }
      }
      run.text += data.content;
      run.deltas += 1;
      scheduleFlush(run);
    } else if (name === 'meta') {
      run.model = data.model || null;
      run.trimmed = (data.trimmed || 0);
    } else if (name === 'finish') {
      run.finishReason = data.finish_reason;
      run.unclosedThought = !!data.incomplete; // ended inside a <think> that never closed
    } else if (name === 'usage') {
      run.usage = data;
    } else if (name === 'error') {
      run.error = data;
    } else if (name === 'done') {
      run.done = true;
      run.server = data;
    }
  }

  /**
   * Stream a reply for `conversation` (its messages end with the user's message, or
   * with the assistant message `opts.continueId` to continue). Every path — send,
   * retry, regenerate, edit, continue — comes here.
   */
  function startStream(conversation, opts) {
    opts = opts || {};
    var continueMessage = null;
    if (opts.continueId) {
      continueMessage = conversation.messages[conversation.messages.length - 1];
    }
    var request = requestPayload(conversation, !!continueMessage);
    var run = {
      controller: new AbortController(), conversationId: conversation.id, text: '',
      prefix: continueMessage ? continueMessage.content : '', continueId: continueMessage ? continueMessage.id : null,
      t0: performance.now(), ttftMs: null, deltas: 0, flushes: 0, lastFlush: 0,
      reasoning: '', ttftReasoningMs: null, reasoningMs: null,
      timer: 0, frame: 0, finishReason: null, usage: null, error: null, done: false,
      stopped: false, discard: false, model: null, trimmed: 0, leftOut: request.leftOut,
      seq: (conversation.messages[conversation.messages.length - 1] || {}).seq
    };
    state.run = run;
    // Issue the request first: the re-renders below then overlap with the network
    // round trip instead of delaying it (browser-observed TTFT).
    var responsePromise = fetch((state.config && state.config.stream_url) || '/api/chat/stream', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'Accept': 'text/event-stream' },
      body: JSON.stringify(request.payload),
      signal: run.controller.signal,
      credentials: 'same-origin'
    });
    setStreaming(true);
    if (run.prefix) { setProps(IDS.streamMarkdown, { markdownStr: run.prefix }); }
    scrollToBottom(true);
    var element = document.getElementById(IDS.scroll);
    if (element) { element.dataset.follow = 'true'; }
    responsePromise.then(function (response) {
      if (!response.ok) {
        return response.json().then(function (body) {
          var checked = coerce('ErrorInfo', body && body.error);
          run.error = checked.ok ? checked.value : { status: response.status, code: 'http_' + response.status, message: 'HTTP ' + response.status };
          // Our own access check (chatserver/access.py): the session expired → sign in again.
          if (response.status === 401 && run.error.code === 'login_required') { window.location.assign('/login'); }
        }, function () {
          run.error = { status: response.status, code: 'http_' + response.status, message: 'HTTP ' + response.status };
        });
      }
      var reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      var feed = createSSEParser(function (name, raw) { handleEvent(run, name, raw); });
      function pump() {
        return reader.read().then(function (result) {
          if (result.done) { return; }
          feed(result.value);
          return pump();
        });
      }
      return pump().then(function () {
        if (!run.done && !run.error) {
          run.error = { status: 502, code: 'stream_interrupted', message: text('interrupted') };
        }
      });
    }).catch(function (error) {
      if (run.controller.signal.aborted) {
        run.stopped = true;
      } else if (!run.error) {
        run.error = { status: 0, code: 'network', message: text('network') };
      }
    }).then(function () { finishRun(run); });
  }

  function addUsage(a, b) {
    if (!a) { return b; }
    if (!b) { return a; }
    return {
      prompt_tokens: (a.prompt_tokens || 0) + (b.prompt_tokens || 0),
      completion_tokens: (a.completion_tokens || 0) + (b.completion_tokens || 0),
      total_tokens: (a.total_tokens || 0) + (b.total_tokens || 0)
    };
  }

  function finishRun(run) {
    if (run.timer) { window.clearTimeout(run.timer); }
    if (run.frame) { window.cancelAnimationFrame(run.frame); }
    if (state.run === run) { state.run = null; }
    var totalMs = performance.now() - run.t0;
    window.chatDebug.runs += 1;
    window.chatDebug.lastRun = {
      ttft_ms: run.ttftMs, total_ms: totalMs, deltas: run.deltas, flushes: run.flushes,
      chars: run.text.length, finish_reason: run.finishReason, stopped: run.stopped,
      error: run.error ? run.error.code : null, server: run.server || null,
      trimmed: run.trimmed, left_out: run.leftOut
    };
    setStreaming(false);
    var next = ensureData(state.data);
    if (run.discard || findIndex(next, run.conversationId) < 0) {
      commit(next); // redraw (a continued message was hidden while streaming)
      return;
    }
    var conversation = editable(next, run.conversationId);
    var leftOut = (run.leftOut || 0) + (run.trimmed || 0);
    if (run.continueId) {
      var index = -1;
      conversation.messages.forEach(function (m, i) { if (m.id === run.continueId) { index = i; } });
      if (index >= 0 && run.text) {
        var old = conversation.messages[index];
        var merged = Object.assign({}, old, {
          content: old.content + run.text, finish_reason: run.finishReason || old.finish_reason,
          usage: addUsage(old.usage, run.usage), model: run.model || old.model
        });
        if (run.stopped) { merged.stopped = true; } else { delete merged.stopped; }
        if (run.error) { merged.incomplete = true; }
        conversation.messages[index] = merged;
      }
    } else if (run.text || run.reasoning) {
      var message = {
        id: uid('m'), role: 'assistant', content: run.text, created_at: Date.now(),
        finish_reason: run.finishReason, model: run.model, seq: run.seq
      };
      if (run.usage) { message.usage = run.usage; }
      if (run.ttftMs !== null) { message.ttft_ms = Math.round(run.ttftMs); }
      if (run.reasoning) {
        // kept with the message, never sent back (requestPayload sends role and content only)
        message.reasoning = run.reasoning;
        message.ttft_reasoning_ms = Math.round(run.ttftReasoningMs);
        message.reasoning_ms = Math.round(run.reasoningMs !== null ? run.reasoningMs : performance.now() - run.t0 - run.ttftReasoningMs);
      }
      if (run.stopped) { message.stopped = true; }
      if (run.error || run.unclosedThought) { message.incomplete = true; }
      if (leftOut > 0) { message.trimmed = leftOut; }
      conversation.messages.push(message);
      // another tab may have added turns meanwhile: the reply goes right after its question
      conversation.messages = window.chatStorage ? window.chatStorage.sortMessages(conversation.messages) : conversation.messages;
    }
    conversation.error = run.error && !run.stopped ? run.error : null;
    conversation.updated_at = Date.now();
    commit(next);
  }

  // ----- rendering ------------------------------------------------------------
  function component(type, namespace, props) { return { type: type, namespace: namespace, props: props }; }
  function div(className, children, extra) {
    var props = { className: className, children: children };
    Object.keys(extra || {}).forEach(function (k) { props[k] = extra[k]; });
    return component('Div', 'dash_html_components', props);
  }
  function span(className, children, extra) {
    var props = { className: className, children: children };
    Object.keys(extra || {}).forEach(function (k) { props[k] = extra[k]; });
    return component('Span', 'dash_html_components', props);
  }
  // Message and list actions are plain <button>s with a glyph (the label comes from
  // data-label via CSS): one Dash component each, so drawing many messages stays cheap.
  var GLYPHS = { copy: '\u2750', edit: '\u270e', regenerate: '\u21bb', 'continue': '\u25b8', rename: '\u270e', 'delete': '\u2715' };
  function actionButton(action, label, extra) {
    var props = { className: 'chat-action chat-action-' + action, 'data-action': action, title: label,
      'data-label': label, 'aria-label': label, children: GLYPHS[action] || '' };
    Object.keys(extra || {}).forEach(function (k) { props[k] = extra[k]; });
    return component('Button', 'dash_html_components', props);
  }
  /** fmc props for a stored message: the server's MARKDOWN_PROPS (components/messages.py,
   *  sent in the config store: no raw HTML, the link filter) plus theme and content.
   *  Returns null without them, so the caller shows plain text (fail closed). */
  function markdownProps(markdown, withMermaid) {
    var base = state.config && state.config.markdown_props;
    if (!base) { return null; }
    var props = Object.assign({}, base, { markdownStr: asText(markdown), codeTheme: codeTheme() });
    // mermaid in strict mode: no click callbacks, HTML labels sanitized. fmc calls
    // the global `mermaid`, which is loaded on first need (3 MB, not on every page).
    if (withMermaid && /```mermaid/.test(props.markdownStr)) {
      if (window.mermaid) {
        props.mermaidOptions = { securityLevel: 'strict', theme: isDark() ? 'dark' : 'default' };
      } else {
        loadMermaid();
      }
    }
    return props;
  }
  var MERMAID_URL = '/assets/vendor/mermaid-10.9.8.min.js';
  var PURIFY_URL = '/assets/vendor/purify-3.5.0.min.js';
  // What a mermaid SVG may keep: SVG and HTML labels (foreignObject), no handlers or scripts.
  // (foreignObject is where mermaid puts HTML labels: an HTML integration point.)
  var PURIFY_SVG = { USE_PROFILES: { svg: true, svgFilters: true, html: true }, ADD_TAGS: ['foreignObject'],
    HTML_INTEGRATION_POINTS: { 'annotation-xml': true, foreignobject: true } };
  var mermaidLoading = false;
  function loadScript(url, onload, onerror) {
    var script = document.createElement('script');
    script.src = ((state.config && state.config.assets_prefix) || '') + url;
    script.async = true;
    script.onload = onload;
    script.onerror = onerror;
    document.head.appendChild(script);
  }
  /** Load DOMPurify and mermaid once, then redraw the messages so diagrams render. */
  function loadMermaid() {
    if (mermaidLoading || window.mermaid) { return; }
    mermaidLoading = true;
    var failed = function () { mermaidLoading = false; };
    loadScript(PURIFY_URL, function () {
      loadScript(MERMAID_URL, function () {
        guardMermaid(window.mermaid, window.DOMPurify);
        setProps(IDS.view, { data: { limit: 0, mermaid: true, at: Date.now() } });
      }, failed);
    }, failed);
  }
  /**
   * fmc 0.4.3 draws diagrams with `mermaid.run({nodes})`, which puts mermaid's SVG into
   * the page as it is. Ours renders each diagram with `mermaid.render` and inserts only
   * DOMPurify's sanitized SVG, so an event handler never reaches the DOM (even where
   * the CSP would block it). Without DOMPurify the source stays as text (fail closed).
   */
  function guardMermaid(mermaid, purify) {
    var count = 0;
    mermaid.run = function (options) {
      var nodes = (options && options.nodes) || [];
      return Promise.all(Array.prototype.map.call(nodes, function (node) {
        if (node.getAttribute('data-processed')) { return null; }
        node.setAttribute('data-processed', 'true');
        var source = node.textContent || '';
        if (!purify || !purify.sanitize) { return null; }
        count += 1;
        return mermaid.render('chat-mermaid-' + count + '-' + Date.now().toString(36), source).then(function (result) {
          node.innerHTML = purify.sanitize(result && typeof result.svg === 'string' ? result.svg : '', PURIFY_SVG);
        }, function () {
          node.textContent = source;
        });
      }));
    };
  }
  function formatCost(cost) {
    if (cost >= 0.01) { return cost.toFixed(4); }
    return cost.toPrecision(2);
  }
  function usageLine(message) {
    var parts = [];
    if (message.usage) {
      var promptTokens = Number(message.usage.prompt_tokens) || 0;
      var completionTokens = Number(message.usage.completion_tokens) || 0;
      parts.push(text('usage', { prompt: promptTokens, completion: completionTokens }));
      var prices = (state.config && state.config.prices) || {};
      var price = typeof message.model === 'string' && Object.prototype.hasOwnProperty.call(prices, message.model) ? prices[message.model] : null;
      if (price) {
        var cost = (price.prompt * promptTokens + price.completion * completionTokens) / 1e6;
        parts.push(span('chat-message-cost', text('cost', { cost: formatCost(cost) })));
      }
      if (Number(message.usage.reasoning_tokens) > 0) {
        parts.push(span('chat-message-reasoning-tokens', text('reasoning_tokens', { n: Number(message.usage.reasoning_tokens) })));
      }
    }
    if (typeof message.ttft_reasoning_ms === 'number' && typeof message.ttft_ms === 'number') {
      parts.push(span('chat-message-ttft', text('ttft_details', {
        reasoning: text('ttft_reasoning', { s: (message.ttft_reasoning_ms / 1000).toFixed(1) }),
        answer: text('ttft_answer', { s: (message.ttft_ms / 1000).toFixed(1) })
      })));
    }
    if (asText(message.model)) { parts.push(span('chat-message-model', asText(message.model))); }
    return parts.length ? div('chat-message-usage', parts) : null;
  }

  /** The stored reasoning, folded (a <details>: its text stays in the DOM) unless the
   *  reader opened it: their choice (state.reasoningOpen, from the toggle event) is
   *  kept through later renders. */
  function reasoningBlock(message) {
    var summary = typeof message.reasoning_ms === 'number' ? text('thought_for', { n: thoughtSeconds(message.reasoning_ms) }) : text('thinking');
    var mdProps = markdownProps(message.reasoning, false);
    return component('Details', 'dash_html_components', {
      className: 'chat-reasoning', open: !!state.reasoningOpen[message.id], 'data-msg-id': asText(message.id), children: [
      component('Summary', 'dash_html_components', { children: summary }),
      mdProps ? component('FefferyMarkdown', 'feffery_markdown_components', mdProps) : div('chat-message-text', asText(message.reasoning))
    ] });
  }
  function messageComponent(message, index, lastIndex, lastAssistant) {
    var role = message.role === 'user' ? 'user' : (message.role === 'system' ? 'system' : 'assistant');
    var avatar = div('chat-avatar chat-avatar-' + role, role === 'user' ? '\u263a' : '\u2726');
    var roleLine = [text(role === 'user' ? 'user' : 'assistant')];
    if (message.stopped) { roleLine.push(span('chat-message-flag', text('stopped'))); }
    else if (message.incomplete) { roleLine.push(span('chat-message-flag', text('incomplete'))); }
    var mdProps = role === 'user' ? null : markdownProps(message.content, true);
    var content = mdProps
      ? component('FefferyMarkdown', 'feffery_markdown_components', mdProps)
      : div('chat-message-text', asText(message.content));
    var idAttr = { 'data-msg-id': asText(message.id) };
    var actions = [actionButton('copy', text('copy'), idAttr)];
    if (role === 'user') { actions.push(actionButton('edit', text('edit'), idAttr)); }
    if (role === 'assistant' && index === lastAssistant && index === lastIndex) {
      actions.push(actionButton('regenerate', text('regenerate'), idAttr));
      if (message.finish_reason === 'length') {
        actions.push(actionButton('continue', text('continue'), idAttr));
      }
    }
    var body = [div('chat-message-role', roleLine)];
    if (role === 'assistant' && asText(message.reasoning)) { body.push(reasoningBlock(message)); }
    body.push(content);
    if (role === 'assistant' && message.finish_reason === 'length') { body.push(div('chat-message-flag chat-message-length', text('length_hint'))); }
    if (message.trimmed) { body.push(div('chat-message-trimmed', text('trimmed', { n: asText(message.trimmed) }))); }
    var usage = role === 'assistant' ? usageLine(message) : null;
    if (usage) { body.push(usage); }
    body.push(div('chat-message-toolbar', actions));
    var classes = 'chat-message chat-message-' + role + (message.incomplete ? ' chat-message-incomplete' : '');
    return div(classes, [avatar, div('chat-message-body', body)],
      { key: asText(message.id) || ('i' + index), 'data-msg-id': asText(message.id) });
  }

  /**
   * messageComponent, memoized per message: an unchanged message yields the very same
   * dict, so Dash/React can skip it when the list is drawn again.
   */
  var drawCache = {};
  function drawMessage(message, index, lastIndex, lastAssistant) {
    var key = [message.id, index === lastIndex, index === lastAssistant, message.finish_reason, message.stopped,
      message.incomplete, message.trimmed, message.model, JSON.stringify(message.usage || null), message.reasoning_ms,
      !!state.reasoningOpen[message.id], locale(),
      isDark(), !!window.mermaid].join('|');
    var hit = drawCache[message.id];
    if (hit && hit.key === key && hit.content === message.content) { return hit.dict; }
    var dict = messageComponent(message, index, lastIndex, lastAssistant);
    if (message.id) { drawCache[message.id] = { key: key, content: message.content, dict: dict }; }
    return dict;
  }

  /**
   * Callback outputs with no_update where the value is what was drawn last (arrays
   * compared item by item, by identity; other values by JSON): every Dash update makes
   * the renderer re-check each component on the page, so unchanged props are not sent.
   */
  var lastOutputs = {};
  function sameOutput(a, b) {
    if (Array.isArray(a) && Array.isArray(b)) {
      return a.length === b.length && a.every(function (item, i) { return item === b[i]; });
    }
    return a === b || JSON.stringify(a) === JSON.stringify(b);
  }
  function onlyChanged(name, outputs) {
    var last = lastOutputs[name] || [];
    lastOutputs[name] = outputs;
    return outputs.map(function (value, i) { return i < last.length && sameOutput(value, last[i]) ? noUpdate() : value; });
  }
  function afterRender(fn) {
    // Outputs are applied after the callback returns: wait two frames.
    window.requestAnimationFrame(function () { window.requestAnimationFrame(fn); });
  }

  function conversationMatches(conversation, query) {
    if (!query) { return true; }
    if (asText(conversation.title).toLowerCase().indexOf(query) >= 0) { return true; }
    var messages = conversation.messages || [];
    for (var i = 0; i < messages.length; i++) {
      if (asText(messages[i].content).toLowerCase().indexOf(query) >= 0) { return true; }
    }
    return false;
  }

  /**
   * The conversation list is drawn as plain DOM inside #chat-conversation-list, not as
   * Dash components: Dash re-checks every component it renders on each update, and a
   * long list made every commit cost ~10 ms per conversation. Text is set with
   * textContent (never parsed as HTML); clicks reach the delegated handler through
   * data-action attributes, as before.
   */
  function sidebarButton(action, label, convId) {
    var button = document.createElement('button');
    button.className = 'chat-action chat-action-' + action;
    button.setAttribute('data-action', action);
    button.setAttribute('data-conv-id', convId);
    button.setAttribute('data-label', label);
    button.setAttribute('aria-label', label);
    button.title = label;
    button.textContent = GLYPHS[action] || '';
    return button;
  }
  function sidebarItem(conversation, active) {
    var title = asText(conversation.title);
    var id = asText(conversation.id);
    var item = document.createElement('div');
    item.className = 'chat-conv-item' + (active ? ' chat-conv-item-active' : '');
    item.setAttribute('data-action', 'switch');
    item.setAttribute('data-conv-id', id);
    item.title = title;
    var name = document.createElement('span');
    name.className = 'chat-conv-title';
    name.textContent = title || text('untitled');
    var actions = document.createElement('span');
    actions.className = 'chat-conv-actions';
    actions.appendChild(sidebarButton('rename', text('rename'), id));
    actions.appendChild(sidebarButton('delete', text('delete'), id));
    item.appendChild(name);
    item.appendChild(actions);
    return item;
  }
  /** Draw `conversations` (or the no-results line) into the list; returns how many. */
  function drawSidebar(conversations, activeId, query) {
    var list = document.getElementById(IDS.conversationList);
    if (!list) { afterRender(function () { drawSidebar(conversations, activeId, query); }); return 0; }
    var holder = list.querySelector('.chat-conv-dom');
    if (!holder) {
      holder = document.createElement('div');
      holder.className = 'chat-conv-dom';
      list.appendChild(holder);
    }
    var nodes = conversations.map(function (c) { return sidebarItem(c, c.id === activeId); });
    if (!nodes.length && query) {
      var empty = document.createElement('div');
      empty.className = 'chat-conv-empty';
      empty.textContent = text('no_results');
      nodes = [empty];
    }
    holder.replaceChildren.apply(holder, nodes);
    return nodes.length;
  }

  // ----- backup / restore ---------------------------------------------------------
  function validMessage(m) {
    return m && typeof m === 'object' && (m.role === 'user' || m.role === 'assistant' || m.role === 'system') &&
      typeof m.content === 'string';
  }
  /**
   * Parse a backup file's text and coerce it against the Backup schema.
   * Returns {conversations, dropped}; throws Error(localized reason) when the file is
   * not a backup at all (not JSON, no format, another version, no conversation list).
   */
  function parseBackup(raw) {
    var doc;
    try { doc = JSON.parse(raw); } catch (e) { throw new Error(text('import_reason_json')); }
    var schema = state.config && state.config.schema;
    if (!doc || typeof doc !== 'object' || Array.isArray(doc) || doc.format !== (schema && schema.backup_format)) {
      throw new Error(text('import_reason_format'));
    }
    if (doc.version !== schema.backup_version) {
      throw new Error(text('import_reason_version', { version: JSON.stringify(doc.version === undefined ? null : doc.version).slice(0, 40) }));
    }
    var checked = coerce('Backup', doc);
    if (!checked.ok) { throw new Error(text('import_reason_shape')); }
    return { conversations: checked.value.conversations, dropped: checked.dropped };
  }
  function signature(conversation) {
    return JSON.stringify([conversation.title || '', (conversation.messages || []).map(function (m) { return [m.role, m.content]; })]);
  }
  function decodeUpload(contents) {
    var comma = contents.indexOf(',');
    try {
      var binary = atob(comma >= 0 ? contents.slice(comma + 1) : contents);
      var bytes = new Uint8Array(binary.length);
      for (var i = 0; i < binary.length; i++) { bytes[i] = binary.charCodeAt(i); }
      return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch (e) {
      throw new Error(text('import_reason_encoding'));
    }
  }
  function stamp() {
    var d = new Date();
    function p(n) { return (n < 10 ? '0' : '') + n; }
    return d.getFullYear() + p(d.getMonth() + 1) + p(d.getDate()) + '-' + p(d.getHours()) + p(d.getMinutes()) + p(d.getSeconds());
  }

  // ----- actions started from the page (event delegation) ----------------------------
  function busy() {
    if (state.run) { toast('warning', text('busy')); return true; }
    return false;
  }
  function openSidebar(open) {
    var sidebar = document.getElementById(IDS.sidebar);
    if (sidebar) { sidebar.classList.toggle('chat-sidebar-open', open); }
    var mask = document.getElementById(IDS.sidebarMask);
    if (mask) { mask.classList.toggle('chat-sidebar-mask-open', open); }
  }
  function switchTo(id) {
    openSidebar(false);
    if (!state.data || !findConversation(state.data, id)) { return; }
    setActive(id);
  }
  function showEarlier() {
    var conversation = activeConversation(state.data);
    if (!conversation) { return; }
    var total = (conversation.messages || []).length;
    var current = state.visible[conversation.id] || INITIAL_VISIBLE;
    if (current >= total) { return; }
    state.visible[conversation.id] = current + PAGE_VISIBLE;
    var element = document.getElementById(IDS.scroll);
    state.keepScroll = element ? { fromBottom: element.scrollHeight - element.scrollTop } : null;
    setProps(IDS.view, { data: { limit: state.visible[conversation.id], at: Date.now() } });
  }
  function regenerate() {
    if (busy()) { return; }
    var next = ensureData(state.data);
    var conversation = editableActive(next);
    var messages = conversation.messages;
    if (messages.length && messages[messages.length - 1].role === 'assistant') { messages.pop(); }
    if (!messages.length || messages[messages.length - 1].role !== 'user') { return; }
    conversation.error = null;
    commit(next);
    startStream(conversation);
  }
  function continueReply(messageId) {
    if (busy()) { return; }
    var next = ensureData(state.data);
    var conversation = editableActive(next);
    var last = conversation.messages[conversation.messages.length - 1];
    if (!last || last.role !== 'assistant' || last.id !== messageId) { return; }
    conversation.error = null;
    state.data = next;
    startStream(conversation, { continueId: last.id });
    commit(next); // redraw without the continued message (it streams below)
  }
  function findMessage(messageId) {
    var conversation = activeConversation(state.data);
    return ((conversation && conversation.messages) || []).filter(function (m) { return m.id === messageId; })[0] || null;
  }
  /** Copy a message's Markdown source (Clipboard API; execCommand fallback for http pages). */
  function copyMessage(messageId) {
    var message = findMessage(messageId);
    if (!message) { return; }
    function fallback() {
      var area = document.createElement('textarea');
      area.value = message.content;
      area.setAttribute('readonly', '');
      area.style.position = 'fixed';
      area.style.opacity = '0';
      document.body.appendChild(area);
      area.select();
      try { document.execCommand('copy'); } finally { document.body.removeChild(area); }
    }
    var done = function () { toast('success', text('copied')); };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(message.content).then(done, function () { fallback(); done(); });
    } else {
      fallback();
      done();
    }
  }
  function openEdit(messageId) {
    if (busy()) { return; }
    var conversation = activeConversation(state.data);
    var message = (conversation && conversation.messages || []).filter(function (m) { return m.id === messageId; })[0];
    if (!message) { return; }
    state.pending.edit = messageId;
    setProps(IDS.editInput, { value: message.content });
    setProps(IDS.editModal, { visible: true });
  }

  document.addEventListener('click', function (event) {
    var target = event.target && event.target.closest ? event.target.closest('[data-action]') : null;
    if (target) {
      var action = target.getAttribute('data-action');
      var convId = target.getAttribute('data-conv-id');
      var msgId = target.getAttribute('data-msg-id');
      if (action === 'switch') { switchTo(convId); }
      else if (action === 'rename') {
        event.stopPropagation();
        var conversation = findConversation(state.data, convId);
        state.pending.rename = convId;
        setProps(IDS.renameInput, { value: (conversation && conversation.title) || '' });
        setProps(IDS.renameModal, { visible: true });
      } else if (action === 'delete') {
        event.stopPropagation();
        state.pending.remove = convId;
        setProps(IDS.deleteModal, { visible: true });
      } else if (action === 'show-earlier') { showEarlier(); }
      else if (action === 'regenerate') { regenerate(); }
      else if (action === 'continue') { continueReply(msgId); }
      else if (action === 'edit') { openEdit(msgId); }
      else if (action === 'copy') { copyMessage(msgId); }
      return;
    }
    var toggle = event.target && event.target.closest ? event.target.closest('#' + IDS.sidebarToggle) : null;
    if (toggle) {
      var sidebar = document.getElementById(IDS.sidebar);
      openSidebar(!(sidebar && sidebar.classList.contains('chat-sidebar-open')));
    } else if (event.target && event.target.id === IDS.sidebarMask) {
      openSidebar(false);
    }
  }, false);

  // A reader opens or closes a stored reasoning block: remember it (toggle does not bubble).
  document.addEventListener('toggle', function (event) {
    var target = event.target;
    if (!target || !target.classList || !target.classList.contains('chat-reasoning')) { return; }
    var id = target.getAttribute('data-msg-id');
    if (id) { state.reasoningOpen[id] = target.open; }
  }, true);

  // Enter to send, Shift+Enter for a new line (IME composition respected).
  document.addEventListener('keydown', function (event) {
    var target = event.target;
    if (!target || target.id !== IDS.input || event.key !== 'Enter') { return; }
    if (event.shiftKey || event.isComposing || event.keyCode === 229) { return; }
    event.preventDefault();
    var button = document.getElementById(IDS.send);
    if (button && !state.run) { button.click(); }
  }, true);

  // Follow the newest text only while the reader is at the bottom; near the top,
  // draw earlier messages (so a long conversation scrolls without clicks).
  document.addEventListener('scroll', function (event) {
    var element = event.target;
    if (!element || element.id !== IDS.scroll) { return; }
    if (state.run) { element.dataset.follow = nearBottom(element) ? 'true' : 'false'; }
    if (element.scrollTop < 300 && !state.keepScroll) { showEarlier(); }
  }, true);

  function loadModels() {
    if (state.modelsLoaded || !state.config) { return; }
    state.modelsLoaded = true;
    fetch(state.config.models_url || '/api/models', { credentials: 'same-origin' })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (body) {
        var checked = coerce('ModelList', body);
        if (!checked.ok) { return; }
        setProps(IDS.model, { options: (checked.value.models || []).map(function (name) { return { label: name, value: name }; }) });
      })
      .catch(function () { state.modelsLoaded = false; });
  }

  function validateNumber(value, min, max, integer) {
    if (!isSet(value)) { return null; }
    var number = Number(value);
    if (!isFinite(number) || number < min || number > max || (integer && Math.floor(number) !== number)) {
      return text(integer ? 'int_error' : 'range_error', { min: min, max: max });
    }
    return null;
  }
  function applyTheme() {
    var dark = isDark();
    document.documentElement.classList.toggle('chat-dark', dark);
    setProps(IDS.streamMarkdown, { codeTheme: codeTheme() });
    return dark;
  }

  // ----- callbacks (wired in callbacks/*.py) -------------------------------------------
  window.dash_clientside = window.dash_clientside || {};
  window.dash_clientside.chat = {
    /** Store/view/prefs → [message children, empty-state style, error style, error text, model tag]. */
    renderMessages: function (data, view, prefs, activeStored, config) {
      var t0 = performance.now();
      state.config = config || state.config;
      state.prefs = trustedPrefs(prefs);
      if (store.status === 'pending') {
        state.activeStored = activeStored;
        startStorage();
        return [noUpdate(), noUpdate(), noUpdate(), noUpdate(), noUpdate()];
      }
      data = state.data;
      saveHistory(data);
      // on load: the conversation open last in this browser, else the history's own
      if (state.activeId === null && activeStored && findConversation(data, activeStored)) { state.activeId = activeStored; }
      loadModels();
      var conversation = data ? activeConversation(data) : null;
      var messages = (conversation && conversation.messages) || [];
      var run = state.run;
      var hideId = run && run.continueId;
      var total = messages.length;
      var switched = !conversation || conversation.id !== state.renderedId;
      state.renderedId = conversation ? conversation.id : null;
      if (switched) { drawCache = {}; }
      var limit = conversation ? (state.visible[conversation.id] || INITIAL_VISIBLE) : INITIAL_VISIBLE;
      // The first drawn message snaps to a multiple of WINDOW_STEP so that appending a
      // reply does not shift the drawn messages (their dicts are memoized, see drawMessage).
      var start = total <= limit ? 0 : Math.floor((total - limit) / WINDOW_STEP) * WINDOW_STEP;
      var lastAssistant = -1;
      for (var i = total - 1; i >= 0; i--) { if (messages[i].role === 'assistant') { lastAssistant = i; break; } }
      var children = [];
      if (start > 0) {
        children.push(component('Button', 'dash_html_components', {
          key: 'show-earlier', className: 'chat-show-earlier', 'data-action': 'show-earlier',
          children: text('show_earlier', { n: start })
        }));
      }
      for (var j = start; j < total; j++) {
        if (hideId && messages[j].id === hideId) { continue; }
        children.push(drawMessage(messages[j], j, total - 1, lastAssistant));
      }
      var error = conversation && conversation.error;
      var streamingHere = !!(run && conversation && run.conversationId === conversation.id);
      showStreamMessage(streamingHere);
      var keep = state.keepScroll;
      afterRender(function () {
        var element = document.getElementById(IDS.scroll);
        if (element && keep) {
          element.scrollTop = element.scrollHeight - keep.fromBottom;
        } else if (element && switched) {
          element.scrollTop = element.scrollHeight;
        } else if (!run) {
          scrollToBottom(false);
        }
        state.keepScroll = null;
        window.chatDebug.lastRender = {
          conversation: conversation ? conversation.id : null, messages: total, drawn: children.length,
          started_at: t0, build_ms: built - t0, painted_ms: performance.now() - t0
        };
      });
      var settings = effectiveSettings(conversation);
      var built = performance.now();
      return onlyChanged('messages', [
        children,
        total || streamingHere ? { display: 'none' } : {},
        error ? {} : { display: 'none' },
        error ? asText(error.message) : '',
        asText(settings.model) || asText(state.config && state.config.model)
      ]);
    },

    /** Store/search → the conversation list, newest first, filtered by title and content. */
    renderSidebar: function (data, query, activeStored, config) {
      state.config = config || state.config;
      data = historyOf();
      var q = String(query || '').trim().toLowerCase();
      var conversations = ((data && data.conversations) || []).slice();
      conversations.sort(function (a, b) { return (b.updated_at || 0) - (a.updated_at || 0); });
      var current = data ? activeConversation(data) : null;
      var activeId = current && current.id;
      var shown = conversations.filter(function (c) { return conversationMatches(c, q); });
      // redraw only when the list as drawn (titles, order, the open one, locale) changed
      var drawn = shown.map(function (c) { return asText(c.id) + '\u0000' + asText(c.title); }).join('\n') +
        '|' + activeId + '|' + q + '|' + locale();
      if (drawn !== state.sidebarDrawn || !document.querySelector('#' + IDS.conversationList + ' .chat-conv-dom')) {
        state.sidebarDrawn = drawn;
        drawSidebar(shown, activeId, q);
      }
      return noUpdate();
    },

    /** Send button → append the user's message, clear the input, stream the reply. */
    send: function (nClicks, value, data, config) {
      state.config = config || state.config;
      if (busy()) { return [noUpdate(), noUpdate()]; }
      var content = value || '';
      if (!content.trim()) { toast('warning', text('empty_input')); return [noUpdate(), noUpdate()]; }
      var limit = (state.config && state.config.max_message_chars) || 32000;
      if (content.length > limit) {
        toast('error', text('too_long', { n: content.length, max: limit }));
        return [noUpdate(), noUpdate()];
      }
      var next = ensureData(historyOf());
      var conversation = editableActive(next);
      conversation.error = null;
      conversation.messages.push({ id: uid('m'), role: 'user', content: content, created_at: Date.now(), seq: nextSeq(conversation) });
      if (!conversation.title) { conversation.title = makeTitle(content); }
      conversation.updated_at = Date.now();
      state.data = next;
      startStream(conversation);
      return [publish(next), ''];
    },

    /** Retry after an error: drop an incomplete reply, then resend. */
    retry: function (nClicks, data, config) {
      state.config = config || state.config;
      data = historyOf();
      if (state.run || !data) { return noUpdate(); }
      var next = ensureData(data);
      var conversation = editableActive(next);
      var messages = conversation.messages;
      if (messages.length && messages[messages.length - 1].role === 'assistant' && messages[messages.length - 1].incomplete) {
        messages.pop();
      }
      if (!messages.length || messages[messages.length - 1].role !== 'user') { return noUpdate(); }
      conversation.error = null;
      state.data = next;
      startStream(conversation);
      return publish(next);
    },

    /** Stop → abort the request; the partial reply is kept by finishRun. */
    stop: function () {
      if (state.run) { state.run.controller.abort(); }
      return noUpdate();
    },

    /** Clear (confirmed) → stop any reply and empty the active conversation. */
    clear: function (confirmCounts, data) {
      if (state.run) { state.run.discard = true; state.run.controller.abort(); }
      var next = ensureData(historyOf());
      var conversation = editableActive(next);
      conversation.messages = [];
      conversation.error = null;
      conversation.title = '';
      conversation.updated_at = Date.now();
      return publish(next);
    },

    /** New chat → a new empty conversation on top (reuses the active one if it is empty). */
    newConversation: function (nClicks, data) {
      var next = ensureData(historyOf());
      var active = activeConversation(next);
      openSidebar(false);
      if (active && !(active.messages || []).length && !(state.run && state.run.conversationId === active.id)) {
        return noUpdate();
      } else {
        var conversation = newConversation();
        next.conversations.unshift(conversation);
        next.active_id = conversation.id;
        setActive(conversation.id);
      }
      state.data = next;
      setProps(IDS.input, { value: '' });
      return publish(next);
    },

    /** Rename dialog OK → set the title (blank keeps the old one). */
    renameConversation: function (okCounts, value, data) {
      var id = state.pending.rename;
      state.pending.rename = null;
      var title = String(value || '').replace(/\s+/g, ' ').trim();
      if (!id || !title) { return noUpdate(); }
      var next = ensureData(historyOf());
      var conversation = editable(next, id);
      if (!conversation) { return noUpdate(); }
      conversation.title = title.slice(0, 120);
      return publish(next);
    },

    /** Delete dialog OK → remove the conversation; the newest other one becomes active. */
    deleteConversation: function (okCounts, data) {
      var id = state.pending.remove;
      state.pending.remove = null;
      if (!id) { return noUpdate(); }
      if (state.run && state.run.conversationId === id) { state.run.discard = true; state.run.controller.abort(); }
      var next = ensureData(historyOf());
      next.conversations = next.conversations.filter(function (c) { return c.id !== id; });
      if (!next.conversations.length) { next.conversations = [newConversation()]; }
      if (!findConversation(next, next.active_id)) {
        var newest = next.conversations.slice().sort(function (a, b) { return (b.updated_at || 0) - (a.updated_at || 0); })[0];
        next.active_id = newest.id;
        setActive(newest.id);
      }
      return publish(next);
    },

    /** Edit dialog "Resend" → replace the user message, drop the turns after it, stream. */
    editResend: function (okCounts, value, data, config) {
      state.config = config || state.config;
      var id = state.pending.edit;
      state.pending.edit = null;
      var content = String(value || '');
      if (!id || busy()) { return noUpdate(); }
      if (!content.trim()) { toast('warning', text('empty_input')); return noUpdate(); }
      var limit = (state.config && state.config.max_message_chars) || 32000;
      if (content.length > limit) { toast('error', text('too_long', { n: content.length, max: limit })); return noUpdate(); }
      var next = ensureData(historyOf());
      var conversation = editableActive(next);
      var index = -1;
      conversation.messages.forEach(function (m, i) { if (m.id === id) { index = i; } });
      if (index < 0) { return noUpdate(); }
      conversation.messages = conversation.messages.slice(0, index);
      conversation.messages.push({ id: uid('m'), role: 'user', content: content, created_at: Date.now(), edited: true,
        seq: nextSeq(conversation) });
      if (index === 0) { conversation.title = makeTitle(content); }
      conversation.error = null;
      conversation.updated_at = Date.now();
      state.data = next;
      startStream(conversation);
      return publish(next);
    },

    /** Back up all → download every conversation as one JSON file. */
    backupExport: function (nClicks, data) {
      var conversations = ((historyOf() || {}).conversations || []).filter(function (c) { return (c.messages || []).length; });
      var doc = { format: BACKUP_FORMAT, version: 1, exported_at: new Date().toISOString(), conversations: conversations };
      toast('success', text('backup_done', { n: conversations.length }));
      return { content: JSON.stringify(doc), filename: 'chat-backup-' + stamp() + '.json', type: 'application/json', base64: false };
    },

    /** Restore → check the file, then merge: new ids are added, identical ones skipped,
     *  same id with other content is added as a copy (nothing is overwritten). */
    importBackup: function (contents, filename, data, config) {
      state.config = config || state.config;
      if (!contents) { return [noUpdate(), noUpdate()]; }
      var doc;
      try {
        doc = parseBackup(decodeUpload(contents));
      } catch (e) {
        toast('error', text('import_bad', { reason: e && e.message ? e.message : text('import_reason_json') }));
        return [noUpdate(), null];
      }
      var next = ensureData(historyOf());
      var added = 0;
      var skipped = 0;
      doc.conversations.forEach(function (incoming) {
        if (!(incoming.messages || []).length) { return; } // nothing left to restore
        var existing = findConversation(next, incoming.id);
        if (existing && signature(existing) === signature(incoming)) { skipped += 1; return; }
        var now = Date.now();
        // incoming is coerced (parseBackup): only known keys, each of its type
        var conversation = {
          id: existing ? uid('c') : incoming.id,
          title: incoming.title || '',
          created_at: incoming.created_at || now,
          updated_at: incoming.updated_at || now,
          settings: incoming.settings || {},
          error: null,
          messages: window.chatStorage.withSeq((incoming.messages || []).map(function (m) {
            return typeof m.id === 'string' ? m : Object.assign({}, m, { id: uid('m') });
          }))
        };
        next.conversations.push(conversation);
        added += 1;
      });
      var summary = text('import_done', { added: added, skipped: skipped });
      if (doc.dropped) { summary += ' ' + text('import_dropped', { n: doc.dropped }); }
      toast(added ? (doc.dropped ? 'warning' : 'success') : 'info', summary);
      if (!added) { return [noUpdate(), null]; }
      return [publish(next), null];
    },

    /** Settings button / scope switch → open the drawer with the values of that scope. */
    openSettings: function (nClicks, scope, data, prefs) {
      var triggered = (window.dash_clientside.callback_context.triggered || []).map(function (t) { return t.prop_id; });
      var opening = triggered.some(function (p) { return p.indexOf('chat-settings-button') === 0; });
      state.prefs = trustedPrefs(prefs);
      loadModels();
      var values = scope === 'global'
        ? (state.prefs.defaults || {})
        : ((activeConversation(historyOf()) || {}).settings || {});
      if (opening) { showStorageInfo(); }
      var out = [opening ? true : noUpdate()];
      out.push(isSet(values.model) ? values.model : null);
      out.push(values.system_prompt || '');
      NUMERIC.forEach(function (spec) { out.push(isSet(values[spec[0]]) ? values[spec[0]] : null); });
      out.push(isSet(values.reasoning_effort) ? values.reasoning_effort : null);
      out.push(state.prefs.api_key || '');
      out.push(state.prefs.base_url || '');
      return out;
    },

    /** Typed values → per-field status and help, and whether Save is allowed. */
    validateSettings: function () {
      var args = Array.prototype.slice.call(arguments);
      var statuses = [];
      var helps = [];
      var bad = false;
      NUMERIC.forEach(function (spec, i) {
        var message = validateNumber(args[i], spec[1], spec[2], spec[3]);
        if (message) { bad = true; }
        statuses.push(message ? 'error' : null);
        helps.push(message);
      });
      var baseUrl = String(args[NUMERIC.length] || '').trim();
      var urlMessage = baseUrl && !/^https?:\/\/\S+$/i.test(baseUrl) ? text('url_error') : null;
      if (urlMessage) { bad = true; }
      return statuses.concat(helps, [urlMessage ? 'error' : null, urlMessage, bad, bad ? text('fix_errors') : '']);
    },

    /** Save → write the values to the conversation or the defaults; key/base URL to prefs. */
    saveSettings: function (nClicks, scope, model, systemPrompt, temperature, topP, presence, frequency, maxTokens, history, reasoningEffort, apiKey, baseUrl, data, prefs) {
      var values = { model: model, system_prompt: systemPrompt, temperature: temperature, top_p: topP, reasoning_effort: reasoningEffort,
        presence_penalty: presence, frequency_penalty: frequency, max_tokens: maxTokens, history: history };
      for (var i = 0; i < NUMERIC.length; i++) {
        if (validateNumber(values[NUMERIC[i][0]], NUMERIC[i][1], NUMERIC[i][2], NUMERIC[i][3])) {
          toast('error', text('fix_errors'));
          return [noUpdate(), noUpdate(), noUpdate()];
        }
      }
      var clean = {};
      SETTING_KEYS.forEach(function (key) { if (isSet(values[key])) { clean[key] = values[key]; } });
      var nextPrefs = Object.assign({}, trustedPrefs(prefs));
      nextPrefs.api_key = String(apiKey || '').trim();
      nextPrefs.base_url = String(baseUrl || '').trim();
      var nextData = noUpdate();
      if (scope === 'global') {
        nextPrefs.defaults = clean;
      } else {
        nextData = ensureData(historyOf());
        var conversation = editableActive(nextData);
        conversation.settings = clean;
        nextData = publish(nextData);
      }
      state.prefs = nextPrefs;
      toast('success', text('saved'));
      return [nextData, nextPrefs, false];
    },

    /** Theme button → flip light/dark in prefs. */
    toggleTheme: function (nClicks, prefs) {
      state.prefs = trustedPrefs(prefs);
      var next = Object.assign({}, state.prefs);
      next.theme = isDark() ? 'light' : 'dark';
      return next;
    },

    /** Prefs → antd algorithm (and the page's dark class, code theme). */
    applyTheme: function (prefs, config) {
      state.config = config || state.config;
      state.prefs = trustedPrefs(prefs);
      return applyTheme() ? 'dark' : 'default';
    },

    /** Language button → remember the other locale in a cookie and reload the page. */
    switchLanguage: function (nClicks, config) {
      var current = (config && config.locale) || locale();
      var other = current === 'zh-CN' ? 'en-US' : 'zh-CN';
      var name = (config && config.locale_cookie) || 'chat_locale';
      document.cookie = name + '=' + other + '; path=/; max-age=31536000; SameSite=Lax';
      window.location.reload();
      return true;
    },

    /** Export → the active conversation with its effective model and system prompt. */
    prepareExport: function (nClicks, data, prefs, config) {
      state.config = config || state.config;
      state.prefs = trustedPrefs(prefs);
      var conversation = activeConversation(historyOf());
      var messages = ((conversation && conversation.messages) || [])
        .filter(validMessage).map(function (m) {
          var out = { role: m.role, content: m.content };
          if (typeof m.reasoning === 'string' && m.reasoning) { out.reasoning = m.reasoning; }
          return out;
        });
      if (!messages.length) { toast('info', text('nothing_to_export')); return noUpdate(); }
      var settings = effectiveSettings(conversation);
      return {
        title: asText(conversation.title) || 'Chat', messages: messages,
        model: asText(settings.model) || asText(config && config.model),
        system_prompt: isSet(settings.system_prompt) ? settings.system_prompt : ((config && config.system_prompt) || ''),
        requested_at: Date.now()
      };
    }
  };
})();
