// assets/js/branches.mjs: versions kept by Edit & resend and Regenerate.
import test from 'node:test';
import assert from 'node:assert/strict';
import { allMessages, fork, switchVersion, versionsAt } from '../../assets/js/branches.mjs';

const msg = (id, role, content) => ({ id, role, content });
const texts = (c) => c.messages.map((m) => m.content);
const base = () => ({ id: 'c', messages: [msg('u1', 'user', 'q1'), msg('a1', 'assistant', 'a1'), msg('u2', 'user', 'q2'), msg('a2', 'assistant', 'first')] });

test('no versions until something is replaced', () => {
  const c = base();
  assert.equal(versionsAt(c, 3), null);
  assert.equal(versionsAt(c, 0), null);
  assert.equal(versionsAt(c, 9), null);
});

test('regenerate twice → 3 / 3; back to 1 / 3 shows the first answer', () => {
  const original = base();
  let c = fork(original, 3);
  assert.deepEqual(texts(c), ['q1', 'a1', 'q2']);
  c = { ...c, messages: c.messages.concat([msg('a2b', 'assistant', 'second')]) };
  c = fork(c, 3);
  c = { ...c, messages: c.messages.concat([msg('a2c', 'assistant', 'third')]) };
  assert.deepEqual(versionsAt(c, 3), { current: 2, count: 3 });
  const back = switchVersion(c, 3, 0);
  assert.deepEqual(texts(back), ['q1', 'a1', 'q2', 'first']);
  assert.deepEqual(versionsAt(back, 3), { current: 0, count: 3 });
  const middle = switchVersion(back, 3, 1);
  assert.deepEqual(texts(middle), ['q1', 'a1', 'q2', 'second']);
  assert.deepEqual(texts(switchVersion(middle, 3, 2)), ['q1', 'a1', 'q2', 'third']);
  // the input is never changed
  assert.deepEqual(texts(original), ['q1', 'a1', 'q2', 'first']);
  assert.equal(original.messages[2].branches, undefined);
});

test('editing a middle message keeps the old branch with everything after it', () => {
  let c = fork(base(), 2);
  c = { ...c, messages: c.messages.concat([msg('u2b', 'user', 'q2 edited'), msg('a2x', 'assistant', 'new answer')]) };
  assert.deepEqual(versionsAt(c, 2), { current: 1, count: 2 });
  const old = switchVersion(c, 2, 0);
  assert.deepEqual(texts(old), ['q1', 'a1', 'q2', 'first']);
  assert.deepEqual(texts(switchVersion(old, 2, 1)), ['q1', 'a1', 'q2 edited', 'new answer']);
});

test('the first message\'s versions are held by the conversation; versions nest', () => {
  let c = fork(base(), 0);
  assert.deepEqual(c.messages, []);
  c = { ...c, messages: [msg('u1b', 'user', 'other start'), msg('a1b', 'assistant', 'other answer')] };
  assert.deepEqual(versionsAt(c, 0), { current: 1, count: 2 });
  // a regenerate inside the new branch
  c = fork(c, 1);
  c = { ...c, messages: c.messages.concat([msg('a1c', 'assistant', 'another answer')]) };
  assert.deepEqual(versionsAt(c, 1), { current: 1, count: 2 });
  const first = switchVersion(c, 0, 0);
  assert.deepEqual(texts(first), ['q1', 'a1', 'q2', 'first']);
  const again = switchVersion(first, 0, 1);
  assert.deepEqual(texts(again), ['other start', 'another answer']); // its own current version came back
  assert.equal(allMessages(again).length, 4 + 3);
});

test('nothing to switch: out of range, already shown, or a broken record', () => {
  const c = fork(base(), 3);
  const d = { ...c, messages: c.messages.concat([msg('x', 'assistant', 'x')]) };
  assert.equal(switchVersion(d, 3, 1), d);
  assert.equal(switchVersion(d, 3, 5), d);
  assert.equal(switchVersion(d, 3, -1), d);
  const broken = { ...d, messages: d.messages.slice() };
  broken.messages[2] = { ...broken.messages[2], branches: { current: 0, tails: [[msg('y', 'assistant', 'y')], null] } };
  assert.equal(versionsAt(broken, 3), null); // tails[current] must be the one on screen (null)
});
