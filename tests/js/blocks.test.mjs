// assets/js/blocks.mjs: the streaming reply's final part and growing tail.
import test from 'node:test';
import assert from 'node:assert/strict';
import { BLOCK_CHARS, CODE_LINES, advanceSplit, growBlocks, newBlocks, newSplit } from '../../assets/js/blocks.mjs';

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

test('growBlocks: blocks + tail is the text, old blocks keep their identity, a new array only on change', () => {
  const state = newBlocks();
  let text = '';
  let previous = null;
  for (let i = 0; i < 60; i++) {
    text += 'Paragraph ' + i + ' ' + 'word '.repeat(20) + '\n\n';
    const partial = text + 'grow';
    const out = growBlocks(state, partial);
    assert.equal(out.blocks.join('') + out.tail, partial);
    assert.equal(out.tail, 'grow');
    if (previous) {
      // every block before the last of the previous paint is the same string, unchanged
      for (let k = 0; k < previous.length - 1; k++) { assert.equal(out.blocks[k], previous[k]); }
    }
    previous = out.blocks;
  }
  assert.ok(previous.length >= 3, String(previous.length));
  previous.slice(0, -1).forEach((block) => assert.ok(block.length >= BLOCK_CHARS));
  const same = growBlocks(state, text + 'grow more');
  assert.equal(same.blocks, previous); // nothing finished since: the same array
  assert.equal(same.tail, 'grow more');
});

test('growBlocks: a code fence stays in the tail until it closes', () => {
  const state = newBlocks();
  const head = 'Intro.\n\n';
  const open = head + '```js\nconst a = 1;\n\nconst b = 2;\n';
  let out = growBlocks(state, open);
  assert.deepEqual(out.blocks, [head]);
  assert.equal(out.tail, open.slice(head.length));
  out = growBlocks(state, open + '```\n\nAfter.');
  assert.equal(out.blocks.join(''), open + '```\n\n');
  assert.equal(out.tail, 'After.');
});

test('growBlocks: a long open code block is cut every CODE_LINES lines and drawn joined', () => {
  const state = newBlocks();
  const head = 'Look:\n\n```python\n';
  let text = head;
  let out = null;
  for (let k = 0; k < CODE_LINES * 2 + 5; k++) {
    text += 'x = ' + k + '\n';
    out = growBlocks(state, text + 'y');
  }
  // two cuts: each cut block ends with a closing fence, the next part reopens it
  const cut = Object.keys(out.cuts).map(Number);
  assert.equal(cut.length, 2);
  cut.forEach((i) => assert.ok(out.blocks[i].endsWith('```\n'), out.blocks[i].slice(-20)));
  assert.ok(out.tail.startsWith('```python\n'));
  // without the synthetic fences the parts are the text, in order
  const shown = out.blocks.join('') + out.tail;
  assert.equal(shown.replace(/```\n```python\n/g, ''), text + 'y');
  // the fence closes: the rest goes into a block that reopens it; nothing is cut after
  text += '```\n\nAfter.';
  out = growBlocks(state, text);
  assert.equal(out.tail, 'After.');
  assert.ok(out.blocks[out.blocks.length - 1].startsWith('```python\n'));
  assert.equal(out.blocks.join('').replace(/```\n```python\n/g, '') + out.tail, text);
});
