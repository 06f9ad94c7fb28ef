/**
 * sidebar.mjs — the conversation list, drawn as plain DOM inside
 * #chat-conversation-list (not as Dash components: Dash re-checks every component it
 * renders on each update, and a long list made every commit cost ~10 ms per
 * conversation). Text is set with textContent (never parsed as HTML); clicks reach
 * the delegated handler (actions.mjs) through data-action attributes. Pinned
 * conversations first, then date groups (convgroups.mjs), each under a `.chat-conv-group`
 * header.
 */
import { asText, id, locale, setConfig, text } from './config.mjs';
import { afterRender, noUpdate } from './dash.mjs';
import { activeConversation, historyOf, state } from './state.mjs';
import { CLS, GLYPHS } from './classes.mjs';
import { daysAgo, groupConversations } from './convgroups.mjs';

/** Whether `conversation`'s title or any message contains `query` (lower case). */
export function conversationMatches(conversation, query) {
  if (!query) { return true; }
  if (asText(conversation.title).toLowerCase().indexOf(query) >= 0) { return true; }
  return (conversation.messages || []).some((m) => asText(m.content).toLowerCase().indexOf(query) >= 0);
}

function sidebarButton(action, label, convId) {
  const button = document.createElement('button');
  button.className = CLS.action(action);
  button.setAttribute('data-action', action);
  button.setAttribute('data-conv-id', convId);
  button.setAttribute('data-label', label);
  button.setAttribute('aria-label', label);
  button.title = label;
  button.textContent = GLYPHS[action] || '';
  return button;
}
function sidebarItem(conversation, active) {
  const title = asText(conversation.title);
  const convId = asText(conversation.id);
  const pinned = conversation.pinned === true;
  const item = document.createElement('div');
  item.className = CLS.convItem + (active ? ' ' + CLS.convItemActive : '') + (pinned ? ' ' + CLS.convPinned : '');
  item.setAttribute('data-action', 'switch');
  item.setAttribute('data-conv-id', convId);
  item.title = title;
  const name = document.createElement('span');
  name.className = CLS.convTitle;
  name.textContent = title || text('untitled');
  const actions = document.createElement('span');
  actions.className = CLS.convActions;
  const pin = sidebarButton('pin', text(pinned ? 'unpin' : 'pin'), convId);
  pin.textContent = pinned ? GLYPHS.unpin : GLYPHS.pin;
  pin.setAttribute('aria-pressed', pinned ? 'true' : 'false');
  actions.appendChild(pin);
  actions.appendChild(sidebarButton('rename', text('rename'), convId));
  actions.appendChild(sidebarButton('delete', text('delete'), convId));
  item.appendChild(name);
  item.appendChild(actions);
  return item;
}
function groupHeader(group) {
  const header = document.createElement('div');
  header.className = CLS.convGroup;
  header.setAttribute('data-group', group.key);
  header.setAttribute('role', 'heading');
  header.setAttribute('aria-level', '3');
  header.textContent = group.label;
  return header;
}
/** Draw `conversations` (or the no-results line) into the list; returns how many. */
function drawSidebar(conversations, activeId, query) {
  const list = document.getElementById(id('CONVERSATION_LIST'));
  if (!list) { afterRender(() => drawSidebar(conversations, activeId, query)); return 0; }
  let holder = list.querySelector('.' + CLS.convHolder);
  if (!holder) {
    holder = document.createElement('div');
    holder.className = CLS.convHolder;
    list.appendChild(holder);
  }
  let nodes = [];
  groupConversations(conversations, Date.now(), text, locale()).forEach(function (group) {
    nodes.push(groupHeader(group));
    group.items.forEach((c) => nodes.push(sidebarItem(c, c.id === activeId)));
  });
  if (!nodes.length && query) {
    const empty = document.createElement('div');
    empty.className = CLS.convEmpty;
    empty.textContent = text('no_results');
    nodes = [empty];
  }
  holder.replaceChildren(...nodes);
  return nodes.length;
}

let query = '';
/** Search box → the conversation list filtered by title and content; always no_update. */
export function renderSidebar(value, cfg) {
  setConfig(cfg);
  query = String(value || '').trim().toLowerCase();
  drawConversations();
  return noUpdate();
}
/** The conversation list (pinned, then newest first in date groups), filtered by the
 *  search (redrawn only when the list as drawn changed: titles, pins, days, the active
 *  one). Called by render.mjs with every commit, here on search. */
export function drawConversations() {
  const data = historyOf();
  const q = query;
  const conversations = ((data && data.conversations) || []).slice();
  conversations.sort((a, b) => (b.updated_at || 0) - (a.updated_at || 0));
  const current = data ? activeConversation(data) : null;
  const activeId = current && current.id;
  const shown = conversations.filter((c) => conversationMatches(c, q));
  const now = Date.now();
  const today = new Date(now).toDateString(); // the groups move at midnight
  const drawn = shown.map((c) => asText(c.id) + '\u0000' + asText(c.title) + '\u0000' + (c.pinned === true ? 'p' : daysAgo(Number(c.updated_at) || 0, now)))
    .join('\n') + '|' + activeId + '|' + q + '|' + locale() + '|' + today;
  if (drawn !== state.sidebarDrawn || !document.querySelector('#' + id('CONVERSATION_LIST') + ' .' + CLS.convHolder)) {
    state.sidebarDrawn = drawn;
    drawSidebar(shown, activeId, q);
  }
}

/** Open or close the sidebar (phones: it slides over the page with a mask). */
export function openSidebar(open) {
  const sidebar = document.getElementById(id('SIDEBAR'));
  if (sidebar) { sidebar.classList.toggle(CLS.sidebarOpen, open); }
  const mask = document.getElementById(id('SIDEBAR_MASK'));
  if (mask) { mask.classList.toggle(CLS.sidebarMaskOpen, open); }
}
export function sidebarIsOpen() {
  const sidebar = document.getElementById(id('SIDEBAR'));
  return !!(sidebar && sidebar.classList.contains(CLS.sidebarOpen));
}
