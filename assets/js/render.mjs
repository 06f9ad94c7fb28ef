/**
 * render.mjs — the open conversation drawn as Dash component dicts (text as strings
 * only, asText: Dash renders any {type, namespace, props} placed in children as a live
 * component), memoized per message so an unchanged message is the very same dict, and
 * the outputs of the renderMessages callback (no_update where nothing changed).
 */
import { documentInfo, installAttachments } from './attach.mjs';
import { versionsAt } from './branches.mjs';
import { asText, config, id, locale, setConfig, text } from './config.mjs';
import { debug } from './debug.mjs';
import { afterRender, noUpdate, setProps } from './dash.mjs';
import { el, loadMarkdown, markdownEl, markdownReady, messageDict, onMarkdown } from './messageview.mjs';
import { loadMermaid } from './mermaid.mjs';
import { effectiveSettings } from './payload.mjs';
import { saveHistory, startStorage, store, trustedPrefs } from './persist.mjs';
import { loadModels } from './settings.mjs';
import { activeConversation, findConversation, state } from './state.mjs';
import { scrollToBottom, showStreamMessage, thoughtSeconds } from './stream.mjs';
import { codeTheme, isDark } from './theme.mjs';
import { CLS, GLYPHS } from './classes.mjs';
import { showRetry } from './retry.mjs';
import { restoreDraft } from './draft.mjs';
import { drawConversations } from './sidebar.mjs';

const INITIAL_VISIBLE = 40; // messages drawn when a conversation opens
export const PAGE_VISIBLE = 60; // more drawn per "show earlier" / scroll to the top
const WINDOW_STEP = 20;

// Dash component dicts: the shells and the "show earlier" button only
function html(type, className, children, extra) {
  return { type: type, namespace: 'dash_html_components', props: Object.assign({ className: className, children: children }, extra || {}) };
}
// a message's parts: the spec its ChatMessage draws (messageview.mjs)
function div(className, children, extra) { return el('div', className, children, extra); }
function span(className, children, extra) { return el('span', className, children, extra); }
function actionButton(action, label, extra) {
  return el('button', CLS.action(action), GLYPHS[action] || '', Object.assign(
    { 'data-action': action, title: label, 'data-label': label, 'aria-label': label }, extra || {}));
}
export function visibleCount(convId) { return state.visible[convId] || INITIAL_VISIBLE; }

/** fmc props for a stored message: the server's markdown_props (components/messages.py:
 *  no raw HTML, the link filter) plus theme and content. Returns null without them,
 *  so the caller shows plain text (fail closed). */
function markdownProps(markdown, withMermaid) {
  const base = config().markdown_props;
  if (!base) { return null; }
  const props = Object.assign({}, base, { markdownStr: asText(markdown), codeTheme: codeTheme() });
  // mermaid in strict mode: no click callbacks, HTML labels sanitized (mermaid.mjs)
  if (withMermaid && /```mermaid/.test(props.markdownStr)) {
    if (window.mermaid) {
      props.mermaidOptions = { securityLevel: 'strict', theme: isDark() ? 'dark' : 'default' };
    } else {
      loadMermaid();
    }
  }
  return props;
}
function markdown(value, withMermaid) {
  const props = markdownProps(value, withMermaid);
  return props ? markdownEl(props) : div(CLS.messageText, asText(value));
}
function formatCost(cost) { return cost >= 0.01 ? cost.toFixed(4) : cost.toPrecision(2); }

function usageLine(message) {
  const parts = [];
  if (message.usage) {
    const promptTokens = Number(message.usage.prompt_tokens) || 0;
    const completionTokens = Number(message.usage.completion_tokens) || 0;
    parts.push(text(message.usage.estimated ? 'usage_estimated' : 'usage', { prompt: promptTokens, completion: completionTokens }));
    const prices = config().prices || {};
    const price = typeof message.model === 'string' && Object.prototype.hasOwnProperty.call(prices, message.model) ? prices[message.model] : null;
    if (typeof message.usage.cost === 'number') {
      // what the provider says it cost (OpenRouter's usage.cost, USD)
      parts.push(span(CLS.messageCost, text('cost', { symbol: config().usage_cost_symbol, cost: formatCost(message.usage.cost) })));
    } else if (price) {
      const cost = (price.prompt * promptTokens + price.completion * completionTokens) / 1e6;
      parts.push(span(CLS.messageCost, text('cost', { symbol: price.symbol || '', cost: formatCost(cost) })));
    }
    if (Number(message.usage.reasoning_tokens) > 0) {
      parts.push(span(CLS.messageReasoningTokens, text('reasoning_tokens', { n: Number(message.usage.reasoning_tokens) })));
    }
  }
  if (typeof message.ttft_reasoning_ms === 'number' && typeof message.ttft_ms === 'number') {
    parts.push(span(CLS.messageTtft, text('ttft_details', {
      reasoning: text('ttft_reasoning', { s: (message.ttft_reasoning_ms / 1000).toFixed(1) }),
      answer: text('ttft_answer', { s: (message.ttft_ms / 1000).toFixed(1) })
    })));
  }
  if (asText(message.model)) { parts.push(span(CLS.messageModel, asText(message.model))); }
  return parts.length ? div(CLS.messageUsage, parts) : null;
}

/** The stored reasoning, folded (a <details>: its text stays in the DOM) unless the
 *  reader opened it: their choice (state.reasoningOpen, from the toggle event) is
 *  kept through later renders. */
function reasoningBlock(message) {
  const summary = typeof message.reasoning_ms === 'number' ? text('thought_for', { n: thoughtSeconds(message.reasoning_ms) }) : text('thinking');
  return el('details', CLS.reasoning, [el('summary', null, summary), markdown(message.reasoning, false)],
    { open: !!state.reasoningOpen[message.id], 'data-msg-id': asText(message.id) });
}
/** The message's checkbox for Export selected: an <input type=checkbox> (CLS.messageSelect)
 *  in a <label> whose text is for screen readers only; its ticks live in state.selected
 *  (backup.mjs installSelection), and a ticked message is drawn anew. */
function selectBox(message) {
  const label = text('select_message');
  return el('label', CLS.messageSelectBox, [
    el('input', CLS.messageSelect, null, { type: 'checkbox', defaultChecked: !!state.selected[message.id], title: label }),
    span(CLS.messageSelectBox + '-label', label)
  ], { title: label });
}
/** A sent message's attachments: image thumbnails (a click shows the image full size:
 *  attach.mjs) and document chips with name, size and estimated tokens — text as strings,
 *  an image only as the data URL the schema allows (png/jpeg/webp/gif base64). */
function attachmentsBlock(message) {
  const items = (message.attachments || []).map(function (a) {
    const kind = a.kind === 'image' ? 'image' : 'document';
    const name = asText(a.name);
    const children = kind === 'image'
      ? [el('img', CLS.attachmentThumb, null, { src: asText(a.data), alt: name, title: name })]
      : [span(CLS.attachmentIcon, '\u2263'), div(CLS.attachmentMeta, [span(CLS.attachmentName, name), span(CLS.attachmentInfo, documentInfo(a))])];
    return div(CLS.attachment + ' ' + CLS.attachmentKind(kind), children, { key: asText(a.id), title: name });
  });
  return items.length ? div(CLS.messageAttachments, items) : null;
}
/** ‹ n / m › of a message with versions: buttons (data-action branch-prev / -next, by
 *  delegation in actions.mjs) and the label, e.g. "2 / 3". */
function branchPager(message, versions) {
  const idAttr = { 'data-msg-id': asText(message.id) };
  const prev = el('button', CLS.branchPrev, '\u2039', Object.assign({ 'data-action': 'branch-prev', title: text('branch_prev'),
    'aria-label': text('branch_prev'), disabled: versions.current === 0 }, idAttr));
  const next = el('button', CLS.branchNext, '\u203a', Object.assign({ 'data-action': 'branch-next', title: text('branch_next'),
    'aria-label': text('branch_next'), disabled: versions.current === versions.count - 1 }, idAttr));
  return div(CLS.branchPager, [prev, span(CLS.branchLabel, (versions.current + 1) + ' / ' + versions.count), next]);
}
function messageComponent(message, index, lastIndex, lastAssistant, versions) {
  const role = message.role === 'user' ? 'user' : (message.role === 'system' ? 'system' : 'assistant');
  const avatar = div(CLS.avatar(role), role === 'user' ? '\u263a' : '\u2726');
  const roleLine = [text(role === 'user' ? 'user' : 'assistant')];
  if (message.stopped) { roleLine.push(span(CLS.messageFlag, text('stopped'))); }
  else if (message.incomplete) { roleLine.push(span(CLS.messageFlag, text('incomplete'))); }
  const idAttr = { 'data-msg-id': asText(message.id) };
  const actions = versions ? [branchPager(message, versions)] : [];
  actions.push(actionButton('copy', text('copy'), idAttr));
  if (role === 'user') { actions.push(actionButton('edit', text('edit'), idAttr)); }
  if (role === 'assistant' && index === lastAssistant && index === lastIndex) {
    actions.push(actionButton('regenerate', text('regenerate'), idAttr));
    if (message.finish_reason === 'length') { actions.push(actionButton('continue', text('continue'), idAttr)); }
  }
  // ticked for Export selected: its state lives in state.selected (backup.mjs reads the clicks)
  actions.push(selectBox(message));
  const body = [div(CLS.messageRoleLine, roleLine)];
  if (role === 'assistant' && asText(message.reasoning)) { body.push(reasoningBlock(message)); }
  const attachments = role === 'user' ? attachmentsBlock(message) : null;
  if (role !== 'user' || asText(message.content) || !attachments) {
    body.push(role === 'user' ? div(CLS.messageText, asText(message.content)) : markdown(message.content, true));
  }
  if (attachments) { body.push(attachments); }
  if (role === 'assistant' && message.finish_reason === 'length') { body.push(div(CLS.messageFlag + ' ' + CLS.messageLength, text('length_hint'))); }
  if (message.trimmed) { body.push(div(CLS.messageTrimmed, text('trimmed', { n: asText(message.trimmed) }))); }
  const usage = role === 'assistant' ? usageLine(message) : null;
  if (usage) { body.push(usage); }
  body.push(div(CLS.messageToolbar, actions));
  const classes = CLS.message + ' ' + CLS.messageRole(role) + (message.incomplete ? ' ' + CLS.messageIncomplete : '');
  return messageDict(div(classes, [avatar, div(CLS.messageBody, body)], { 'data-msg-id': asText(message.id) }),
    asText(message.id) || ('i' + index));
}

/** messageComponent, memoized per message: an unchanged message yields the very same
 *  dict, so Dash/React can skip it when the list is drawn again. */
let drawCache = {};
// fmc's bundle loads on first need (messageview.mjs loadMarkdown): messages drawn as plain
// text meanwhile are drawn again once it is there (drawKey includes markdownReady)
onMarkdown(() => setProps(id('VIEW_STORE'), { data: { limit: 0, at: Date.now() } }));
function drawMessage(message, index, lastIndex, lastAssistant, versions) {
  const key = [message.id, versions ? versions.current + '/' + versions.count : '', index === lastIndex, index === lastAssistant, message.finish_reason, message.stopped,
    message.incomplete, message.trimmed, message.model, JSON.stringify(message.usage || null), message.reasoning_ms,
    !!state.reasoningOpen[message.id], !!state.selected[message.id], locale(), isDark(), !!window.mermaid, markdownReady()].join('|');
  const hit = drawCache[message.id];
  if (hit && hit.key === key && hit.content === message.content && hit.attachments === message.attachments) { return hit.dict; }
  const dict = messageComponent(message, index, lastIndex, lastAssistant, versions);
  if (message.id) { drawCache[message.id] = { key: key, content: message.content, attachments: message.attachments, dict: dict }; }
  return dict;
}

/** Callback outputs with no_update where the value is what was drawn last (arrays
 *  compared item by item, by identity; other values by JSON): every Dash update makes
 *  the renderer re-check each component on the page, so unchanged props are not sent. */
const lastOutputs = {};
function sameOutput(a, b) {
  if (Array.isArray(a) && Array.isArray(b)) { return a.length === b.length && a.every((item, i) => item === b[i]); }
  return a === b || JSON.stringify(a) === JSON.stringify(b);
}
function onlyChanged(name, outputs) {
  const last = lastOutputs[name] || [];
  lastOutputs[name] = outputs;
  return outputs.map((value, i) => (i < last.length && sameOutput(value, last[i]) ? noUpdate() : value));
}

/*
 * The drawn messages sit in chunk shells: #chat-messages holds a fixed list of Divs
 * (CLS.messagesChunk, display: contents; ids MESSAGES_CHUNK-<n>), shell n holding messages
 * [n·CHUNK, (n+1)·CHUNK). Why: when a callback sets a component's `children`, Dash's
 * renderer mounts every child afresh (DashWrapper: a new `_newRender` for each child, a
 * new error-boundary key), so one list of messages would re-mount (re-parse, re-highlight)
 * every drawn message on each commit. With shells only the shell whose messages changed
 * gets new children (set_props); the shell list itself changes only on a conversation
 * switch, "show earlier", or when the spare shells run out (every SPARE_CHUNKS·CHUNK
 * appended messages).
 */
const CHUNK = 4;          // messages per shell: a commit re-mounts at most this many (WINDOW_STEP is a multiple)
const SPARE_CHUNKS = 10;   // empty shells kept after the last drawn message
let shells = { convId: null, first: 0, count: 0, drawn: {}, earlier: null };
function chunkId(n) { return id('MESSAGES_CHUNK') + '-' + n; } // n: a shell's number or 'earlier'
function shell(n, children) { return html('Div', CLS.messagesChunk, children, { id: chunkId(n) }); }

/** The drawn window of `messages`: {start, earlier: [button] or [], chunks: {n: [message dicts]}, drawn}. */
function drawnWindow(conversation, messages, limit, hideId) {
  const total = messages.length;
  // The first drawn message snaps to a multiple of WINDOW_STEP so that appending a
  // reply does not shift the drawn messages (their dicts are memoized, see drawMessage).
  const start = total <= limit ? 0 : Math.floor((total - limit) / WINDOW_STEP) * WINDOW_STEP;
  let lastAssistant = -1;
  for (let i = total - 1; i >= 0; i--) { if (messages[i].role === 'assistant') { lastAssistant = i; break; } }
  const earlier = start > 0
    ? [html('Button', CLS.showEarlier, text('show_earlier', { n: start }), { key: 'show-earlier', 'data-action': 'show-earlier' })]
    : [];
  const chunks = {};
  let drawn = earlier.length;
  for (let j = start; j < total; j++) {
    if (hideId && messages[j].id === hideId) { continue; }
    const n = Math.floor(j / CHUNK);
    (chunks[n] = chunks[n] || []).push(drawMessage(messages[j], j, total - 1, lastAssistant, conversation ? versionsAt(conversation, j) : null));
    drawn += 1;
  }
  return { start: start, total: total, earlier: earlier, chunks: chunks, drawn: drawn };
}
/** Draw `view` (drawnWindow) into the shells: returns the #chat-messages children when the
 *  shell list must be made again, else no_update after set_props on the shells that changed. */
function drawShells(convId, view) {
  const first = Math.floor(view.start / CHUNK);
  const last = Math.max(first, Math.floor((view.total - 1) / CHUNK));
  const inDom = (n) => !!document.getElementById(chunkId(n));
  const rebuild = convId !== shells.convId || first < shells.first || last >= shells.first + shells.count ||
    !inDom('earlier') || !inDom(last);
  if (rebuild) {
    debug.shellRebuilds += 1;
    shells = { convId: convId, first: first, count: last - first + 1 + SPARE_CHUNKS, drawn: {}, earlier: view.earlier };
    const children = [shell('earlier', view.earlier)];
    for (let n = first; n < first + shells.count; n++) {
      shells.drawn[n] = view.chunks[n] || [];
      children.push(shell(n, shells.drawn[n]));
    }
    return children;
  }
  if (!sameOutput(view.earlier, shells.earlier)) { shells.earlier = view.earlier; setProps(chunkId('earlier'), { children: view.earlier }); }
  for (let n = shells.first; n < shells.first + shells.count; n++) {
    const children = view.chunks[n] || [];
    if (!sameOutput(children, shells.drawn[n])) {
      shells.drawn[n] = children;
      setProps(chunkId(n), { children: children });
    }
  }
  return null;
}

/** Store/view/prefs → [message children, empty-state style, error style, error text,
 *  model tag], and the conversation list drawn (sidebar.mjs); the first call opens
 *  the browser storage instead. */
export function renderMessages(data, view, prefs, activeStored, cfg) {
  const t0 = performance.now();
  setConfig(cfg);
  state.prefs = trustedPrefs(prefs);
  if (store.status === 'pending') {
    state.activeStored = activeStored;
    startStorage();
    return [noUpdate(), noUpdate(), noUpdate(), noUpdate(), noUpdate()];
  }
  data = state.data;
  saveHistory(data);
  restoreDraft();
  installAttachments(); // the composer's file input and the attachments' events (once)
  // on load: the conversation open last in this browser, else the history's own
  if (state.activeId === null && activeStored && findConversation(data, activeStored)) { state.activeId = activeStored; }
  loadModels();
  const conversation = data ? activeConversation(data) : null;
  const messages = (conversation && conversation.messages) || [];
  if (messages.length) { loadMarkdown(); }
  const run = state.run;
  const switched = !conversation || conversation.id !== state.renderedId;
  state.renderedId = conversation ? conversation.id : null;
  if (switched) { drawCache = {}; }
  const win = drawnWindow(conversation, messages, conversation ? visibleCount(conversation.id) : INITIAL_VISIBLE, run && run.continueId);
  const shellList = drawShells(conversation ? conversation.id : null, win);
  const error = conversation && conversation.error;
  if (error) { showRetry(conversation.id); }
  const streamingHere = !!(run && conversation && run.conversationId === conversation.id);
  showStreamMessage(streamingHere);
  // the conversation list follows in the same callback (one Dash round per commit)
  drawConversations();
  const keep = state.keepScroll;
  const settings = effectiveSettings(conversation, state.prefs.defaults, config().settings);
  const built = performance.now();
  afterRender(function () {
    const element = document.getElementById(id('SCROLL'));
    if (element && keep) {
      element.scrollTop = element.scrollHeight - keep.fromBottom;
    } else if (element && switched) {
      element.scrollTop = element.scrollHeight;
    } else if (!run) {
      scrollToBottom(false);
    }
    state.keepScroll = null;
    debug.lastRender = {
      conversation: conversation ? conversation.id : null, messages: messages.length, drawn: win.drawn,
      started_at: t0, build_ms: built - t0, painted_ms: performance.now() - t0
    };
  });
  const outputs = onlyChanged('messages', [
    shellList,
    messages.length || streamingHere ? { display: 'none' } : {},
    error ? {} : { display: 'none' },
    error ? asText(error.message) : '',
    asText(settings.model) || asText(config().model)
  ]);
  if (!shellList) { outputs[0] = noUpdate(); } // the shells were drawn with set_props
  return outputs;
}
