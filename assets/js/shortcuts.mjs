/**
 * shortcuts.mjs — the keyboard shortcuts. The key map is the page config's
 * (components/shortcuts.py → config.shortcuts: one entry per action, combos for macOS and
 * elsewhere); one keydown listener matches it and acts through the page's own controls —
 * it clicks New chat, Stop, the last reply's Regenerate and the sidebar toggle, focuses the
 * message box or the sidebar search — and the shortcuts dialog lists it for this platform
 * (⌘ on macOS, Ctrl elsewhere) in the page's locale. While the reader types in a text field
 * only the entries marked in_text fire (Esc); Enter and Shift+Enter stay the composer's
 * (actions.mjs). Owns only the desktop sidebar's folded class; never writes the history.
 * Installs its listeners when imported (main.mjs).
 */
import { config, id, text } from './config.mjs';
import { afterRender, setProps, toast } from './dash.mjs';
import { CLS, SHORTCUT_CLS } from './classes.mjs';
import { copyLastReply } from './share.mjs';

const SK = SHORTCUT_CLS; // class names this module sets or looks for (classes.mjs)
// <input> types that take no typing: a shortcut still fires when one of them has focus
const NOT_TYPED = ['button', 'checkbox', 'radio', 'range', 'color', 'file', 'image', 'reset', 'submit'];

/** 'mac' on macOS, iPadOS and iOS (⌘ is the shortcut modifier), else 'default'. */
export function platform() {
  const nav = typeof navigator !== 'undefined' ? navigator : {};
  const name = (nav.userAgentData && nav.userAgentData.platform) || nav.platform || '';
  return /mac|iphone|ipad|ipod/i.test(name) ? 'mac' : 'default';
}
/** Whether keydown `event` is `combo` (components/shortcuts.py parse_combo): the exact
 *  modifiers (Shift ignored when combo.shift is null, as for "?"), then the character,
 *  or the physical key (combo.code) when the layout types no Latin letter there — a
 *  Cyrillic layout, or Shift+; giving ":". */
export function matches(event, combo) {
  if (!!event.ctrlKey !== !!combo.ctrl || !!event.metaKey !== !!combo.meta || !!event.altKey !== !!combo.alt) { return false; }
  if (combo.shift !== null && combo.shift !== undefined && !!event.shiftKey !== !!combo.shift) { return false; }
  const key = String(event.key || '').toLowerCase();
  if (key === combo.key) { return true; }
  return !!combo.code && event.code === combo.code && !/^[a-z]$/.test(key);
}
/** Whether `element` takes typed text (a text input, textarea, select, contenteditable). */
export function isTextField(element) {
  if (!element || element.nodeType !== 1) { return false; }
  if (element.isContentEditable) { return true; }
  const tag = element.tagName;
  if (tag === 'TEXTAREA' || tag === 'SELECT') { return true; }
  return tag === 'INPUT' && NOT_TYPED.indexOf(String(element.type || 'text').toLowerCase()) < 0;
}
/** The key map entry `event` fires, or null: `typing` (the target is a text field)
 *  leaves only the in_text entries; entries of another handler (the composer's) never. */
export function entryFor(event, map, where, typing) {
  for (const entry of map || []) {
    if (!entry || entry.handler !== 'shortcuts') { continue; }
    if (typing && !entry.in_text) { continue; }
    const combos = (entry.combos && entry.combos[where]) || [];
    if (combos.some((combo) => matches(event, combo))) { return entry; }
  }
  return null;
}

function byId(name) { return document.getElementById(id(name)); }
function shown(element) { return !!element && getComputedStyle(element).display !== 'none'; }
/** A dialog, drawer or dropdown is open: Esc is theirs (closing it), not Stop's. */
function overlayOpen() {
  const open = (selector) => Array.prototype.some.call(document.querySelectorAll(selector), shown);
  return open('.ant-modal-wrap') || open('.ant-drawer-open') ||
    open('.ant-select-dropdown:not(.ant-select-dropdown-hidden)') || open('.ant-dropdown:not(.ant-dropdown-hidden)');
}
/** Phones: the sidebar slides over the page (position: fixed in assets/chat.css). */
function phoneLayout() {
  const sidebar = byId('SIDEBAR');
  return !!sidebar && getComputedStyle(sidebar).position === 'fixed';
}
function focusInput() {
  const input = byId('INPUT');
  if (input) { input.focus(); }
}
/** Show the sidebar (phones: open it with its toggle; desktop: unfold it). */
function showSidebar() {
  if (phoneLayout()) {
    const sidebar = byId('SIDEBAR');
    if (sidebar && !sidebar.classList.contains(CLS.sidebarOpen)) { byId('SIDEBAR_TOGGLE').click(); }
  } else {
    document.documentElement.classList.remove(SK.sidebarCollapsed);
  }
}

// Each action returns false when it does not apply (the key then keeps its usual meaning).
const ACTIONS = {
  new_chat: function () {
    const button = byId('NEW_BUTTON');
    if (!button) { return false; }
    button.click();
    afterRender(focusInput);
    return true;
  },
  focus_input: function () { focusInput(); return true; },
  stop: function () {
    const button = byId('STOP_BUTTON');
    if (!shown(button) || overlayOpen()) { return false; }
    button.click();
    return true;
  },
  regenerate: function () {
    const buttons = document.querySelectorAll('#' + id('MESSAGES') + ' .' + SK.regenerate);
    if (!buttons.length) { toast('info', text('nothing_to_regenerate')); return true; }
    buttons[buttons.length - 1].click();
    return true;
  },
  copy_last: function () { copyLastReply(); return true; },
  search: function () {
    showSidebar();
    const input = byId('SEARCH_INPUT');
    if (input) { input.focus(); input.select(); }
    return true;
  },
  toggle_sidebar: function () {
    if (phoneLayout()) { byId('SIDEBAR_TOGGLE').click(); }
    else { document.documentElement.classList.toggle(SK.sidebarCollapsed); }
    return true;
  },
  help: function () { openShortcuts(); return true; }
};

/** The shortcuts dialog is open. */
function shortcutsOpen() {
  const list = byId('SHORTCUTS_LIST');
  return shown(list && list.closest('.ant-modal-wrap'));
}
function onKeydown(event) {
  if (event.isComposing || event.keyCode === 229) { return; } // an IME is composing
  if (event.key === 'Escape' && shortcutsOpen()) { // wherever the focus is (antd's own Esc needs it inside)
    setProps(id('SHORTCUTS_MODAL'), { visible: false });
    event.preventDefault();
    return;
  }
  const entry = entryFor(event, config().shortcuts, platform(), isTextField(event.target));
  if (!entry || !ACTIONS[entry.action]) { return; }
  if (ACTIONS[entry.action](event) === false) { return; }
  event.preventDefault();
  event.stopPropagation();
}

function element(tag, className, content) {
  const node = document.createElement(tag);
  if (className) { node.className = className; }
  if (content !== undefined) { node.textContent = content; }
  return node;
}
/** The dialog's rows: each action's label and its combos, as text (never HTML). */
function drawList() {
  const list = byId('SHORTCUTS_LIST');
  if (!list) { return false; }
  const where = platform();
  const rows = (config().shortcuts || []).map(function (entry) {
    const row = element('div', SK.row);
    row.setAttribute('data-shortcut', String(entry.action));
    row.appendChild(element('span', SK.label, text(entry.label)));
    const keys = element('span', SK.keys);
    ((entry.combos && entry.combos[where]) || []).forEach(function (combo, index) {
      if (index) { keys.appendChild(element('span', '', text('shortcut_or'))); }
      (combo.labels || []).forEach((label) => keys.appendChild(element('kbd', '', String(label))));
    });
    row.appendChild(keys);
    return row;
  });
  list.replaceChildren(...rows);
  return true;
}
/** Open the shortcuts dialog (its list drawn for this platform and locale). */
export function openShortcuts() {
  setProps(id('SHORTCUTS_MODAL'), { visible: true });
  const drawn = drawList();
  // focus inside the dialog, so that its own Esc (antd's, on the wrapper) closes it
  afterRender(function () {
    if (!drawn) { drawList(); }
    const list = byId('SHORTCUTS_LIST');
    const wrap = list && list.closest('.ant-modal-wrap');
    if (wrap && !wrap.contains(document.activeElement)) { wrap.focus(); }
  });
}

// The header's shortcuts button; on desktop the (then shown) menu button unfolds a sidebar
// hidden with the shortcut — actions.mjs also toggles the phones' open class on that click,
// which is undone so a narrower window later does not find the sidebar open.
function onClick(event) {
  const target = event.target && event.target.closest ? event.target : null;
  if (!target) { return; }
  if (target.closest('#' + id('SHORTCUTS_BUTTON'))) { openShortcuts(); return; }
  const root = document.documentElement;
  if (target.closest('#' + id('SIDEBAR_TOGGLE')) && root.classList.contains(SK.sidebarCollapsed) && !phoneLayout()) {
    root.classList.remove(SK.sidebarCollapsed);
    setTimeout(function () {
      const sidebar = byId('SIDEBAR');
      const mask = byId('SIDEBAR_MASK');
      if (sidebar) { sidebar.classList.remove(CLS.sidebarOpen); }
      if (mask) { mask.classList.remove(CLS.sidebarMaskOpen); }
    }, 0);
  }
}

if (typeof document !== 'undefined') {
  document.addEventListener('keydown', onKeydown, true);
  document.addEventListener('click', onClick, false);
}
