// assets/js/presets.mjs: search, the preset file's validation, the stored value, the
// merge of an import, the form's checks and the model a preset names (fallback).
import test from 'node:test';
import assert from 'node:assert/strict';
import { setConfig } from '../../assets/js/config.mjs';
import {
  allPresets, builtins, checkDraft, copyOf, filterPresets, isBuiltin, mergePresets, offeredModels, ownPresets, paramSpecs,
  parsePresetFile, presetConfig, presetMatches, presetSettings, readStore, saveOwn, storeText, upsertPreset
} from '../../assets/js/presets.mjs';
import { pickerQuery } from '../../assets/js/presetpicker.mjs';
import { pageConfig } from './helpers.mjs';

const cfg = pageConfig({ texts: {} }); // text() answers with the key: the reasons are checkable
setConfig(cfg);

const mine = { id: 'p-1', name: 'Mine', emoji: '🦊', system_prompt: 'Answer like a pirate.', parameters: { temperature: 0.4 }, first_message: 'Ahoy' };
function file(presets, extra) {
  return JSON.stringify(Object.assign({ format: presetConfig().file_format, version: presetConfig().file_version, presets: presets }, extra || {}));
}

test('the page config carries 12+ built-ins with the preset keys', () => {
  assert.ok(builtins().length >= 12);
  assert.ok(isBuiltin(builtins()[0]));
  assert.equal(isBuiltin(mine), false);
  assert.deepEqual(paramSpecs().map((s) => s.key), presetConfig().params);
});

test('search: name, prompt and first message, any case; name matches first', () => {
  const list = [
    { id: 'a', name: 'Pirate', system_prompt: 'talk about SQL sometimes' },
    { id: 'b', name: 'SQL helper', system_prompt: 'databases' },
    { id: 'c', name: '周报', system_prompt: '整理周报', first_message: 'weekly notes' }
  ];
  assert.deepEqual(filterPresets(list, 'sql').map((p) => p.id), ['b', 'a']);
  assert.deepEqual(filterPresets(list, '  WEEKLY ').map((p) => p.id), ['c']);
  assert.deepEqual(filterPresets(list, '周报').map((p) => p.id), ['c']);
  assert.deepEqual(filterPresets(list, '').map((p) => p.id), ['a', 'b', 'c']);
  assert.deepEqual(filterPresets(list, 'nothing like it'), []);
  assert.equal(presetMatches({ name: { type: 'Iframe' }, system_prompt: 'x' }, 'iframe'), false); // text only
  assert.ok(filterPresets(builtins(), 'translat').length >= 1);
});

test('a good preset file passes as it is', () => {
  assert.deepEqual(parsePresetFile(file([mine], { exported_at: '2026-01-01T00:00:00Z' })), [mine]);
  assert.deepEqual(parsePresetFile(file(builtins())), builtins());
});

test('a bad preset file is refused as a whole, with its reason', () => {
  assert.throws(() => parsePresetFile('{nope'), /preset_reason_json/);
  assert.throws(() => parsePresetFile('[]'), /preset_reason_format/);
  assert.throws(() => parsePresetFile(JSON.stringify({ format: 'dash-chat-backup', version: 1, conversations: [] })), /preset_reason_format/);
  assert.throws(() => parsePresetFile(file([mine], { version: 99 })), /preset_reason_version/);
  assert.throws(() => parsePresetFile(file('not a list')), /preset_reason_shape/);
  const gadget = { type: 'Iframe', namespace: 'dash_html_components', props: { src: 'javascript:alert(1)' } };
  // one bad value anywhere refuses the file (nothing half-imported)
  assert.throws(() => parsePresetFile(file([mine, Object.assign({}, mine, { id: 'p-2', name: gadget })])), /preset_reason_shape/);
  assert.throws(() => parsePresetFile(file([Object.assign({}, mine, { parameters: { temperature: 7 } })])), /preset_reason_shape/);
  assert.throws(() => parsePresetFile(file([Object.assign({}, mine, { parameters: { model: 'no spaces allowed' } })])), /preset_reason_shape/);
  assert.throws(() => parsePresetFile(file([Object.assign({}, mine, { unknown: 1 })])), /preset_reason_shape/);
  assert.throws(() => parsePresetFile(file([{ id: 'p-3', name: 'No prompt' }])), /preset_reason_shape/);
});

test('the stored value: read back coerced, damaged parts counted, a newer format left alone', () => {
  const text = storeText([mine]);
  assert.deepEqual(JSON.parse(text), { version: presetConfig().storage_version, presets: [mine] });
  assert.deepEqual(readStore(text), { presets: [mine], dropped: 0, newer: false });
  assert.deepEqual(readStore(null), { presets: [], dropped: 0, newer: false });
  assert.deepEqual(readStore('{broken'), { presets: [], dropped: 1, newer: false });
  const damaged = readStore(JSON.stringify({ version: 1, presets: [mine, { id: 'x', name: { type: 'Iframe' }, system_prompt: '' }] }));
  assert.deepEqual(damaged.presets, [mine]);
  assert.equal(damaged.dropped, 1);
  assert.equal(readStore(JSON.stringify({ version: 99, presets: [] })).newer, true);
});

test('import merge: identical skipped, a used or built-in id gets a new one, the limit refuses', () => {
  const other = Object.assign({}, mine, { name: 'Other' });
  const builtinCopy = Object.assign({}, builtins()[0], { name: 'Edited built-in' });
  const result = mergePresets([mine], [mine, other, builtinCopy], 10, 5);
  assert.equal(result.added, 2);
  assert.equal(result.skipped, 1);
  assert.equal(result.list.length, 3);
  assert.equal(result.list[2], mine); // never overwritten
  const ids = result.list.map((p) => p.id);
  assert.equal(new Set(ids).size, 3);
  assert.ok(!ids.includes(builtins()[0].id));
  assert.throws(() => mergePresets([mine], [other, builtinCopy], 2, 5), /preset_reason_too_many/);
});

test('the form: a name, a prompt or first message, parameters within the spec ranges', () => {
  assert.deepEqual(Object.keys(checkDraft({ name: ' ', system_prompt: 'x' }, 1).errors), ['name']);
  assert.deepEqual(Object.keys(checkDraft({ name: 'N', system_prompt: '  ', first_message: '' }, 1).errors), ['system_prompt']);
  const bad = checkDraft({ name: 'N', system_prompt: 'x', parameters: { temperature: '3', max_tokens: '1.5', top_p: '0.5' } }, 1).errors;
  assert.equal(bad.temperature, 'range_error');
  assert.equal(bad.max_tokens, 'int_error');
  assert.equal(bad.top_p, undefined);
  const ok = checkDraft({ id: 'p-9', name: '  My   tutor ', emoji: '🦉', system_prompt: 'Teach.', first_message: '', parameters: { temperature: '0.7', model: '', reasoning_effort: 'high' } }, 42);
  assert.deepEqual(ok.preset, { id: 'p-9', name: 'My tutor', emoji: '🦉', system_prompt: 'Teach.', parameters: { temperature: 0.7, reasoning_effort: 'high' }, updated_at: 42 });
  const fresh = checkDraft({ name: 'New', system_prompt: '', first_message: 'Hi there' }, 1).preset;
  assert.ok(fresh.id && fresh.first_message === 'Hi there' && !fresh.parameters);
  const model = checkDraft({ name: 'M', system_prompt: 'x', parameters: { model: 'bad model' } }, 1);
  assert.ok(model.errors && model.errors.model, JSON.stringify(model));
});

test('upsert keeps one per id, newest first; a copy is an own preset', () => {
  const changed = Object.assign({}, mine, { name: 'Changed' });
  assert.deepEqual(upsertPreset([{ id: 'z' }, mine], changed), [changed, { id: 'z' }]);
  const copy = copyOf(builtins()[0]);
  assert.notEqual(copy.id, builtins()[0].id);
  assert.equal(isBuiltin(copy), false);
  assert.equal(copy.system_prompt, builtins()[0].system_prompt);
});

test('a model this server does not offer is left out: the default answers', () => {
  const offered = offeredModels({ model: 'test-model', models: ['test-model', 'other'] }, ['from-api']);
  assert.deepEqual(Array.from(offered).sort(), ['from-api', 'other', 'test-model']);
  const preset = { name: 'P', system_prompt: 'Be brief.', parameters: { model: 'ghost-model', temperature: 0.2, max_tokens: 100 } };
  assert.deepEqual(presetSettings(preset, offered), { settings: { system_prompt: 'Be brief.', temperature: 0.2, max_tokens: 100 }, fallback: 'ghost-model' });
  const known = Object.assign({}, preset, { parameters: { model: 'from-api' } });
  assert.deepEqual(presetSettings(known, offered), { settings: { system_prompt: 'Be brief.', model: 'from-api' }, fallback: null });
  assert.deepEqual(presetSettings({ name: 'Q', system_prompt: '', first_message: 'hi' }, offered), { settings: {}, fallback: null });
});

test('the "/" picker applies only to a one-line text that starts with "/"', () => {
  assert.equal(pickerQuery('/'), '');
  assert.equal(pickerQuery('/sql'), 'sql');
  assert.equal(pickerQuery('hello /sql'), null);
  assert.equal(pickerQuery('/a\nb'), null);
  assert.equal(pickerQuery(''), null);
  assert.equal(pickerQuery('、周报'), '周报'); // the key a Chinese IME turns into 、 or ／
  assert.equal(pickerQuery('／sql'), 'sql');
});

test('presets stored by a newer format are never overwritten (the change stays in memory)', () => {
  const newer = JSON.stringify({ version: 99, presets: [{ future: true }] });
  const writes = [];
  globalThis.localStorage = {
    getItem: (key) => (key === presetConfig().storage_key ? newer : null),
    setItem: (key, value) => writes.push([key, value])
  };
  try {
    assert.deepEqual(ownPresets(), []);
    assert.deepEqual(allPresets(), builtins());
    assert.equal(saveOwn([mine]), false);
    assert.deepEqual(writes, []);
    assert.deepEqual(ownPresets(), [mine]); // kept until a reload
  } finally {
    delete globalThis.localStorage;
  }
});
