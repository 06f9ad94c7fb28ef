// assets/js/exporter.mjs: the browser's Markdown export, byte for byte Python's
// chatcore.export.to_markdown. With CHAT_EXPORT_GOLDEN (tests/test_export_js.py writes
// it from Python) every golden case is compared, with CHAT_EXPORT_REFUSED every
// attachment Python refuses to write is refused here too; without them, a few fixed
// ones (attachments too). Also assets/js/zip.mjs: Export all's file names and the zip.
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { setConfig } from '../../assets/js/config.mjs';
import { FORMAT_VERSION, closingLines, escapeName, toMarkdown, useMarkdownIt } from '../../assets/js/exporter.mjs';
import { NAME_MAX, fileNames, safeStem, useFflate, zipFiles } from '../../assets/js/zip.mjs';
import { ROOT, pageConfig } from './helpers.mjs';

const require = createRequire(import.meta.url);
const vendor = fs.readdirSync(path.join(ROOT, 'assets', 'vendor')).find((f) => /^markdown-it-.*\.min\.js$/.test(f));
useMarkdownIt(require(path.join(ROOT, 'assets', 'vendor', vendor)));
setConfig(pageConfig());
const AT = new Date(Date.UTC(2026, 0, 2, 3, 4, 5));

test('a stopped reply gets its fence closed and counted', () => {
  const text = toMarkdown([{ role: 'user', content: 'q' }, { role: 'assistant', content: 'Here:\n```python\ndef f():' }], { model: 'm', title: 'T', exported_at: AT });
  assert.ok(text.startsWith('# T\n\n- Exported: 2026-01-02 03:04:05 UTC\n- Model: m\n- Messages: 2\n- Format: 2\n\n'), text);
  assert.ok(text.endsWith('<!-- chat:begin role=assistant close=1 -->\nHere:\n```python\ndef f():\n```\n<!-- chat:end -->\n'), text);
});

test('open blocks of each kind get the closing line Python writes', () => {
  assert.deepEqual(closingLines('<pre>\n```', '<!-- chat:end -->'), ['```', '</pre>']);
  assert.deepEqual(closingLines('<script>\nlet a', '<!-- chat:end -->'), ['</script>']);
  assert.deepEqual(closingLines('$$\n\\sum', '<!-- chat:end -->'), ['$$']);
  assert.deepEqual(closingLines('plain text', '<!-- chat:end -->'), []);
});

const PNG = 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC';
const IMAGE = { id: 'att-1', kind: 'image', name: 'my_photo (1).png', mime: 'image/png', size: 69, width: 1, height: 1, data: PNG };
const DOCUMENT = { id: 'att-2', kind: 'document', name: '报告.txt', mime: 'text/plain', size: 9, text: 'x\n````\ny', tokens: 3, truncated: true };

test('an image and a document are written after the message, format 3', () => {
  const text = toMarkdown([{ role: 'user', content: 'q', attachments: [IMAGE, DOCUMENT] }], { model: 'm', title: 'T', exported_at: AT });
  assert.equal(FORMAT_VERSION, 3);
  assert.ok(text.indexOf('\n- Format: 3\n') > 0, text);
  assert.ok(text.endsWith('<!-- chat:begin role=user -->\nq\n<!-- chat:end -->\n\n' +
    '<!-- chat:image mime=image/png size=69 width=1 height=1 -->\n![my\\_photo \\(1\\).png](' + PNG + ')\n\n' +
    '<!-- chat:document mime=text/plain size=9 tokens=3 truncated=1 -->\n\u{1F4C4} **报告.txt**\n`````text\nx\n````\ny\n`````\n'), text);
  // no attachments (absent, null or []): format 2, as before
  const plain = toMarkdown([{ role: 'user', content: 'q', attachments: [] }, { role: 'assistant', content: 'a', attachments: null }], { model: 'm', title: 'T', exported_at: AT });
  assert.equal(plain, toMarkdown([{ role: 'user', content: 'q' }, { role: 'assistant', content: 'a' }], { model: 'm', title: 'T', exported_at: AT }));
  assert.ok(plain.indexOf('\n- Format: 2\n') > 0);
});

test('names cannot leave the alt text or make markup', () => {
  assert.equal(escapeName('a](javascript:x)'), 'a\\]\\(javascript:x\\)');
  assert.equal(escapeName('<img src=x onerror=alert(1)>'), '\\<img src\\=x onerror\\=alert\\(1\\)\\>');
  assert.equal(escapeName('a\nb\t\u2028\ud800😀图'), 'a&#10;b&#9;&#8232;&#55296;😀图');
  assert.equal(escapeName('&amp; \\'), '\\&amp; \\\\');
});

test('an image that is not a data: URL of png, jpeg, webp or gif is never written', () => {
  for (const bad of [{ data: 'data:image/svg+xml;base64,PHN2Zy8+' }, { mime: 'image/svg+xml' }, { data: 'javascript:alert(1)' }, { data: PNG + ')' }]) {
    assert.throws(() => toMarkdown([{ role: 'user', content: 'q', attachments: [Object.assign({}, IMAGE, bad)] }], { model: 'm', exported_at: AT }));
  }
  assert.throws(() => toMarkdown([{ role: 'user', content: 'q', attachments: {} }], { model: 'm', exported_at: AT }));
});

test('the image data check accepts exactly what the schema pattern accepts', () => {
  const pattern = new RegExp(pageConfig().schema.$defs.ImageAttachment.properties.data.pattern);
  const heads = ['data:image/png;base64,', 'data:image/gif;base64,', 'data:image/svg+xml;base64,', 'data:image/png;base64', 'data:image/PNG;base64,', ' data:image/png;base64,', 'data:text/html;base64,'];
  const tails = ['', 'A', 'AA==', 'AAAA', '+/+/', '=', '==', 'A=A', 'AA=A=', 'AA==\n', 'AA== ', 'A\nA', 'A-_', 'A)', 'A%3D', '\u00c0', 'A'.repeat(5000) + '=', 'A'.repeat(5000) + '=A'];
  let accepted = 0;
  for (const head of heads) {
    for (const tail of tails) {
      const data = head + tail;
      const image = Object.assign({}, IMAGE, { mime: 'image/png', data: data });
      let written = true;
      try { toMarkdown([{ role: 'user', content: 'q', attachments: [image] }], { model: 'm', exported_at: AT }); } catch (e) { written = false; }
      assert.equal(written, pattern.test(data), JSON.stringify(data.slice(0, 60)));
      accepted += written ? 1 : 0;
    }
  }
  assert.ok(accepted >= 10);
});

test('what Python refuses to write is refused', { skip: !process.env.CHAT_EXPORT_REFUSED }, () => {
  const refused = JSON.parse(fs.readFileSync(process.env.CHAT_EXPORT_REFUSED, 'utf8'));
  refused.forEach(function (attachment, i) {
    assert.throws(() => toMarkdown([{ role: 'user', content: 'q', attachments: [attachment] }], { model: 'm', exported_at: AT }), Error, 'case ' + i);
  });
  console.log('refused attachments: ' + refused.length);
});

test('golden outputs written by Python are reproduced byte for byte', { skip: !process.env.CHAT_EXPORT_GOLDEN }, () => {
  const cases = JSON.parse(fs.readFileSync(process.env.CHAT_EXPORT_GOLDEN, 'utf8'));
  const failed = [];
  cases.forEach(function (c, i) {
    const got = toMarkdown(c.messages, Object.assign({}, c.options, { exported_at: new Date(c.exported_at_ms) }));
    if (got !== c.markdown) { failed.push(i); }
  });
  if (failed.length) {
    const c = cases[failed[0]];
    const got = toMarkdown(c.messages, Object.assign({}, c.options, { exported_at: new Date(c.exported_at_ms) }));
    let at = 0;
    while (at < got.length && got[at] === c.markdown[at]) { at++; }
    assert.fail(failed.length + ' of ' + cases.length + ' differ, first case ' + failed[0] + ' at ' + at + ':\nJS:     ' +
      JSON.stringify(got.slice(Math.max(0, at - 80), at + 80)) + '\nPython: ' + JSON.stringify(c.markdown.slice(Math.max(0, at - 80), at + 80)));
  }
  console.log('golden cases compared: ' + cases.length);
});

test('file names keep CJK and replace what Windows and zip readers refuse', () => {
  assert.equal(safeStem('斐波那契 数列 😀'), '斐波那契 数列 😀');
  assert.equal(safeStem('a<b>c:d"e/f\\g|h?i*j'), 'a_b_c_d_e_f_g_h_i_j');
  assert.equal(safeStem('tab\there\u0000nul\u001f'), 'tab here_nul_');
  assert.equal(safeStem('  dots and spaces. . '), 'dots and spaces');
  assert.equal(safeStem('...'), 'chat');
  assert.equal(safeStem(''), 'chat');
  assert.equal(safeStem('///'), 'chat');
  for (const name of ['CON', 'con', 'Nul', 'PRN', 'aux', 'COM1', 'lpt9']) { assert.equal(safeStem(name), name + '_'); }
  assert.equal(safeStem('con.txt'), 'con_.txt');
  assert.equal(safeStem('CONSOLE'), 'CONSOLE');
  assert.equal(Array.from(safeStem('长'.repeat(200))).length, NAME_MAX);
  assert.equal(safeStem('😀'.repeat(100)), '😀'.repeat(NAME_MAX)); // never half a surrogate pair
  assert.equal(safeStem('x'.repeat(79) + '. y'), 'x'.repeat(79)); // no trailing dot after the cut
});

test('repeated names are numbered ignoring case', () => {
  assert.deepEqual(fileNames(['Notes', 'notes', 'NOTES', 'Notes (2)', '', '']),
    ['Notes.md', 'notes (2).md', 'NOTES (3).md', 'Notes (2) (2).md', 'chat.md', 'chat (2).md']);
});

test('the zip holds the files, UTF-8 names and texts', () => {
  useFflate(require(path.join(ROOT, 'assets', 'vendor', fs.readdirSync(path.join(ROOT, 'assets', 'vendor')).find((f) => /^fflate-.*\.js$/.test(f)))));
  const bytes = zipFiles([{ name: '代码.md', text: '# 代码\n' }, { name: 'b.json', text: '{}' }], AT);
  assert.equal(bytes[0], 0x50); assert.equal(bytes[1], 0x4b); // PK
  const fflate = require(path.join(ROOT, 'assets', 'vendor', fs.readdirSync(path.join(ROOT, 'assets', 'vendor')).find((f) => /^fflate-.*\.js$/.test(f))));
  const files = fflate.unzipSync(bytes);
  assert.deepEqual(Object.keys(files), ['代码.md', 'b.json']);
  assert.equal(new TextDecoder().decode(files['代码.md']), '# 代码\n');
});
