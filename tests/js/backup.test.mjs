// assets/js/backup.mjs: restore validation against the Backup schema, and the merge.
import test from 'node:test';
import assert from 'node:assert/strict';
import { downloadName, setConfig } from '../../assets/js/config.mjs';
import { decodeUpload, mergeBackup, parseBackup } from '../../assets/js/backup.mjs';
import { pageConfig, schema } from './helpers.mjs';

setConfig(pageConfig({ texts: {} })); // text() answers with the key: the reasons are checkable

function backup(conversations, extra) {
  return JSON.stringify(Object.assign({ format: schema.backup_format, version: schema.backup_version, conversations: conversations }, extra || {}));
}
const good = { id: 'c1', title: 'T', settings: {}, error: null, messages: [{ id: 'm1', role: 'user', content: 'hi' }] };

test('a good backup passes as it is', () => {
  const out = parseBackup(backup([good]));
  assert.equal(out.dropped, 0);
  assert.deepEqual(out.conversations[0].messages, good.messages);
});

test('what is not a backup is refused with its reason', () => {
  assert.throws(() => parseBackup('{nope'), /import_reason_json/);
  assert.throws(() => parseBackup('[]'), /import_reason_format/);
  assert.throws(() => parseBackup(JSON.stringify({ format: 'other', version: 1, conversations: [] })), /import_reason_format/);
  assert.throws(() => parseBackup(backup([], { version: 99 })), /import_reason_version/);
  assert.throws(() => parseBackup(backup('not a list')), /import_reason_shape/);
});

test('a component dict in place of text is dropped, never kept', () => {
  const gadget = { type: 'Iframe', namespace: 'dash_html_components', props: { src: 'javascript:alert(1)' } };
  const bad = Object.assign({}, good, { title: gadget, messages: [{ id: 'm1', role: 'user', content: gadget }, good.messages[0]] });
  const out = parseBackup(backup([bad]));
  assert.ok(out.dropped >= 2, String(out.dropped));
  assert.equal(JSON.stringify(out.conversations).includes('javascript:'), false);
});

test('an unknown role is dropped with its message', () => {
  const bad = Object.assign({}, good, { messages: [{ id: 'm1', role: 'tool', content: 'x' }, { id: 'm2', role: 'user', content: 'ok' }] });
  const out = parseBackup(backup([bad]));
  assert.deepEqual(out.conversations[0].messages.map((m) => m.role), ['user']);
});

test('merge: new ids added, identical skipped, same id with other content added as a copy', () => {
  const next = { version: 3, active_id: 'c1', conversations: [good] };
  const changed = Object.assign({}, good, { messages: [{ id: 'm9', role: 'user', content: 'other' }] });
  const fresh = Object.assign({}, good, { id: 'c2' });
  const empty = Object.assign({}, good, { id: 'c3', messages: [] });
  const result = mergeBackup(next, [good, changed, fresh, empty]);
  assert.deepEqual(result, { added: 2, skipped: 1 });
  assert.equal(next.conversations.length, 3);
  assert.equal(next.conversations[0], good); // never overwritten
  const copy = next.conversations[1];
  assert.notEqual(copy.id, 'c1');
  assert.equal(copy.messages[0].content, 'other');
  assert.equal(next.conversations[2].id, 'c2');
});

test('uploads are decoded as strict UTF-8', () => {
  const text = '你好 {"a":1}';
  const url = 'data:application/json;base64,' + Buffer.from(text, 'utf8').toString('base64');
  assert.equal(decodeUpload(url), text);
  assert.throws(() => decodeUpload('data:application/json;base64,' + Buffer.from([0xff, 0xfe, 0x00]).toString('base64')), /import_reason_encoding/);
});

// --- attachments (issue 13, backup version 2) and branches (issue 14, version 3) ---------
const image = { id: 'att-1', kind: 'image', name: 'cat.png', mime: 'image/png', size: 3, width: 1, height: 1,
  data: 'data:image/png;base64,iVBORw0KGgo=' };
const docAttachment = { id: 'att-2', kind: 'document', name: 'notes.md', mime: 'text/markdown', size: 5, text: '# hi', tokens: 2 };
const withImage = Object.assign({}, good, { id: 'c5', messages: [{ id: 'm5', role: 'user', content: '', attachments: [image, docAttachment] }] });

test('the backup version is 3 and version-1 and version-2 files still restore', () => {
  assert.equal(schema.backup_version, 3);
  assert.deepEqual(schema.backup_versions, [1, 2, 3]);
  const v1 = parseBackup(backup([good], { version: 1 }));
  assert.equal(v1.dropped, 0);
  assert.deepEqual(v1.conversations[0].messages, good.messages);
  const v2 = parseBackup(backup([withImage], { version: 2 }));
  assert.equal(v2.dropped, 0);
  assert.deepEqual(v2.conversations[0].messages[0].attachments, [image, docAttachment]);
});

test('a version-3 backup brings every branch back (nested versions, the one on screen null)', () => {
  const branched = Object.assign({}, good, { id: 'c7', messages: [
    { id: 'u1', role: 'user', content: 'q', branches: { current: 1, tails: [[{ id: 'a1', role: 'assistant', content: 'first' }], null] } },
    { id: 'a2', role: 'assistant', content: 'second' }],
    branches: { current: 1, tails: [[{ id: 'u0', role: 'user', content: 'old start' }], null] } });
  const out = parseBackup(backup([branched]));
  assert.equal(out.dropped, 0);
  assert.deepEqual(out.conversations[0].messages[0].branches, branched.messages[0].branches);
  assert.deepEqual(out.conversations[0].branches, branched.branches);
});

test('a version-2 backup brings images (data URLs) and documents back as they were', () => {
  const out = parseBackup(backup([withImage]));
  assert.equal(out.dropped, 0);
  assert.deepEqual(out.conversations[0].messages[0].attachments, [image, docAttachment]);
});

test('an image that is not a png/jpeg/webp/gif base64 data URL is dropped (svg, script URLs)', () => {
  for (const data of ['data:image/svg+xml;base64,PHN2Zz4=', 'javascript:alert(1)', 'data:image/png;base64,<script>', 'https://x.test/a.png']) {
    const bad = Object.assign({}, withImage, { messages: [{ id: 'm5', role: 'user', content: 'x', attachments: [Object.assign({}, image, { data: data })] }] });
    const out = parseBackup(backup([bad]));
    assert.deepEqual(out.conversations[0].messages[0].attachments, [], data);
    assert.equal(out.dropped, 1, data);
  }
});

test('a restored copy (same id, other content) gets new message and attachment ids', () => {
  const next = { version: 4, active_id: 'c5', conversations: [Object.assign({}, withImage, { messages: [{ id: 'm5', role: 'user', content: 'local' }] })] };
  const result = mergeBackup(next, [withImage]);
  assert.deepEqual(result, { added: 1, skipped: 0 });
  const copy = next.conversations[1];
  assert.notEqual(copy.id, 'c5');
  assert.notEqual(copy.messages[0].id, 'm5');
  assert.notEqual(copy.messages[0].attachments[0].id, 'att-1');
  assert.equal(copy.messages[0].attachments[0].data, image.data);
  assert.equal(next.conversations[0].messages[0].id, 'm5'); // the local one is untouched
});

test('download names come from the page config (chatcore/export.py DOWNLOAD_NAMES) with a local-time stamp', { skip: !pageConfig().download_names && 'needs the config tests/test_js_units.py writes' }, () => {
  const at = new Date(2026, 0, 2, 3, 4, 5); // local time
  assert.equal(downloadName('markdown', at), 'chat-20260102-030405.md');
  assert.equal(downloadName('backup', at), 'chat-backup-20260102-030405.json');
  assert.equal(downloadName('zip', at), 'chat-all-20260102-030405.zip');
  assert.equal(downloadName('presets', at), 'chat-presets-20260102-030405.json');
});
