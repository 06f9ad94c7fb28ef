// assets/js/state.mjs: history operations, copy-on-write.
import test from 'node:test';
import assert from 'node:assert/strict';
import { setConfig } from '../../assets/js/config.mjs';
import {
  activeConversation, editable, ensureData, findConversation, makeTitle, nextSeq, publish, state, withConversations
} from '../../assets/js/state.mjs';
import { pageConfig } from './helpers.mjs';

setConfig(pageConfig());

function history() {
  const a = { id: 'a', title: 'A', messages: [{ id: 'm1', role: 'user', content: 'hi', seq: 5 }], settings: {} };
  const b = { id: 'b', title: 'B', messages: [], settings: {} };
  return { version: 3, active_id: 'b', conversations: [a, b] };
}

test('ensureData copies the top level only; editable copies one conversation', () => {
  state.activeId = null;
  const old = history();
  const next = ensureData(old);
  assert.notEqual(next, old);
  assert.equal(next.conversations[0], old.conversations[0]);
  const a = editable(next, 'a');
  assert.notEqual(a, old.conversations[0]);
  assert.notEqual(a.messages, old.conversations[0].messages);
  assert.equal(a.messages[0], old.conversations[0].messages[0]); // messages themselves are shared
  assert.equal(next.conversations[1], old.conversations[1]);
  a.messages.push({ id: 'm2', role: 'assistant', content: 'yo' });
  assert.equal(old.conversations[0].messages.length, 1); // the old history is untouched
  assert.equal(editable(next, 'nope'), null);
});

test('ensureData of nothing makes one empty conversation and opens it', () => {
  state.activeId = null;
  const next = ensureData(null);
  assert.equal(next.conversations.length, 1);
  assert.equal(next.active_id, next.conversations[0].id);
  assert.equal(state.activeId, next.conversations[0].id);
  assert.deepEqual(next.conversations[0].messages, []);
});

test('the active conversation: the open one, else the history\'s, else the first', () => {
  const h = history();
  state.activeId = 'a';
  assert.equal(activeConversation(h).id, 'a');
  state.activeId = 'gone';
  assert.equal(activeConversation(h).id, 'b');
  assert.equal(activeConversation(Object.assign({}, h, { active_id: 'gone' })).id, 'a');
  assert.equal(findConversation(h, 'x'), null);
});

test('withConversations replaces, adds and removes by id, keeping the rest by identity', () => {
  const h = history();
  const changed = { id: 'a', title: 'A2', messages: [] };
  const added = { id: 'c', title: 'C', messages: [] };
  const out = withConversations(h, { a: changed, b: null, c: added });
  assert.deepEqual(out.conversations.map((c) => c.id), ['a', 'c']);
  assert.equal(out.conversations[0], changed);
  assert.equal(h.conversations.length, 2);
  const none = withConversations(null, { c: added });
  assert.deepEqual(none.conversations, [added]);
});

test('publish makes a view of the open conversation with a growing revision', () => {
  const h = history();
  state.activeId = 'a';
  const v1 = publish(h);
  const v2 = publish(h);
  assert.equal(state.data, h);
  assert.equal(v1.conversation, h.conversations[0]);
  assert.equal(v1.active_id, 'a');
  assert.ok(v2.revision > v1.revision);
  assert.equal('conversations' in v1, false); // Dash never carries the whole history
});

test('nextSeq is after every seq and not before now; makeTitle is one line of ≤ 40', () => {
  const seq = nextSeq({ messages: [{ seq: Date.now() + 10000 }] });
  assert.ok(seq > Date.now() + 9999);
  assert.ok(nextSeq({ messages: [] }) >= Date.now() - 5);
  assert.equal(makeTitle('  hello \n  world  '), 'hello world');
  assert.equal(makeTitle('x'.repeat(50)), 'x'.repeat(40) + '…');
});
