/**
 * stream.mjs — one reply from request to stored message: POST /api/chat/stream, read
 * the body with fetch() (every SSE event in order, byte-exact; sse.mjs), coerce each
 * event against its schema, paint the growing reply (the first text at once, then
 * throttled: at most one Markdown update every FLUSH_MS, on an animation frame), and store the result (finishRun).
 * Owns the run object (state.run while it streams). Every path — send, retry,
 * regenerate, edit, continue — comes through startStream.
 */
import { asText, coerce, config, id, locale, text } from './config.mjs';
import { debug } from './debug.mjs';
import { setProps, toast, uid } from './dash.mjs';
import { growBlocks, newBlocks } from './blocks.mjs';
import { clearStreams, mountStreamViews, paintStream } from './streamview.mjs';
import { loadMarkdown } from './messageview.mjs';
import { requestPayload } from './payload.mjs';
import { createSSEParser } from './sse.mjs';
import { activeConversation, commit, editable, ensureData, findIndex, state } from './state.mjs';
import { CLS } from './classes.mjs';
import { noteFailure, noteSuccess } from './retry.mjs';

const FLUSH_MS = 40; // ≈25 Markdown updates a second at most

/** Show or hide the streaming reply (one Dash update only when it changes: every
 *  update makes Dash re-check each component on the page). */
export function showStreamMessage(shown) {
  mountStreamViews();
  const className = shown ? CLS.streamActive : CLS.streamIdle;
  if (state.streamClass === className) { return; }
  state.streamClass = className;
  setProps(id('STREAM_MESSAGE'), { className: className });
}
function setStreaming(active) {
  const current = state.data && activeConversation(state.data);
  const shown = active && state.run && current && state.run.conversationId === current.id;
  showStreamMessage(shown);
  if (!active) {
    clearStreams();
    setProps(id('STREAM_REASONING'), { style: { display: 'none' }, open: true });
    setProps(id('STREAM_REASONING_SUMMARY'), { children: text('thinking') });
  }
  setProps(id('SEND_BUTTON'), { style: active ? { display: 'none' } : {} });
  setProps(id('STOP_BUTTON'), { style: active ? {} : { display: 'none' } });
}

export function nearBottom(element) {
  return element.scrollHeight - element.scrollTop - element.clientHeight < 120;
}
export function scrollToBottom(force) {
  const element = document.getElementById(id('SCROLL'));
  if (element && (force || element.dataset.follow !== 'false')) { element.scrollTop = element.scrollHeight; }
}
export function thoughtSeconds(ms) { return Math.max(1, Math.round((ms || 0) / 1000)); }

// The streaming cursor goes after the reply's last character: on the deepest last
// element that holds text (the last list item, the code inside a code block, a table's
// last cell), not after the last top-level block, where it sat on a line of its own.
let streamTail = null;   // the element marked now
let tailWatched = null;  // the holder the observer watches
const TAIL_STOP = { IMG: 1, BR: 1, HR: 1, SVG: 1, INPUT: 1, VIDEO: 1, IFRAME: 1 };
function skipped(node) {
  if (node.nodeType === 3) { return !node.textContent.trim(); }
  if (node.nodeType !== 1) { return true; }
  return node.tagName === 'BUTTON' || /(^|\s)(copy|ant-)/.test(node.getAttribute('class') || '');
}
/** The element the cursor is drawn after (inside `root`, the rendered Markdown). */
export function tailElement(root) {
  let element = root;
  for (;;) {
    let last = element.lastChild;
    while (last && skipped(last)) { last = last.previousSibling; }
    if (!last || last.nodeType !== 1 || TAIL_STOP[last.tagName.toUpperCase()] || last.classList.contains('katex')) { return element; }
    element = last;
  }
}
function markTail() {
  // the growing tail, or the finished part while the tail is still empty (just after a split)
  let holder = document.getElementById(id('STREAM_MARKDOWN_TAIL'));
  if (holder && !holder.textContent.trim()) { holder = document.getElementById(id('STREAM_MARKDOWN_DONE')) || holder; }
  if (!holder) { return; }
  const bodies = holder.querySelectorAll('.markdown-body'); // the last block's
  const root = bodies.length ? bodies[bodies.length - 1] : holder;
  const tail = tailElement(root);
  const old = streamTail;
  if (old === tail && tail.classList.contains(CLS.streamTail)) { return; }
  if (old && old.classList) { old.classList.remove(CLS.streamTail); }
  tail.classList.add(CLS.streamTail);
  streamTail = tail;
}
function watchTail() {
  const holder = document.getElementById(id('STREAM_MARKDOWN'));
  if (!holder || tailWatched === holder) { return; }
  tailWatched = holder;
  new MutationObserver(markTail).observe(holder, { childList: true, subtree: true, characterData: true });
}

/** The reply so far, painted directly (streamview.mjs): its finished blocks are
 *  rendered once (blocks.mjs), the growing tail on every paint. */
function drawText(run) {
  const out = growBlocks(run.replyBlocks, run.prefix + run.text);
  paintStream('reply', out.blocks, out.tail, out.cuts);
}
function flush(run) {
  watchTail();
  run.timer = 0;
  run.frame = 0;
  run.lastFlush = performance.now();
  run.flushes += 1;
  if (run.reasoning !== run.drawnReasoning) {
    run.drawnReasoning = run.reasoning;
    if (!run.reasoningShown) {
      run.reasoningShown = true;
      setProps(id('STREAM_REASONING'), { style: {}, open: true });
    }
    const out = growBlocks(run.reasoningBlocks, run.reasoning);
    paintStream('reasoning', out.blocks, out.tail, out.cuts);
  }
  if (run.reasoningShown && run.text && !run.folded) {
    // the answer has started: fold the thinking once (the reader may open it again)
    run.folded = true;
    setProps(id('STREAM_REASONING'), { open: false });
    setProps(id('STREAM_REASONING_SUMMARY'), { children: text('thought_for', { n: thoughtSeconds(run.reasoningMs) }) });
  }
  drawText(run);
  window.requestAnimationFrame(() => scrollToBottom(false));
}
function scheduleFlush(run) {
  if (run.timer || run.frame) { return; }
  // leading edge: the first text is painted as soon as it is parsed; the throttle
  // (one paint per FLUSH_MS, on an animation frame) applies from the second paint
  if (!run.flushes) { flush(run); return; }
  const wait = Math.max(0, FLUSH_MS - (performance.now() - run.lastFlush));
  run.timer = window.setTimeout(function () {
    run.timer = 0;
    run.frame = window.requestAnimationFrame(() => flush(run));
  }, wait);
}

/** One server event (chatserver/stream_api.py), coerced against its schema
 *  (config.schema.events); an event that does not fit is ignored. */
function handleEvent(run, name, raw) {
  const schemaName = ((config().schema && config().schema.events) || {})[name];
  if (!schemaName) { return; }
  let parsed;
  try { parsed = JSON.parse(raw); } catch (e) { return; }
  const checked = coerce(schemaName, parsed);
  if (!checked.ok) { return; }
  const data = checked.value;
  if (run.status && name !== 'retry' && name !== 'meta') { clearStatus(run); }
  if (name === 'retry') {
    // the server waits before trying the upstream again (nothing was shown yet)
    run.status = true;
    run.retries = (run.retries || 0) + 1;
    setProps(id('STREAM_STATUS'), { children: asText(data.message) });
  } else if (name === 'reasoning') {
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
    if (data.fallback) { toast('warning', text('connection_gone', { model: data.fallback, fallback: data.model || '' })); }
    run.trimmed = (data.trimmed || 0);
    // what the server had to cut to fit the context window (an attached document)
    (data.notices || []).forEach(function (notice) {
      if (notice.code === 'document_cut') {
        toast('warning', text('notice_document_cut', { name: asText(notice.name), sent: notice.sent_tokens, tokens: notice.tokens }));
      } else if (notice.code === 'images_left_out' && notice.count) {
        toast('warning', text('images_left_out_model', { n: notice.count, model: asText(data.model) }));
      }
    });
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

function clearStatus(run) {
  run.status = false;
  setProps(id('STREAM_STATUS'), { children: '' });
}
function httpError(status) { return { status: status, code: 'http_' + status, message: 'HTTP ' + status }; }

/**
 * Stream a reply for `conversation` (its messages end with the user's message, or
 * with the assistant message `opts.continueId` to continue).
 */
export function startStream(conversation, opts) {
  opts = opts || {};
  const continueMessage = opts.continueId ? conversation.messages[conversation.messages.length - 1] : null;
  const request = opts.request || requestPayload(conversation, { config: config(), prefs: state.prefs, locale: locale(), continueReply: !!continueMessage });
  const run = {
    controller: new AbortController(), conversationId: conversation.id, text: '',
    prefix: continueMessage ? continueMessage.content : '', continueId: continueMessage ? continueMessage.id : null,
    t0: performance.now(), ttftMs: null, deltas: 0, flushes: 0, lastFlush: 0, replyBlocks: newBlocks(), reasoningBlocks: newBlocks(),
    reasoning: '', drawnReasoning: '', ttftReasoningMs: null, reasoningMs: null,
    timer: 0, frame: 0, finishReason: null, usage: null, error: null, done: false,
    stopped: false, discard: false, model: null, trimmed: 0, leftOut: request.leftOut,
    seq: (conversation.messages[conversation.messages.length - 1] || {}).seq
  };
  state.run = run;
  // Issue the request first: the re-renders below then overlap with the network
  // round trip instead of delaying it (browser-observed TTFT).
  const responsePromise = fetch(config().stream_url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'Accept': 'text/event-stream' },
    body: JSON.stringify(request.payload),
    signal: run.controller.signal,
    credentials: 'same-origin'
  });
  setStreaming(true);
  loadMarkdown(); // if typing did not load fmc's bundle already
  if (run.prefix) { drawText(run); }
  scrollToBottom(true);
  const element = document.getElementById(id('SCROLL'));
  if (element) { element.dataset.follow = 'true'; }
  responsePromise.then(function (response) {
    if (!response.ok) {
      return response.json().then(function (body) {
        const checked = coerce('ErrorInfo', body && body.error);
        run.error = checked.ok ? checked.value : httpError(response.status);
        // Our own access check (chatserver/access.py): the session expired → sign in again.
        if (response.status === 401 && run.error.code === 'login_required') { window.location.assign(config().login_url); }
      }, function () { run.error = httpError(response.status); });
    }
    // bytes straight from the body, decoded here (a TextDecoderStream would add a hop per chunk)
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    const feed = createSSEParser((name, raw) => handleEvent(run, name, raw));
    function pump() {
      return reader.read().then(function (result) {
        if (result.done) { feed(decoder.decode()); feed.end(); return; }
        feed(decoder.decode(result.value, { stream: true }));
        return pump();
      });
    }
    return pump().then(function () {
      if (!run.done && !run.error) {
        run.error = { status: 502, code: 'stream_interrupted', message: text('interrupted') };
      }
    });
  }).catch(function () {
    if (run.controller.signal.aborted) {
      run.stopped = true;
    } else if (!run.error) {
      run.error = { status: 0, code: 'network', message: text('network') };
    }
  }).then(() => finishRun(run));
}

export function addUsage(a, b) {
  if (!a) { return b; }
  if (!b) { return a; }
  return {
    prompt_tokens: (a.prompt_tokens || 0) + (b.prompt_tokens || 0),
    completion_tokens: (a.completion_tokens || 0) + (b.completion_tokens || 0),
    total_tokens: (a.total_tokens || 0) + (b.total_tokens || 0)
  };
}

/** The reply as a stored message (StoredMessage), or null when nothing arrived. */
function replyMessage(run, leftOut) {
  if (!run.text && !run.reasoning) { return null; }
  const message = {
    id: uid('m'), role: 'assistant', content: run.text, created_at: Date.now(),
    finish_reason: run.finishReason, model: run.model, seq: run.seq
  };
  if (run.usage) { message.usage = run.usage; }
  if (run.ttftMs !== null) { message.ttft_ms = Math.round(run.ttftMs); }
  if (run.reasoning) {
    // kept with the message, never sent back (payload.mjs sends role and content only)
    message.reasoning = run.reasoning;
    message.ttft_reasoning_ms = Math.round(run.ttftReasoningMs);
    message.reasoning_ms = Math.round(run.reasoningMs !== null ? run.reasoningMs : performance.now() - run.t0 - run.ttftReasoningMs);
  }
  if (run.stopped) { message.stopped = true; }
  if (run.error || run.unclosedThought) { message.incomplete = true; }
  if (leftOut > 0) { message.trimmed = leftOut; }
  return message;
}

function finishRun(run) {
  if (run.timer) { window.clearTimeout(run.timer); }
  if (run.frame) { window.cancelAnimationFrame(run.frame); }
  if (state.run === run) { state.run = null; }
  debug.runs += 1;
  debug.lastRun = {
    ttft_ms: run.ttftMs, total_ms: performance.now() - run.t0, deltas: run.deltas, flushes: run.flushes,
    chars: run.text.length, finish_reason: run.finishReason, stopped: run.stopped,
    error: run.error ? run.error.code : null, server: run.server || null,
    trimmed: run.trimmed, left_out: run.leftOut, retries: run.retries || 0
  };
  setStreaming(false);
  if (run.status) { clearStatus(run); }
  // the Retry button waits out Retry-After and backs off over consecutive failures
  if (run.error && !run.stopped) { noteFailure(run.conversationId, run.error); } else if (!run.stopped) { noteSuccess(run.conversationId); }
  // a reply answered with the user's own key: the no-key banner has done its job
  if (!run.error && run.done && state.prefs && state.prefs.api_key) { setProps(id('KEY_ALERT'), { style: { display: 'none' } }); }
  // the header's budget line (callbacks/budget.py) is drawn again after a reply, only
  // when budgets apply: a server round trip on every commit would cost every user
  if (config().budgets) { setProps(id('BUDGET_TICK'), { data: Date.now() }); }
  const next = ensureData(state.data);
  if (run.discard || findIndex(next, run.conversationId) < 0) {
    commit(next); // redraw (a continued message was hidden while streaming)
    return;
  }
  const conversation = editable(next, run.conversationId);
  if (run.continueId) {
    const index = conversation.messages.findIndex((m) => m.id === run.continueId);
    if (index >= 0 && run.text) {
      const old = conversation.messages[index];
      const merged = Object.assign({}, old, {
        content: old.content + run.text, finish_reason: run.finishReason || old.finish_reason,
        usage: addUsage(old.usage, run.usage), model: run.model || old.model
      });
      if (run.stopped) { merged.stopped = true; } else { delete merged.stopped; }
      if (run.error) { merged.incomplete = true; }
      conversation.messages[index] = merged;
    }
  } else {
    const message = replyMessage(run, (run.leftOut || 0) + (run.trimmed || 0));
    if (message) {
      conversation.messages.push(message);
      // another tab may have added turns meanwhile: the reply goes right after its question
      conversation.messages = globalThis.chatStorage ? globalThis.chatStorage.sortMessages(conversation.messages) : conversation.messages;
    }
  }
  conversation.error = run.error && !run.stopped ? run.error : null;
  conversation.updated_at = Date.now();
  commit(next);
}
