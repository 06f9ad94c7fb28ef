/**
 * actions.mjs — the page's own DOM events, by delegation on document: clicks on
 * [data-action] elements drawn by render.mjs and sidebar.mjs (switch, rename, delete,
 * pin, show earlier, regenerate, continue, edit, copy, the versions' ‹ and ›), the sidebar toggle and mask, the
 * reasoning blocks' toggle, Enter to send, and scrolling (follow the newest text,
 * draw earlier messages near the top).
 */
import { id, text } from './config.mjs';
import { setProps, toast } from './dash.mjs';
import { busy, continueReply, regenerate, sendNow, switchBranch } from './conversation.mjs';
import { loadMarkdown } from './messageview.mjs';
import { PAGE_VISIBLE, visibleCount } from './render.mjs';
import { openSidebar, sidebarIsOpen } from './sidebar.mjs';
import { activeConversation, commit, editable, ensureData, findConversation, findMessage, historyOf, setActive, state } from './state.mjs';
import { nearBottom } from './stream.mjs';
import { keepDraft } from './draft.mjs';
import { CLS } from './classes.mjs';

function switchTo(convId) {
  openSidebar(false);
  if (!state.data || !findConversation(state.data, convId)) { return; }
  setActive(convId);
}
function showEarlier() {
  const conversation = activeConversation(state.data);
  if (!conversation) { return; }
  const total = (conversation.messages || []).length;
  const current = visibleCount(conversation.id);
  if (current >= total) { return; }
  state.visible[conversation.id] = current + PAGE_VISIBLE;
  const element = document.getElementById(id('SCROLL'));
  state.keepScroll = element ? { fromBottom: element.scrollHeight - element.scrollTop } : null;
  setProps(id('VIEW_STORE'), { data: { limit: state.visible[conversation.id], at: Date.now() } });
}
/** Copy a message's Markdown source (Clipboard API; execCommand fallback for http pages). */
function copyMessage(messageId) {
  const message = findMessage(messageId);
  if (!message) { return; }
  function fallback() {
    const area = document.createElement('textarea');
    area.value = message.content;
    area.setAttribute('readonly', '');
    area.style.position = 'fixed';
    area.style.opacity = '0';
    document.body.appendChild(area);
    area.select();
    try { document.execCommand('copy'); } finally { document.body.removeChild(area); }
  }
  const done = () => toast('success', text('copied'));
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(message.content).then(done, function () { fallback(); done(); });
  } else {
    fallback();
    done();
  }
}
function openEdit(messageId) {
  if (busy()) { return; }
  const message = findMessage(messageId);
  if (!message) { return; }
  state.pending.edit = messageId;
  setProps(id('EDIT_INPUT'), { value: message.content });
  setProps(id('EDIT_MODAL'), { visible: true });
}
function openRename(convId) {
  const conversation = findConversation(state.data, convId);
  state.pending.rename = convId;
  setProps(id('RENAME_INPUT'), { value: (conversation && conversation.title) || '' });
  setProps(id('RENAME_MODAL'), { visible: true });
}
/** Pin or unpin a conversation: pinned ones stay on top of the sidebar (stored with
 *  the conversation's record, `pinned`). */
function togglePin(convId) {
  const next = ensureData(historyOf());
  const conversation = editable(next, convId);
  if (!conversation) { return; }
  conversation.pinned = conversation.pinned !== true;
  commit(next);
}
function openDelete(convId) {
  state.pending.remove = convId;
  setProps(id('DELETE_MODAL'), { visible: true });
}

const BY_MESSAGE = {
  regenerate: regenerate, 'continue': continueReply, edit: openEdit, copy: copyMessage,
  'branch-prev': (messageId) => switchBranch(messageId, -1), 'branch-next': (messageId) => switchBranch(messageId, 1)
};
const BY_CONVERSATION = { switch: switchTo, rename: openRename, 'delete': openDelete, pin: togglePin };

function onClick(event) {
  const target = event.target && event.target.closest ? event.target.closest('[data-action]') : null;
  if (target) {
    const action = target.getAttribute('data-action');
    if (action === 'rename' || action === 'delete' || action === 'pin') { event.stopPropagation(); }
    if (BY_CONVERSATION[action]) { BY_CONVERSATION[action](target.getAttribute('data-conv-id')); }
    else if (BY_MESSAGE[action]) { BY_MESSAGE[action](target.getAttribute('data-msg-id')); }
    else if (action === 'show-earlier') { showEarlier(); }
    return;
  }
  const toggle = event.target && event.target.closest ? event.target.closest('#' + id('SIDEBAR_TOGGLE')) : null;
  if (toggle) { openSidebar(!sidebarIsOpen()); }
  else if (event.target && event.target.id === id('SIDEBAR_MASK')) { openSidebar(false); }
}
// A reader opens or closes a stored reasoning block: remember it (toggle does not bubble).
function onToggle(event) {
  const target = event.target;
  if (!target || !target.classList || !target.classList.contains(CLS.reasoning)) { return; }
  const messageId = target.getAttribute('data-msg-id');
  if (messageId) { state.reasoningOpen[messageId] = target.open; }
}
// Enter to send, Shift+Enter for a new line (IME composition respected).
function onKeydown(event) {
  const target = event.target;
  if (!target || target.id !== id('INPUT') || event.key !== 'Enter') { return; }
  if (event.shiftKey || event.isComposing || event.keyCode === 229) { return; }
  event.preventDefault();
  if (!state.run) { sendNow(); }
}
// Follow the newest text only while the reader is at the bottom; near the top,
// draw earlier messages (so a long conversation scrolls without clicks).
function onScroll(event) {
  const element = event.target;
  if (!element || element.id !== id('SCROLL')) { return; }
  if (state.run) { element.dataset.follow = nearBottom(element) ? 'true' : 'false'; }
  if (element.scrollTop < 300 && !state.keepScroll) { showEarlier(); }
}

// What is typed is kept for a reload (draft.mjs).
function onInput(event) {
  if (event.target && event.target.id === id('INPUT')) {
    keepDraft(event.target.value);
    loadMarkdown(); // a reply is coming: fmc's bundle loads now, not with the page
  }
}

/** Install the delegated listeners (once, from main.mjs). */
export function installPageEvents() {
  document.addEventListener('click', onClick, false);
  document.addEventListener('toggle', onToggle, true);
  document.addEventListener('keydown', onKeydown, true);
  document.addEventListener('scroll', onScroll, true);
  document.addEventListener('input', onInput, true);
}
