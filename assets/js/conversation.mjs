/**
 * conversation.mjs — what the user does to conversations: send, retry, stop, clear,
 * new, rename, delete, edit and resend, regenerate, continue, switch version. Each builds the next
 * history copy-on-write (state.mjs) and, where a reply is wanted, starts the stream
 * (stream.mjs). The user's message is stored before the request starts, with the
 * composer's ready attachments (attach.mjs); images to a model that does not accept them
 * are refused before any request, with the text and the attachments left in the composer.
 */
import { clearAttachments, noticeLeftOut, pendingAttachments } from './attach.mjs';
import { fork, switchVersion, versionsAt } from './branches.mjs';
import { config, id, locale, setConfig, text } from './config.mjs';
import { effectiveModel, modelAcceptsImages, requestPayload } from './payload.mjs';
import { noUpdate, setProps, toast, uid } from './dash.mjs';
import { openSidebar } from './sidebar.mjs';
import {
  activeConversation, commit, editable, editableActive, ensureData, findConversation, historyOf,
  makeTitle, newConversation as emptyConversation, nextSeq, publish, setActive, state
} from './state.mjs';
import { waitLeft } from './retry.mjs';
import { dropDraft } from './draft.mjs';
import { startStream } from './stream.mjs';

const RENAMED_TITLE_MAX = 120; // a typed title (the schema allows longer ones, e.g. restored)

/** A reply is streaming: say so (the draft stays in the input) and return true. */
export function busy() {
  if (state.run) { toast('warning', text('busy')); return true; }
  return false;
}
/** The localized problem with `content` (and `attachments`) as a new user message, or null. */
function contentProblem(content, attachments) {
  if (!content.trim() && !(attachments || []).length) { return ['warning', text('empty_input')]; }
  const limit = config().max_message_chars;
  if (limit && content.length > limit) { return ['error', text('too_long', { n: content.length, max: limit })]; }
  return null;
}
function userMessage(conversation, content, extra) {
  return Object.assign({ id: uid('m'), role: 'user', content: content, created_at: Date.now(), seq: nextSeq(conversation) }, extra || {});
}

/** Stream a reply for `conversation`: first say which images of earlier messages the
 *  request leaves out (payload.mjs builds it once for both). */
function beginStream(conversation, opts) {
  const request = requestPayload(conversation, { config: config(), prefs: state.prefs, locale: locale(), continueReply: !!(opts && opts.continueId) });
  noticeLeftOut(request, effectiveModel(conversation, state.prefs, config()));
  startStream(conversation, Object.assign({ request: request }, opts));
}
/** The composer's attachments if they can go with a message to `conversation`'s model:
 *  {attachments} or {problem: [kind, text]} (nothing is taken from the composer). */
function readyAttachments(conversation) {
  const pending = pendingAttachments();
  if (pending.reading) { return { problem: ['warning', text('attach_wait')] }; }
  if (pending.errors) { return { problem: ['warning', text('attach_has_errors')] }; }
  const images = pending.ready.some((a) => a.kind === 'image');
  if (images && !modelAcceptsImages(conversation, state.prefs, config())) {
    return { problem: ['error', text('attach_no_images_model', { model: effectiveModel(conversation, state.prefs, config()) })] };
  }
  return { attachments: pending.ready };
}
function titleOf(content, attachments) {
  return makeTitle(content.trim() ? content : (attachments || []).map((a) => a.name).join(', '));
}

/** Send → [history store, input value]: append the user's message (with the composer's
 *  attachments) and stream the reply. */
export function send(value, cfg) {
  setConfig(cfg);
  if (busy()) { return [noUpdate(), noUpdate()]; }
  const content = value || '';
  const open = activeConversation(historyOf() || { conversations: [] });
  const ready = readyAttachments(open);
  const problem = ready.problem || contentProblem(content, ready.attachments);
  if (problem) { toast(problem[0], problem[1]); return [noUpdate(), noUpdate()]; }
  const attachments = ready.attachments;
  const next = ensureData(historyOf());
  const conversation = editableActive(next);
  conversation.error = null;
  conversation.messages.push(userMessage(conversation, content, attachments.length ? { attachments: attachments } : null));
  if (!conversation.title) { conversation.title = titleOf(content, attachments); }
  conversation.updated_at = Date.now();
  state.data = next;
  beginStream(conversation);
  dropDraft(); // stored with the conversation now
  clearAttachments();
  return [publish(next), ''];
}
/** Enter in the composer: send what it holds at once, outside a Dash callback (the
 *  request starts on the keydown, not after Dash's dispatch of the button's click). */
export function sendNow() {
  const input = document.getElementById(id('INPUT'));
  const outputs = send(input ? input.value : '', config());
  if (outputs[1] !== '') { return; } // nothing sent (busy, empty, too long …): as send says
  setProps(id('HISTORY_STORE'), { data: outputs[0] });
  setProps(id('INPUT'), { value: '' });
}

/** Retry after an error: drop an incomplete reply, then resend. */
export function retry(cfg) {
  setConfig(cfg);
  const data = historyOf();
  if (state.run || !data) { return noUpdate(); }
  const open = activeConversation(data);
  if (open && waitLeft(open.id) > 0) { return noUpdate(); } // the button counts down meanwhile
  const next = ensureData(data);
  const conversation = editableActive(next);
  const messages = conversation.messages;
  const last = messages[messages.length - 1];
  if (last && last.role === 'assistant' && last.incomplete) { messages.pop(); }
  if (!messages.length || messages[messages.length - 1].role !== 'user') { return noUpdate(); }
  conversation.error = null;
  state.data = next;
  beginStream(conversation);
  return publish(next);
}

/** Stop → abort the request; the partial reply is kept (stream.mjs finishRun). */
export function stop() {
  if (state.run) { state.run.controller.abort(); }
  return noUpdate();
}
function discardRun(convId) {
  if (state.run && (!convId || state.run.conversationId === convId)) { state.run.discard = true; state.run.controller.abort(); }
}

/** Clear (confirmed) → stop any reply and empty the active conversation. */
export function clear() {
  discardRun(null);
  const next = ensureData(historyOf());
  const conversation = editableActive(next);
  conversation.messages = [];
  conversation.error = null;
  conversation.title = '';
  conversation.updated_at = Date.now();
  return publish(next);
}

/** New chat → a new empty conversation on top (reuses the active one if it is empty). */
export function newConversation() {
  const next = ensureData(historyOf());
  const active = activeConversation(next);
  openSidebar(false);
  if (active && !(active.messages || []).length && !(state.run && state.run.conversationId === active.id)) { return noUpdate(); }
  const conversation = emptyConversation();
  next.conversations.unshift(conversation);
  next.active_id = conversation.id;
  setActive(conversation.id);
  state.data = next;
  setProps(id('INPUT'), { value: '' });
  return publish(next);
}

/** Rename dialog OK → set the title (blank keeps the old one). */
export function rename(value) {
  const convId = state.pending.rename;
  state.pending.rename = null;
  const title = String(value || '').replace(/\s+/g, ' ').trim();
  if (!convId || !title) { return noUpdate(); }
  const next = ensureData(historyOf());
  const conversation = editable(next, convId);
  if (!conversation) { return noUpdate(); }
  conversation.title = title.slice(0, RENAMED_TITLE_MAX);
  return publish(next);
}

/** Delete dialog OK → remove the conversation; the newest other one becomes active. */
export function remove() {
  const convId = state.pending.remove;
  state.pending.remove = null;
  if (!convId) { return noUpdate(); }
  discardRun(convId);
  const next = ensureData(historyOf());
  next.conversations = next.conversations.filter((c) => c.id !== convId);
  if (!next.conversations.length) { next.conversations = [emptyConversation()]; }
  if (!findConversation(next, next.active_id)) {
    const newest = next.conversations.slice().sort((a, b) => (b.updated_at || 0) - (a.updated_at || 0))[0];
    next.active_id = newest.id;
    setActive(newest.id);
  }
  return publish(next);
}

/** Edit dialog "Resend" → a new version of the user message: the old one and the turns
 *  after it are kept as the previous version (‹ 1 / 2 ›), the new one streams. */
export function editResend(value, cfg) {
  setConfig(cfg);
  const messageId = state.pending.edit;
  state.pending.edit = null;
  const content = String(value || '');
  if (!messageId || busy()) { return noUpdate(); }
  const next = ensureData(historyOf());
  const conversation = editableActive(next);
  const index = conversation.messages.findIndex((m) => m.id === messageId);
  if (index < 0) { return noUpdate(); }
  // the edited message keeps its attachments
  const attachments = conversation.messages[index].attachments || [];
  const problem = contentProblem(content, attachments);
  if (problem) { toast(problem[0], problem[1]); return noUpdate(); }
  // the message and what came after it stay as the previous version (branches.mjs)
  Object.assign(conversation, fork(conversation, index));
  conversation.messages.push(userMessage(conversation, content, attachments.length ? { edited: true, attachments: attachments } : { edited: true }));
  if (index === 0) { conversation.title = titleOf(content, attachments); }
  conversation.error = null;
  conversation.updated_at = Date.now();
  state.data = next;
  beginStream(conversation);
  return publish(next);
}

/** Regenerate the last reply: keep it as a version (‹ 1 / 2 ›) and stream a new one. */
export function regenerate() {
  if (busy()) { return; }
  const next = ensureData(state.data);
  const conversation = editableActive(next);
  const last = conversation.messages.length - 1;
  if (last >= 0 && conversation.messages[last].role === 'assistant') { Object.assign(conversation, fork(conversation, last)); }
  const messages = conversation.messages;
  if (!messages.length || messages[messages.length - 1].role !== 'user') { return; }
  conversation.error = null;
  commit(next);
  beginStream(conversation);
}
/** Continue the last reply (it ended with finish_reason "length"). */
export function continueReply(messageId) {
  if (busy()) { return; }
  const next = ensureData(state.data);
  const conversation = editableActive(next);
  const last = conversation.messages[conversation.messages.length - 1];
  if (!last || last.role !== 'assistant' || last.id !== messageId) { return; }
  conversation.error = null;
  state.data = next;
  beginStream(conversation, { continueId: last.id });
  commit(next); // redraw without the continued message (it streams below)
}

/** ‹ / › on a message with versions: show the previous / next version and what followed
 *  it in that version (branches.mjs); refused while a reply streams (Stop first). */
export function switchBranch(messageId, step) {
  if (busy()) { return; }
  const next = ensureData(state.data);
  const conversation = editableActive(next);
  const index = conversation.messages.findIndex((m) => m.id === messageId);
  const info = versionsAt(conversation, index);
  if (!info) { return; }
  const switched = switchVersion(conversation, index, info.current + step);
  if (switched === conversation) { return; }
  Object.assign(conversation, switched);
  conversation.error = null;
  commit(next);
}
