// assets/js/blocks.mjs: the streaming reply's final part and growing tail.
import test from 'node:test';
import assert from 'node:assert/strict';
import { advanceSplit, newSplit } from '../../assets/js/blocks.mjs';

function splitOf(text) { return advanceSplit(newSplit(), text); }

test('nothing is final before the first blank line', () => {
  assert.equal(splitOf('Hello wor'), 0);
  assert.equal(splitOf('Hello world\nsecond line'), 0);
});

test('the split follows the last blank line', () => {
  const text = 'Para one.\n\nPara two.\n\nPara thr';
  const at = splitOf(text);
  assert.equal(text.slice(0, at), 'Para one.\n\nPara two.\n\n');
  assert.equal(text.slice(at), 'Para thr');
});

test('blank lines inside a code fence do not split it; after it they do', () => {
  const open = 'Intro\n\n```python\ndef f():\n\n    return 1\n';
  assert.equal(open.slice(0, splitOf(open)), 'Intro\n\n');
  const closed = open + '```\n\nAfter';
  assert.equal(closed.slice(splitOf(closed)), 'After');
  // a tilde fence is closed only by tildes, at least as many
  const tilde = '~~~~\na\n\n```\n\n~~~\nb\n\n~~~~\n\nend';
  assert.equal(tilde.slice(splitOf(tilde)), 'end');
});

test('an inline code span with backticks is not a fence', () => {
  const text = '```not a fence``` here\n\nnext';
  assert.equal(text.slice(splitOf(text)), 'next');
});

test('scanning piece by piece gives the same split as scanning at once', () => {
  const text = 'A\n\n- one\n- two\n\n```js\nx\n\ny\n```\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\nlast words';
  const split = newSplit();
  let at = 0;
  for (let i = 1; i <= text.length; i += 3) { at = advanceSplit(split, text.slice(0, i)); }
  at = advanceSplit(split, text);
  assert.equal(at, splitOf(text));
  assert.equal(text.slice(at), 'last words');
});
