// assets/js/sse.mjs: the SSE parser (HTML Living Standard §9.2.6).
import test from 'node:test';
import assert from 'node:assert/strict';
import { createSSEParser } from '../../assets/js/sse.mjs';

function parse(chunks) {
  const events = [];
  const feed = createSSEParser((name, data) => events.push([name, data]));
  chunks.forEach((c) => feed(c));
  feed.end();
  return events;
}
const STREAM = 'event: meta\ndata: {"model":"m"}\n\nevent: delta\ndata: {"content":"Hel"}\n\n' +
  ': keep-alive comment\n\nevent: delta\ndata: {"content":"lo \\u4f60\\u597d"}\n\nevent: done\ndata: {}\n\n';
const EXPECTED = [['meta', '{"model":"m"}'], ['delta', '{"content":"Hel"}'], ['delta', '{"content":"lo \\u4f60\\u597d"}'], ['done', '{}']];

test('a whole stream in one chunk', () => {
  assert.deepEqual(parse([STREAM]), EXPECTED);
});

test('chunks split at every single point', () => {
  for (let i = 0; i <= STREAM.length; i++) {
    assert.deepEqual(parse([STREAM.slice(0, i), STREAM.slice(i)]), EXPECTED, 'split at ' + i);
  }
});

test('chunks split at every pair of points, and one character at a time', () => {
  for (let i = 0; i <= STREAM.length; i += 3) {
    for (let j = i; j <= STREAM.length; j += 5) {
      assert.deepEqual(parse([STREAM.slice(0, i), STREAM.slice(i, j), STREAM.slice(j)]), EXPECTED);
    }
  }
  assert.deepEqual(parse(STREAM.split('')), EXPECTED);
});

test('CRLF and CR line endings, also a CRLF split between chunks', () => {
  const crlf = STREAM.replace(/\n/g, '\r\n');
  const cr = STREAM.replace(/\n/g, '\r');
  assert.deepEqual(parse([crlf]), EXPECTED);
  assert.deepEqual(parse([cr]), EXPECTED);
  for (let i = 0; i <= crlf.length; i++) {
    assert.deepEqual(parse([crlf.slice(0, i), crlf.slice(i)]), EXPECTED, 'CRLF split at ' + i);
  }
});

test('multi-line data is joined with LF; a leading space is removed once', () => {
  assert.deepEqual(parse(['data: line one\ndata:line two\ndata:  indented\n\n']), [['message', 'line one\nline two\n indented']]);
});

test('comments and unknown fields are ignored; no data means no event', () => {
  assert.deepEqual(parse([':hello\nid: 7\nretry: 10\n\nevent: x\n\n']), []);
  assert.deepEqual(parse(['data\n\n']), [['message', '']]);
});

test('the event name resets after each event', () => {
  assert.deepEqual(parse(['event: a\ndata: 1\n\ndata: 2\n\n']), [['a', '1'], ['message', '2']]);
});

test('a final event without a blank line is not dispatched', () => {
  assert.deepEqual(parse(['event: delta\ndata: {"content":"x"}\n\nevent: done\ndata: {}']), [['delta', '{"content":"x"}']]);
  assert.deepEqual(parse(['event: done\ndata: {}\n']), []);
});
