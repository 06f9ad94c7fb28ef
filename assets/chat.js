/*
 * Page script of the chat: streaming, sending, stopping, rendering the history.
 *
 * Why a hand-written stream reader instead of a component: fuc.FefferyPostEventSource
 * exposes only the latest `data` (React batching can collapse several events into
 * one and lose deltas) and dash_extensions.SSE drops newlines and has no error
 * channel. This module reads the fetch() body stream itself, parses SSE (HTML
 * Living Standard §9.2) and so sees every event in order, byte-exact. Rendering is
 * throttled (at most one Markdown update every FLUSH_MS, on an animation frame).
 *
 * Callbacks wired from callbacks/*.py live under window.dash_clientside.chat.
 * Store shape (chat-history-store, kept in IndexedDB):
 *   {version: 1, active_id: str, conversations: [{id, title, created_at, updated_at,
 *     settings: {}, error: null | {status, code, message, retry_after},
 *     messages: [{id, role, content, created_at, finish_reason?, usage?,
 *                 incomplete?, stopped?, ttft_ms?}]}]}
 */
(function () {
  'use strict';

  var FLUSH_MS = 40; // ≈25 Markdown updates a second at most
  var IDS = {
    store: 'chat-history-store',
    streamMessage: 'chat-stream-message',
    streamMarkdown: 'chat-stream-markdown',
    send: 'chat-send-button',
    stop: 'chat-stop-button',
    input: 'chat-input',
    scroll: 'chat-scroll',
    globalMessage: 'global-message'
  };
  var SAFE_LINK_FUNC = "(href) => { const h = String(href || '').trim(); " +
    "return /^(https?:|mailto:|#)/i.test(h) ? h : '#'; }";

  var state = {
    data: null,      // mirror of the store, refreshed by renderMessages
    config: null,    // public server config
    run: null        // the reply being streamed, or null
  };
  // Read-only view for tests and benchmarks (timings of the last reply).
  window.chatDebug = { lastRun: null, runs: 0 };

  function noUpdate() { return window.dash_clientside.no_update; }
  function setProps(id, props) { window.dash_clientside.set_props(id, props); }
  function clone(value) { return JSON.parse(JSON.stringify(value)); }
  function uid(prefix) {
    return prefix + '-' + Date.now().toString(36) + '-' + Math.random().toString(36).slice(2, 8);
  }

  function locale() {
    var lang = (document.documentElement.lang || navigator.language || 'en-US');
    return /^zh/i.test(lang) ? 'zh-CN' : 'en-US';
  }
  function text(key, params) {
    var texts = (state.config && state.config.texts) || {};
    var table = texts[locale()] || texts['en-US'] || {};
    var value = table[key] || (texts['en-US'] || {})[key] || key;
    Object.keys(params || {}).forEach(function (name) {
      value = value.split('{' + name + '}').join(String(params[name]));
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

  // ----- conversations ----------------------------------------------------
  function newConversation() {
    var now = Date.now();
    return { id: uid('c'), title: '', created_at: now, updated_at: now, settings: {}, error: null, messages: [] };
  }
  function ensureData(data) {
    if (data && Array.isArray(data.conversations) && data.conversations.length) { return clone(data); }
    var conversation = newConversation();
    return { version: 1, active_id: conversation.id, conversations: [conversation] };
  }
  function findConversation(data, id) {
    if (!data || !Array.isArray(data.conversations)) { return null; }
    for (var i = 0; i < data.conversations.length; i++) {
      if (data.conversations[i].id === id) { return data.conversations[i]; }
    }
    return null;
  }
  function activeConversation(data) {
    var found = findConversation(data, data && data.active_id);
    if (!found && data && data.conversations && data.conversations.length) {
      data.active_id = data.conversations[0].id;
      found = data.conversations[0];
    }
    return found;
  }
  function makeTitle(content) {
    var line = content.replace(/\s+/g, ' ').trim();
    return line.length > 40 ? line.slice(0, 40) + '…' : line;
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
  function setStreaming(active) {
    setProps(IDS.streamMessage, { className: active ? 'chat-message chat-message-assistant chat-stream-active' : 'chat-stream-idle' });
    if (!active) { setProps(IDS.streamMarkdown, { markdownStr: '' }); }
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
    setProps(IDS.streamMarkdown, { markdownStr: run.text });
    window.requestAnimationFrame(function () { scrollToBottom(false); });
  }
  function scheduleFlush(run) {
    if (run.timer || run.frame) { return; }
    var wait = Math.max(0, FLUSH_MS - (performance.now() - run.lastFlush));
    run.timer = window.setTimeout(function () {
      run.timer = 0;
      run.frame = window.requestAnimationFrame(function () { flush(run); });
    }, wait);
  }

  function requestPayload(conversation) {
    var settings = conversation.settings || {};
    var payload = {
      messages: conversation.messages
        .filter(function (m) { return m.role === 'user' || m.role === 'assistant' || m.role === 'system'; })
        .map(function (m) { return { role: m.role, content: m.content }; }),
      locale: locale()
    };
    ['model', 'system_prompt', 'temperature', 'top_p', 'presence_penalty', 'frequency_penalty', 'max_tokens']
      .forEach(function (name) {
        if (settings[name] !== undefined && settings[name] !== null && settings[name] !== '') { payload[name] = settings[name]; }
      });
    return payload;
  }

  function handleEvent(run, name, raw) {
    var data;
    try { data = JSON.parse(raw); } catch (e) { return; }
    if (name === 'delta') {
      if (run.ttftMs === null) { run.ttftMs = performance.now() - run.t0; }
      run.text += data.content;
      run.deltas += 1;
      scheduleFlush(run);
    } else if (name === 'meta') {
      run.model = data.model;
    } else if (name === 'finish') {
      run.finishReason = data.finish_reason;
    } else if (name === 'usage') {
      run.usage = data;
    } else if (name === 'error') {
      run.error = data;
    } else if (name === 'done') {
      run.done = true;
      run.server = data;
    }
  }

  function startStream(conversation) {
    var run = {
      controller: new AbortController(), conversationId: conversation.id, text: '',
      t0: performance.now(), ttftMs: null, deltas: 0, flushes: 0, lastFlush: 0,
      timer: 0, frame: 0, finishReason: null, usage: null, error: null, done: false,
      stopped: false, discard: false, model: null
    };
    state.run = run;
    setStreaming(true);
    scrollToBottom(true);
    var element = document.getElementById(IDS.scroll);
    if (element) { element.dataset.follow = 'true'; }
    fetch((state.config && state.config.stream_url) || '/api/chat/stream', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'Accept': 'text/event-stream' },
      body: JSON.stringify(requestPayload(conversation)),
      signal: run.controller.signal,
      credentials: 'same-origin'
    }).then(function (response) {
      if (!response.ok) {
        return response.json().then(function (body) {
          run.error = (body && body.error) || { status: response.status, code: 'http_' + response.status, message: 'HTTP ' + response.status };
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

  function finishRun(run) {
    if (run.timer) { window.clearTimeout(run.timer); }
    if (run.frame) { window.cancelAnimationFrame(run.frame); }
    if (state.run === run) { state.run = null; }
    var totalMs = performance.now() - run.t0;
    window.chatDebug.runs += 1;
    window.chatDebug.lastRun = {
      ttft_ms: run.ttftMs, total_ms: totalMs, deltas: run.deltas, flushes: run.flushes,
      chars: run.text.length, finish_reason: run.finishReason, stopped: run.stopped,
      error: run.error ? run.error.code : null, server: run.server || null
    };
    setStreaming(false);
    if (run.discard) { return; }
    var data = ensureData(state.data);
    var conversation = findConversation(data, run.conversationId);
    if (!conversation) { return; }
    if (run.text) {
      var message = {
        id: uid('m'), role: 'assistant', content: run.text, created_at: Date.now(),
        finish_reason: run.finishReason, model: run.model
      };
      if (run.usage) { message.usage = run.usage; }
      if (run.ttftMs !== null) { message.ttft_ms = Math.round(run.ttftMs); }
      if (run.stopped) { message.stopped = true; }
      if (run.error) { message.incomplete = true; }
      conversation.messages.push(message);
    }
    conversation.error = run.error && !run.stopped ? run.error : null;
    conversation.updated_at = Date.now();
    state.data = data;
    setProps(IDS.store, { data: data });
  }

  // ----- Enter to send, Shift+Enter for a new line ----------------------------
  document.addEventListener('keydown', function (event) {
    var target = event.target;
    if (!target || target.id !== IDS.input || event.key !== 'Enter') { return; }
    if (event.shiftKey || event.isComposing || event.keyCode === 229) { return; }
    event.preventDefault();
    var button = document.getElementById(IDS.send);
    if (button && !state.run) { button.click(); }
  }, true);

  // Follow the newest text only while the reader is at the bottom.
  document.addEventListener('scroll', function (event) {
    var element = event.target;
    if (element && element.id === IDS.scroll && state.run) {
      element.dataset.follow = nearBottom(element) ? 'true' : 'false';
    }
  }, true);

  // ----- rendering ------------------------------------------------------------
  function component(type, namespace, props) { return { type: type, namespace: namespace, props: props }; }
  function div(className, children, extra) {
    var props = { className: className, children: children };
    Object.keys(extra || {}).forEach(function (k) { props[k] = extra[k]; });
    return component('Div', 'dash_html_components', props);
  }

  function messageComponent(message, index) {
    var role = message.role === 'user' ? 'user' : (message.role === 'system' ? 'system' : 'assistant');
    var avatar = component('AntdAvatar', 'feffery_antd_components', {
      mode: 'icon', icon: role === 'user' ? 'antd-user' : 'antd-robot', className: 'chat-avatar chat-avatar-' + role
    });
    var roleLine = [text(role === 'user' ? 'user' : 'assistant')];
    if (message.stopped) { roleLine.push(component('Span', 'dash_html_components', { className: 'chat-message-flag', children: text('stopped') })); }
    else if (message.incomplete) { roleLine.push(component('Span', 'dash_html_components', { className: 'chat-message-flag', children: text('incomplete') })); }
    roleLine.push(component('AntdCopyText', 'feffery_antd_components', { text: message.content, className: 'chat-message-actions' }));
    var content = role === 'user'
      ? div('chat-message-text', message.content)
      : component('FefferyMarkdown', 'feffery_markdown_components', {
        markdownStr: message.content, renderHtml: false, codeTheme: 'gh-colors', showLineNumbers: false,
        showCopyButton: true, wrapLongLines: true, linkTransformFunc: SAFE_LINK_FUNC,
        forceTableContentTextAlignCenter: false
      });
    var classes = 'chat-message chat-message-' + role + (message.incomplete ? ' chat-message-incomplete' : '');
    return div(classes, [avatar, div('chat-message-body', [div('chat-message-role', roleLine), content])],
      { key: message.id || ('i' + index) });
  }

  window.dash_clientside = window.dash_clientside || {};
  window.dash_clientside.chat = {
      /** Store → [message list children, empty-state style, error box style, error text]. */
      renderMessages: function (data, config) {
        state.config = config || state.config;
        state.data = data || null;
        var conversation = data ? activeConversation(clone({ active_id: data.active_id, conversations: data.conversations || [] })) : null;
        var messages = (conversation && conversation.messages) || [];
        var children = messages.map(messageComponent);
        var error = conversation && conversation.error;
        var busy = !!state.run;
        return [
          children,
          messages.length || busy ? { display: 'none' } : {},
          error ? {} : { display: 'none' },
          error ? error.message : ''
        ];
      },

      /** Send button → append the user's message, clear the input, stream the reply. */
      send: function (nClicks, value, data, config) {
        state.config = config || state.config;
        if (state.run) { toast('warning', text('busy')); return [noUpdate(), noUpdate()]; }
        var content = value || '';
        if (!content.trim()) { toast('warning', text('empty_input')); return [noUpdate(), noUpdate()]; }
        var limit = (state.config && state.config.max_message_chars) || 32000;
        if (content.length > limit) {
          toast('error', text('too_long', { n: content.length, max: limit }));
          return [noUpdate(), noUpdate()];
        }
        var next = ensureData(data || state.data);
        var conversation = activeConversation(next);
        conversation.error = null;
        conversation.messages.push({ id: uid('m'), role: 'user', content: content, created_at: Date.now() });
        if (!conversation.title) { conversation.title = makeTitle(content); }
        conversation.updated_at = Date.now();
        state.data = next;
        startStream(conversation);
        return [next, ''];
      },

      /** Retry after an error: drop an incomplete reply, then resend. */
      retry: function (nClicks, data, config) {
        state.config = config || state.config;
        if (state.run || !data) { return noUpdate(); }
        var next = ensureData(data);
        var conversation = activeConversation(next);
        var messages = conversation.messages;
        if (messages.length && messages[messages.length - 1].role === 'assistant' && messages[messages.length - 1].incomplete) {
          messages.pop();
        }
        if (!messages.length || messages[messages.length - 1].role !== 'user') { return noUpdate(); }
        conversation.error = null;
        state.data = next;
        startStream(conversation);
        return next;
      },

      /** Stop → abort the request; the partial reply is kept by finishRun. */
      stop: function () {
        if (state.run) { state.run.controller.abort(); }
        return noUpdate();
      },

      /** Clear (confirmed) → stop any reply and empty the active conversation. */
      clear: function (confirmCounts, data) {
        if (state.run) { state.run.discard = true; state.run.controller.abort(); }
        var next = ensureData(data || state.data);
        var conversation = activeConversation(next);
        conversation.messages = [];
        conversation.error = null;
        conversation.title = '';
        conversation.updated_at = Date.now();
        state.data = next;
        return next;
      }
  };
})();
