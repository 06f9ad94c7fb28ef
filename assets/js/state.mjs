/**
 * state.mjs — the one owner of the browser state: the whole history (state.data), the
 * prefs mirror, the reply being streamed, the open conversation and what is drawn.
 * Other modules read it here and change the history only through these functions.
 *
 * History (IndexedDB records through assets/storage.js; shape: chatcore/schema.py History):
 *   {version, active_id, conversations: [{id, title, created_at, updated_at, pinned?,
 *     settings, error, messages: [{id, role, content, seq, created_at, …}]}]}
 * chat-history-store (a memory dcc.Store) holds only a view of it: {version, revision,
 * active_id, conversation: the open conversation}, so Dash never carries (or crawls) a
 * 20 MB value. Changes are copy-on-write: only the changed conversation is copied.
 */
import { id, storeVersion } from './config.mjs';
import { setProps, uid } from './dash.mjs';

export const state = {
  data: null,       // the history (see above), or null when empty
  prefs: {},        // mirror of chat-prefs-store (coerced: persist.mjs trustedPrefs)
  run: null,        // the reply being streamed (stream.mjs), or null
  activeId: null,   // the open conversation (also in chat-active-store, localStorage)
  activeStored: null, // chat-active-store as the page opened
  revision: 0,      // counts views published to chat-history-store
  visible: {},      // conversation id → how many newest messages are drawn
  renderedId: null, // conversation drawn last (to scroll to the bottom on switch)
  pending: { rename: null, remove: null, edit: null },
  reasoningOpen: {}, // message id → the reader opened its reasoning block
  selected: {},     // message id → ticked for Export selected (its checkbox, render.mjs)
  keepScroll: null
};

export function historyOf() { return state.data; }

export function storeView(history) {
  state.revision += 1;
  const open = history ? activeConversation(history) : null;
  return { version: storeVersion(), revision: state.revision, active_id: open ? open.id : null, conversation: open || null };
}
/** Make `next` the history and return the store value for it. */
export function publish(next) {
  state.data = next;
  return storeView(next);
}
/** Make `next` the history and show it (outside a callback's outputs). */
export function commit(next) {
  setProps(id('HISTORY_STORE'), { data: publish(next) });
}

/** The seq of a new turn: its time in ms, after every seq in the conversation
 *  (assets/storage.js: a reply shares its user message's seq). */
export function nextSeq(conversation) {
  let max = 0;
  (conversation.messages || []).forEach((m) => { if (typeof m.seq === 'number' && m.seq > max) { max = m.seq; } });
  return Math.max(Date.now(), Math.floor(max) + 1);
}
export function newConversation() {
  const now = Date.now();
  return { id: uid('c'), title: '', created_at: now, updated_at: now, settings: {}, error: null, messages: [] };
}
/** A new top-level object sharing the conversations (copy before changing one); a
 *  history with one new conversation when there is none. */
export function ensureData(data) {
  if (data && Array.isArray(data.conversations) && data.conversations.length) {
    const current = activeConversation(data);
    return { version: storeVersion(), active_id: current ? current.id : data.active_id, conversations: data.conversations.slice() };
  }
  const conversation = newConversation();
  setActive(conversation.id);
  return { version: storeVersion(), active_id: conversation.id, conversations: [conversation] };
}
/** Open conversation `convId`. Switching writes only the small chat-active-store, not
 *  the (possibly 20 MB) history; the history's active_id follows on its next write. */
export function setActive(convId) {
  if (state.activeId === convId) { return; }
  state.activeId = convId;
  setProps(id('ACTIVE_STORE'), { data: convId });
  if (state.data && findConversation(state.data, convId)) { setProps(id('HISTORY_STORE'), { data: storeView(state.data) }); }
}
export function findIndex(data, convId) {
  if (!data || !Array.isArray(data.conversations)) { return -1; }
  for (let i = 0; i < data.conversations.length; i++) {
    if (data.conversations[i] && data.conversations[i].id === convId) { return i; }
  }
  return -1;
}
export function findConversation(data, convId) {
  const index = findIndex(data, convId);
  return index < 0 ? null : data.conversations[index];
}
export function activeConversation(data) {
  let found = findConversation(data, state.activeId) || findConversation(data, data && data.active_id);
  if (!found && data && data.conversations && data.conversations.length) { found = data.conversations[0]; }
  return found;
}
/** Copy conversation `convId` inside `next` (from ensureData) so it can be changed. */
export function editable(next, convId) {
  const index = findIndex(next, convId);
  if (index < 0) { return null; }
  const copy = Object.assign({}, next.conversations[index]);
  copy.messages = (copy.messages || []).slice();
  copy.settings = Object.assign({}, copy.settings || {});
  next.conversations[index] = copy;
  return copy;
}
export function editableActive(next) {
  if (!findConversation(next, next.active_id)) { next.active_id = next.conversations[0].id; }
  setActive(next.active_id);
  return editable(next, next.active_id);
}
/** Replace (or add, or with null remove) conversations by id: a new top-level object. */
export function withConversations(history, byId) {
  if (!history) { history = { version: storeVersion(), active_id: null, conversations: [] }; }
  const left = Object.assign({}, byId);
  const conversations = [];
  (history.conversations || []).forEach((c) => {
    if (!Object.prototype.hasOwnProperty.call(left, c.id)) { conversations.push(c); return; }
    if (left[c.id]) { conversations.push(left[c.id]); }
    delete left[c.id];
  });
  Object.keys(left).forEach((key) => { if (left[key]) { conversations.push(left[key]); } });
  return Object.assign({}, history, { conversations: conversations });
}
/** A conversation title from its first message: one line, at most 40 characters. */
export function makeTitle(content) {
  const line = content.replace(/\s+/g, ' ').trim();
  return line.length > 40 ? line.slice(0, 40) + '…' : line;
}
/** The message with `messageId` in the open conversation, or null. */
export function findMessage(messageId) {
  const conversation = activeConversation(state.data);
  return ((conversation && conversation.messages) || []).filter((m) => m.id === messageId)[0] || null;
}
