/**
 * presetpicker.mjs — the "/" picker: typing "/" (or a Chinese IME's "、" / "／" for that key)
 * into the empty message box (#chat-input) opens a small list of presets above the composer
 * (#chat-preset-picker, plain DOM on <body>, text set as text). Typing after the "/" filters
 * it (presets.mjs filterPresets), ↑/↓ move, Enter or Tab (or a click) picks — a new chat
 * from that preset, or the open conversation when it has no messages yet (presets.mjs
 * applyPreset) — and Esc, a blur or deleting the "/" closes it. Its keydown listener runs
 * first (window, capture phase) and stops only the keys it uses, only while it is open and
 * has a match, never while an IME composes: otherwise Enter stays the composer's (actions.mjs
 * sends).
 * Must not: change the history itself, or keep any key when closed.
 */
import { asText, id, text } from './config.mjs';
import { PRESET_PICKER_CLS } from './classes.mjs';
import { allPresets, applyPreset, filterPresets, presetConfig } from './presets.mjs';

const PICK = PRESET_PICKER_CLS; // class names this module sets (classes.mjs)
const MAX_SHOWN = 50; // the list scrolls (max-height in assets/chat.css)
const picker = { open: false, query: '', matches: [], index: 0, node: null };

function inputNode() { return document.getElementById(id('INPUT')); }
// what opens it: "/", and what a Chinese IME types for that key ("、" or the full-width "／")
const TRIGGERS = ['/', '\uFF0F', '\u3001'];
/** What is typed → the picker's query, or null when the picker does not apply: the text
 *  is a trigger followed by a query on one line (pure). */
export function pickerQuery(value) {
  const text = String(value || '');
  if (TRIGGERS.indexOf(text.charAt(0)) < 0 || /[\r\n]/.test(text)) { return null; }
  return text.slice(1);
}
/** Whether the picker is open now (read by tests). */
export function pickerOpen() { return picker.open; }

function holder() {
  if (!picker.node) {
    const node = document.createElement('div');
    node.id = id('PRESET_PICKER');
    node.className = PICK.picker;
    node.setAttribute('role', 'listbox');
    node.hidden = true;
    // a press on the list keeps the focus in the message box (so Enter and the keys go on working)
    node.addEventListener('mousedown', (event) => event.preventDefault());
    node.addEventListener('click', onPickerClick);
    document.body.appendChild(node);
    picker.node = node;
  }
  return picker.node;
}
function place(node, input) {
  const rect = input.getBoundingClientRect();
  node.style.left = Math.max(8, rect.left) + 'px';
  node.style.width = Math.max(240, rect.width) + 'px';
  node.style.bottom = Math.max(8, window.innerHeight - rect.top + 8) + 'px';
}
function draw() {
  const node = holder();
  const input = inputNode();
  const rows = picker.matches.slice(0, MAX_SHOWN).map(function (preset, index) {
    const row = document.createElement('div');
    row.className = PICK.item + (index === picker.index ? ' ' + PICK.active : '');
    row.id = id('PRESET_PICKER') + '-' + index;
    row.setAttribute('role', 'option');
    row.setAttribute('aria-selected', index === picker.index ? 'true' : 'false');
    row.setAttribute('data-picker-index', String(index));
    const emoji = document.createElement('span');
    emoji.className = PICK.emoji;
    emoji.textContent = asText(preset.emoji) || '💬';
    const name = document.createElement('span');
    name.className = PICK.name;
    name.textContent = asText(preset.name);
    const prompt = document.createElement('span');
    prompt.className = PICK.prompt;
    prompt.textContent = (asText(preset.system_prompt) || asText(preset.first_message)).split('\n')[0].slice(0, 120);
    row.append(emoji, name, prompt);
    return row;
  });
  if (!rows.length) {
    const empty = document.createElement('div');
    empty.className = PICK.empty;
    empty.textContent = text('preset_picker_empty', { query: picker.query });
    rows.push(empty);
  }
  const hint = document.createElement('div');
  hint.className = PICK.hint;
  hint.textContent = text('preset_picker_hint');
  rows.push(hint);
  node.replaceChildren(...rows);
  node.hidden = false;
  if (input) {
    place(node, input);
    input.setAttribute('aria-expanded', 'true');
    input.setAttribute('aria-controls', node.id);
    if (picker.matches.length) { input.setAttribute('aria-activedescendant', node.id + '-' + picker.index); }
  }
  const active = node.querySelector('.' + PICK.active);
  if (active && active.scrollIntoView) { active.scrollIntoView({ block: 'nearest' }); }
}
function show(query) {
  picker.open = true;
  picker.query = query;
  picker.matches = filterPresets(allPresets(), query).slice(0, MAX_SHOWN);
  picker.index = Math.min(picker.index, Math.max(0, picker.matches.length - 1));
  draw();
}
/** Close the picker (the typed text stays). */
export function closePicker() {
  if (!picker.open) { return; }
  picker.open = false;
  picker.index = 0;
  if (picker.node) { picker.node.hidden = true; }
  const input = inputNode();
  if (input) { input.removeAttribute('aria-activedescendant'); input.setAttribute('aria-expanded', 'false'); }
}
function pick(index) {
  const preset = picker.matches[index];
  closePicker();
  if (preset) { applyPreset(preset); }
}
function onPickerClick(event) {
  const row = event.target && event.target.closest ? event.target.closest('[data-picker-index]') : null;
  if (row) { pick(Number(row.getAttribute('data-picker-index'))); }
}

// The text changed: "/" typed into the empty box opens; while open, the query follows.
function onInput(event) {
  const input = event.target;
  if (!input || input.id !== id('INPUT') || !presetConfig().builtin) { return; }
  const query = pickerQuery(input.value);
  if (query === null) { closePicker(); return; }
  if (!picker.open && query !== '') { return; } // only a "/" typed first opens it
  picker.index = picker.open ? picker.index : 0;
  show(query);
}
function onKeydown(event) {
  if (!picker.open || !event.target || event.target.id !== id('INPUT')) { return; }
  if (event.isComposing || event.keyCode === 229) { return; } // an IME is composing: its keys
  const count = picker.matches.length;
  let handled = true;
  if (event.key === 'Escape') { closePicker(); }
  else if (event.key === 'ArrowDown' && count) { picker.index = (picker.index + 1) % count; draw(); }
  else if (event.key === 'ArrowUp' && count) { picker.index = (picker.index - 1 + count) % count; draw(); }
  else if ((event.key === 'Enter' || event.key === 'Tab') && !event.shiftKey && count) { pick(picker.index); }
  else {
    handled = false; // no match: Enter sends what was typed (actions.mjs)
    if (event.key === 'Enter') { closePicker(); }
  }
  if (handled) { event.preventDefault(); event.stopPropagation(); }
}
function onFocusOut(event) {
  if (event.target && event.target.id === id('INPUT')) { closePicker(); }
}

if (typeof window !== 'undefined' && typeof document !== 'undefined') {
  window.addEventListener('keydown', onKeydown, true); // before the page's document listeners
  document.addEventListener('input', onInput, true);
  document.addEventListener('focusout', onFocusOut, true);
  window.addEventListener('resize', () => { if (picker.open) { draw(); } });
}
