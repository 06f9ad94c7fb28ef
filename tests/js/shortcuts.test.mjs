// assets/js/shortcuts.mjs (key matching against the config's key map) and
// assets/js/share.mjs planSlices (where a tall conversation is cut into images).
import test from 'node:test';
import assert from 'node:assert/strict';
import { setConfig } from '../../assets/js/config.mjs';
import { entryFor, isTextField, matches } from '../../assets/js/shortcuts.mjs';
import { planSlices } from '../../assets/js/share.mjs';
import { pageConfig } from './helpers.mjs';

setConfig(pageConfig());
const map = pageConfig().shortcuts || [];
const key = (k, code, mods) => Object.assign({ key: k, code: code, ctrlKey: false, metaKey: false, altKey: false, shiftKey: false }, mods || {});
const fired = (event, where, typing) => { const e = entryFor(event, map, where || 'default', !!typing); return e ? e.action : null; };

test('the key map comes from the config, one entry per action', () => {
  const actions = map.map((e) => e.action);
  for (const name of ['new_chat', 'focus_input', 'stop', 'regenerate', 'copy_last', 'search', 'toggle_sidebar', 'help']) {
    assert.ok(actions.includes(name), name);
  }
  assert.equal(new Set(actions).size, actions.length);
});

test('Ctrl elsewhere, ⌘ on macOS, exact modifiers', () => {
  assert.equal(fired(key('O', 'KeyO', { ctrlKey: true, shiftKey: true })), 'new_chat');
  assert.equal(fired(key('o', 'KeyO', { metaKey: true, shiftKey: true }), 'mac'), 'new_chat');
  assert.equal(fired(key('o', 'KeyO', { metaKey: true, shiftKey: true })), null); // ⌘ is not Ctrl off a Mac
  assert.equal(fired(key('O', 'KeyO', { ctrlKey: true, shiftKey: true }), 'mac'), null);
  assert.equal(fired(key('o', 'KeyO', { ctrlKey: true })), null); // no Shift: not ours
  assert.equal(fired(key('k', 'KeyK', { ctrlKey: true })), 'search');
  assert.equal(fired(key('k', 'KeyK', { ctrlKey: true, altKey: true })), null); // AltGr+K is a character
});

test('the browser\'s own keys are never taken', () => {
  for (const letter of ['n', 't', 'w']) {
    assert.equal(fired(key(letter, 'Key' + letter.toUpperCase(), { ctrlKey: true })), null, letter);
    assert.equal(fired(key(letter.toUpperCase(), 'Key' + letter.toUpperCase(), { ctrlKey: true, shiftKey: true })), null, letter);
    assert.equal(fired(key(letter, 'Key' + letter.toUpperCase(), { metaKey: true }), 'mac'), null, letter);
  }
  assert.equal(fired(key('R', 'KeyR', { ctrlKey: true, shiftKey: true })), null); // hard reload
  assert.equal(fired(key('C', 'KeyC', { ctrlKey: true, shiftKey: true })), null); // DevTools inspector
});

test('other layouts: the physical key when no Latin letter is typed, "?" with or without Shift', () => {
  assert.equal(fired(key('Щ', 'KeyO', { ctrlKey: true, shiftKey: true })), 'new_chat'); // Russian layout
  assert.equal(fired(key(':', 'Semicolon', { ctrlKey: true, shiftKey: true })), 'copy_last'); // US Shift+;
  assert.equal(fired(key('?', 'Slash', { shiftKey: true })), 'help');
  assert.equal(fired(key('?', 'Comma', { shiftKey: true })), 'help'); // French layout
  assert.equal(fired(key('/', 'Slash', { ctrlKey: true })), 'help');
  assert.equal(fired(key('a', 'KeyQ', { ctrlKey: true, shiftKey: true })), null); // AZERTY: the letter counts, not the key
});

test('while typing only Esc fires; Enter stays the composer\'s', () => {
  assert.equal(fired(key('Escape', 'Escape'), 'default', true), 'stop');
  assert.equal(fired(key('Escape', 'Escape', { shiftKey: true }), 'default', true), null);
  assert.equal(fired(key('Escape', 'Escape', { shiftKey: true })), 'focus_input');
  assert.equal(fired(key('?', 'Slash', { shiftKey: true }), 'default', true), null);
  assert.equal(fired(key('k', 'KeyK', { ctrlKey: true }), 'default', true), null);
  assert.equal(fired(key('Enter', 'Enter')), null);
  assert.equal(fired(key('Enter', 'Enter', { shiftKey: true }), 'default', true), null);
});

test('text fields: inputs that take text, textareas, selects, contenteditable', () => {
  const el = (tagName, extra) => Object.assign({ nodeType: 1, tagName: tagName, isContentEditable: false }, extra || {});
  assert.ok(isTextField(el('TEXTAREA')));
  assert.ok(isTextField(el('INPUT', { type: 'text' })));
  assert.ok(isTextField(el('INPUT', { type: 'search' })));
  assert.ok(isTextField(el('SELECT')));
  assert.ok(isTextField(el('DIV', { isContentEditable: true })));
  assert.ok(!isTextField(el('INPUT', { type: 'checkbox' })));
  assert.ok(!isTextField(el('BUTTON')));
  assert.ok(!isTextField(null));
  assert.ok(!matches(key('x', 'KeyX'), { key: 'k', code: 'KeyK', ctrl: false, meta: false, alt: false, shift: false }));
});

const boxes = (heights, gap) => {
  let y = 16;
  return heights.map((h) => { const box = { top: y, bottom: y + h }; y += h + gap; return box; });
};

test('planSlices: one image when it fits, whole messages per image otherwise', () => {
  assert.deepEqual(planSlices(boxes([100, 200], 4), 16, 0, 1000), [{ start: 0, end: 2, offset: 0, height: 320 }]);
  const slices = planSlices(boxes([400, 400, 400, 400], 4), 16, 0, 1000);
  assert.deepEqual(slices.map((s) => [s.start, s.end]), [[0, 2], [2, 4]]);
  assert.ok(slices.every((s) => s.height <= 1000 && s.offset === 0));
  assert.equal(slices[0].height, 16 + 804);
});

test('planSlices: a message taller than an image is cut into parts; every pixel is kept', () => {
  const slices = planSlices(boxes([100, 2500, 100], 4), 16, 0, 1000);
  assert.deepEqual(slices.map((s) => [s.start, s.end, s.offset]), [[0, 1, 0], [1, 2, 0], [1, 2, 1000], [1, 2, 2000], [2, 3, 0]]);
  assert.deepEqual(slices.filter((s) => s.start === 1).map((s) => s.height), [1000, 1000, 516]);
  assert.ok(slices.every((s) => s.height > 0 && s.height <= 1000));
  assert.deepEqual(planSlices([], 16, 0, 1000), []);
});
