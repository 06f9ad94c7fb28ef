// Unit tests of assets/schema_walk.js against the committed page schema
// (chatcore/page_schema.json). Run: node --test tests/js/*.test.js (tests/test_schema.py runs it).
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const fs = require('node:fs');
const walk = require('../../assets/schema_walk.js');

const doc = JSON.parse(fs.readFileSync(path.join(__dirname, '../../chatcore/page_schema.json'), 'utf8'));
const gadget = { type: 'FefferyExecuteJs', namespace: 'feffery_utils_components', props: { jsString: 'window.pwned = 1' } };

function message(extra) { return Object.assign({ id: 'm1', role: 'user', content: 'hi' }, extra); }
function conversation(extra) { return Object.assign({ id: 'c1', title: 't', settings: {}, error: null, messages: [message()] }, extra); }

test('a valid history passes unchanged, nothing dropped', () => {
  const history = { version: 1, active_id: 'c1', conversations: [conversation({ messages: [
    message(), message({ id: 'm2', role: 'assistant', content: 'yo', finish_reason: 'stop', model: 'gpt-4o-mini',
      usage: { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 }, ttft_ms: 12, trimmed: 1, stopped: true })
  ] })] };
  const r = walk.coerce(doc, 'History', history);
  assert.equal(r.ok, true);
  assert.equal(r.dropped, 0);
  assert.deepEqual(r.value, history);
  assert.equal(r.value, history); // the same object: nothing to copy
});

test('only the parts that changed are copied', () => {
  const good = conversation();
  const bad = conversation({ id: 'c2', title: 7 });
  const r = walk.coerce(doc, 'History', { conversations: [good, bad] });
  assert.equal(r.value.conversations[0], good);
  assert.notEqual(r.value.conversations[1], bad);
  assert.equal(r.value.conversations[1].messages, bad.messages);
});

test('a component dict in a text field is dropped, the rest kept', () => {
  const r = walk.coerce(doc, 'Conversation', conversation({ title: gadget, settings: { model: gadget, temperature: 0.5 } }));
  assert.equal(r.ok, true);
  assert.equal(r.dropped, 2);
  assert.equal('title' in r.value, false);
  assert.deepEqual(r.value.settings, { temperature: 0.5 });
});

test('a message whose content is not a string is skipped and counted', () => {
  const r = walk.coerce(doc, 'Conversation', conversation({ messages: [message({ content: gadget }), message({ id: 'm2' })] }));
  assert.equal(r.ok, true);
  assert.equal(r.value.messages.length, 1);
  assert.equal(r.value.messages[0].id, 'm2');
  assert.equal(r.dropped, 1);
  assert.deepEqual(r.paths, ['messages[0]']);
});

test('unknown keys are dropped and counted', () => {
  const r = walk.coerce(doc, 'StoredMessage', message({ children: gadget, __proto__x: 1 }));
  assert.equal(r.ok, true);
  assert.deepEqual(Object.keys(r.value).sort(), ['content', 'id', 'role']);
  assert.equal(r.dropped, 2);
});

test('a JSON __proto__ key does not change the prototype', () => {
  const raw = JSON.parse('{"id": "m", "role": "user", "content": "x", "__proto__": {"polluted": true}}');
  const r = walk.coerce(doc, 'StoredMessage', raw);
  assert.equal(r.ok, true);
  assert.equal(r.value.polluted, undefined);
  assert.equal(({}).polluted, undefined);
  assert.equal(r.dropped, 1);
});

test('numbers: non-finite, out of range, wrong kind are dropped; booleans are not numbers', () => {
  const r = walk.coerce(doc, 'StoredSettings', { temperature: 3, top_p: NaN, max_tokens: 1.5, history: true,
    presence_penalty: -2, frequency_penalty: '1', system_prompt: 'ok' });
  assert.equal(r.ok, true);
  assert.deepEqual(r.value, { presence_penalty: -2, system_prompt: 'ok' });
  assert.equal(r.dropped, 5);
});

test('strings: pattern and code-point length limits', () => {
  assert.equal(walk.coerce(doc, 'StoredSettings', { model: 'gpt-4o' }).dropped, 0);
  assert.equal(walk.coerce(doc, 'StoredSettings', { model: 'bad model<script>' }).dropped, 1);
  assert.equal(walk.coerce(doc, 'StoredSettings', { model: '' }).dropped, 1);
  const emoji = '😀'.repeat(500); // 1000 UTF-16 units, 500 code points: fits TITLE_MAX 500
  assert.equal(walk.coerce(doc, 'Conversation', conversation({ title: emoji })).dropped, 0);
  assert.equal(walk.coerce(doc, 'Conversation', conversation({ title: emoji + 'x' })).dropped, 1);
});

test('enum, const and anyOf with null', () => {
  assert.equal(walk.coerce(doc, 'StoredMessage', message({ role: 'tool' })).ok, false);
  assert.equal(walk.coerce(doc, 'Prefs', { theme: 'neon' }).dropped, 1);
  assert.equal(walk.coerce(doc, 'Prefs', { theme: null }).dropped, 0);
  assert.equal(walk.coerce(doc, 'Backup', { format: 'x', version: 1, conversations: [] }).ok, false);
  assert.equal(walk.coerce(doc, 'Backup', { format: 'dash-chat-backup', version: 4, conversations: [] }).ok, false);
  const usage = walk.coerce(doc, 'StoredMessage', message({ usage: { prompt_tokens: gadget, completion_tokens: 2 } }));
  assert.deepEqual(usage.value.usage, { completion_tokens: 2 });
  assert.equal(usage.dropped, 1);
});

test('maxItems: a list longer than its bound does not fit (attachments of a message)', () => {
  const image = { id: 'a', kind: 'image', name: 'x.png', mime: 'image/png', size: 3, data: 'data:image/png;base64,AAAA' };
  const max = doc.$defs.StoredMessage.properties.attachments.anyOf[0].maxItems;
  assert.ok(max >= 10, String(max));
  const ok = walk.coerce(doc, 'StoredMessage', message({ attachments: [image] }));
  assert.equal(ok.dropped, 0);
  const many = walk.coerce(doc, 'StoredMessage', message({ attachments: new Array(max + 1).fill(image) }));
  assert.equal(many.ok, true);
  assert.equal('attachments' in many.value, false);
  const svg = walk.coerce(doc, 'StoredMessage', message({ attachments: [Object.assign({}, image, { data: 'data:image/svg+xml;base64,AAAA' })] }));
  assert.deepEqual(svg.value.attachments, []);
  assert.equal(svg.dropped, 1);
});

test('a root that does not fit gives ok=false and no value', () => {
  for (const value of [null, 'x', 1, [], true]) {
    assert.deepEqual(walk.coerce(doc, 'History', value), { ok: false, value: null, dropped: 0, paths: [] });
  }
  const asHistory = walk.coerce(doc, 'History', gadget); // an object: its unknown keys go
  assert.deepEqual(asHistory.value, {});
  assert.equal(asHistory.dropped, 3);
  assert.equal(walk.coerce(doc, 'Conversation', { title: 'no id' }).ok, false);
});

test('server events: delta needs string content; unknown keys dropped', () => {
  assert.equal(walk.coerce(doc, 'DeltaEvent', { content: gadget }).ok, false);
  assert.deepEqual(walk.coerce(doc, 'DeltaEvent', { content: 'a', extra: 1 }).value, { content: 'a' });
  assert.deepEqual(walk.coerce(doc, 'ModelList', { models: ['a', gadget, 3, 'b'] }).value, { models: ['a', 'b'] });
  assert.equal(walk.coerce(doc, 'ErrorInfo', { status: 500, code: 'x', message: gadget }).ok, false);
});

test('a deep value does not recurse past the schema', () => {
  let deep = {};
  for (let i = 0; i < 100000; i++) { deep = { a: deep }; }
  const r = walk.coerce(doc, 'StoredMessage', message({ usage: deep }));
  assert.equal(r.ok, true);
  assert.deepEqual(r.value.usage, {});
});

test('unsupported schema keywords fail closed', () => {
  const bad = { $defs: { X: { type: 'object', properties: { a: { type: 'string', format: 'email' } } } } };
  assert.throws(() => walk.coerce(bad, 'X', { a: 'x' }), /not supported: format/);
  assert.throws(() => walk.coerce(doc, 'Nope', {}), /no schema named/);
});

test('asText draws strings and finite numbers only', () => {
  assert.equal(walk.asText('a'), 'a');
  assert.equal(walk.asText(3), '3');
  for (const v of [gadget, null, undefined, NaN, Infinity, [1], true]) { assert.equal(walk.asText(v), ''); }
});
