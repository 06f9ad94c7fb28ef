// assets/js/payload.mjs: the POST body of /api/chat/stream (chatcore/messages.py ChatRequest).
import test from 'node:test';
import assert from 'node:assert/strict';
import { effectiveSettings, requestPayload } from '../../assets/js/payload.mjs';
import { pageConfig } from './helpers.mjs';

const config = pageConfig({ max_messages: 500, max_body_bytes: 2000000, allow_user_api_key: true, allow_user_base_url: false });

function conversation(n, settings) {
  const messages = [];
  for (let i = 0; i < n; i++) {
    messages.push({ id: 'm' + i, role: i % 2 ? 'assistant' : 'user', content: 'message ' + i, seq: i, created_at: i,
      reasoning: i % 2 ? 'secret thinking' : undefined, usage: { prompt_tokens: 1 } });
  }
  return { id: 'c', messages: messages, settings: settings || {} };
}

test('the settings spec comes from Python and names every request key', () => {
  const keys = config.settings.map((s) => s.key);
  assert.ok(keys.includes('temperature') && keys.includes('history') && keys.includes('reasoning_effort'), keys.join());
});

test('messages go as {role, content} only: no reasoning, ids or usage', () => {
  const { payload } = requestPayload(conversation(3), { config: config, prefs: {}, locale: 'en-US' });
  assert.deepEqual(payload.messages, [
    { role: 'user', content: 'message 0' }, { role: 'assistant', content: 'message 1' }, { role: 'user', content: 'message 2' }]);
  assert.equal(payload.locale, 'en-US');
  assert.equal(JSON.stringify(payload).includes('secret thinking'), false);
});

test('the conversation setting wins over the default; history is applied, not sent', () => {
  const c = conversation(9, { temperature: 0.2, history: 3 });
  const { payload, leftOut } = requestPayload(c, { config: config, prefs: { defaults: { temperature: 1.5, top_p: 0.5, model: 'm2' } } });
  assert.equal(payload.temperature, 0.2);
  assert.equal(payload.top_p, 0.5);
  assert.equal(payload.model, 'm2');
  assert.equal('history' in payload, false);
  assert.equal(payload.messages.length, 3);
  assert.equal(leftOut, 6);
});

test('unset settings are not sent; set ones are, with the names the server expects', () => {
  const { payload } = requestPayload(conversation(1, { reasoning_effort: 'high', max_tokens: 10 }), { config: config, prefs: {} });
  assert.deepEqual(Object.keys(payload).sort(), ['locale', 'max_tokens', 'messages', 'reasoning_effort']);
});

test('max_messages caps what is sent', () => {
  const { payload, leftOut } = requestPayload(conversation(11), { config: Object.assign({}, config, { max_messages: 4 }), prefs: {} });
  assert.equal(payload.messages.length, 4);
  assert.equal(payload.messages[3].content, 'message 10');
  assert.equal(leftOut, 7);
});

test('the body stays under 90 % of max_body_bytes: the oldest messages go first', () => {
  const c = conversation(3);
  c.messages.forEach((m) => { m.content = 'x'.repeat(500); });
  const small = Object.assign({}, config, { max_body_bytes: 1000 });
  const { payload, leftOut } = requestPayload(c, { config: small, prefs: {} });
  assert.ok(new Blob([JSON.stringify(payload)]).size <= 900);
  assert.equal(payload.messages.length, 1);
  assert.equal(leftOut, 2);
});

test('the own key goes only when allowed; the base URL only when allowed', () => {
  const prefs = { api_key: ' sk-own ', base_url: 'https://example.test/v1' };
  let { payload } = requestPayload(conversation(1), { config: config, prefs: prefs });
  assert.equal(payload.api_key, 'sk-own');
  assert.equal('base_url' in payload, false);
  ({ payload } = requestPayload(conversation(1), { config: Object.assign({}, config, { allow_user_api_key: false, allow_user_base_url: true }), prefs: prefs }));
  assert.equal('api_key' in payload, false);
  assert.equal(payload.base_url, 'https://example.test/v1');
});

test('continue_reply is set only for a continuation', () => {
  assert.equal(requestPayload(conversation(2), { config: config, prefs: {}, continueReply: true }).payload.continue_reply, true);
  assert.equal('continue_reply' in requestPayload(conversation(1), { config: config, prefs: {} }).payload, false);
});

test('effectiveSettings: own, else default, else null for every spec key', () => {
  const out = effectiveSettings({ settings: { top_p: 0 } }, { top_p: 1, temperature: 1 }, config.settings);
  assert.equal(out.top_p, 0); // 0 is a value, not "unset"
  assert.equal(out.temperature, 1);
  assert.equal(out.max_tokens, null);
  assert.deepEqual(Object.keys(out), config.settings.map((s) => s.key));
});
