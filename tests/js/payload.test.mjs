// assets/js/payload.mjs: the POST body of /api/chat/stream (chatcore/messages.py ChatRequest).
import test from 'node:test';
import assert from 'node:assert/strict';
import {
  effectiveModel, effectiveSettings, imagesWithinBudget, leftOutText, modelAcceptsImages, requestPayload, wireContent
} from '../../assets/js/payload.mjs';
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

test('the body stays under 90 % of the stream body limit: the oldest messages go first', () => {
  const c = conversation(3);
  c.messages.forEach((m) => { m.content = 'x'.repeat(500); });
  const small = Object.assign({}, config, { attachments: Object.assign({}, config.attachments, { max_chat_body_bytes: 1000 }) });
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

// --- attachments (issue 13) ------------------------------------------------------------
const PNG = 'data:image/png;base64,' + 'A'.repeat(400);
function withAttachments(model) {
  const image = (n) => ({ id: 'i' + n, kind: 'image', name: 'pic' + n + '.png', mime: 'image/png', size: 300, width: 2, height: 2, data: PNG });
  const doc = { id: 'd1', kind: 'document', name: 'report.pdf', mime: 'application/pdf', size: 9, text: 'the report', tokens: 3 };
  return { id: 'c', settings: model ? { model: model } : {}, messages: [
    { id: 'u1', role: 'user', content: 'first', attachments: [image(1)] },
    { id: 'a1', role: 'assistant', content: 'ok' },
    { id: 'u2', role: 'user', content: 'see these', attachments: [image(2), doc, image(3)] },
    { id: 'a2', role: 'assistant', content: 'ok' },
    { id: 'u3', role: 'user', content: '', attachments: [image(4)] }
  ] };
}
const visionConfig = Object.assign({}, config, { model: 'gpt-4o-mini', attachments: Object.assign({}, config.attachments || {}, { image_budget_bytes: 0 }) });

test('the page config carries the attachment limits and the vision rule from Python', () => {
  const a = config.attachments;
  assert.ok(a, 'config.attachments');
  for (const key of ['extract_url', 'image_max_side', 'image_max_bytes', 'attachment_max_bytes', 'max_chat_body_bytes', 'image_budget_bytes', 'max_attachments']) {
    assert.equal(typeof a[key], key === 'extract_url' ? 'string' : 'number', key);
  }
  assert.ok(a.image_types.includes('image/png') && a.document_extensions.includes('.pdf'));
  assert.ok(config.vision && typeof config.vision === 'object');
});

test('a user message with attachments goes as parts: text, documents, images (in that order)', () => {
  const { payload, imagesLeftOut } = requestPayload(withAttachments(), { config: visionConfig, prefs: {} });
  assert.equal(imagesLeftOut, 0);
  assert.deepEqual(payload.messages[2].content, [
    { type: 'text', text: 'see these' },
    { type: 'document', name: 'report.pdf', text: 'the report' },
    { type: 'image_url', image_url: { url: PNG } },
    { type: 'image_url', image_url: { url: PNG } }
  ]);
  // no text typed: no text part; other messages stay strings; no page fields leave
  assert.deepEqual(payload.messages[4].content, [{ type: 'image_url', image_url: { url: PNG } }]);
  assert.equal(payload.messages[1].content, 'ok');
  assert.equal(JSON.stringify(payload).includes('"tokens"'), false);
  assert.equal(JSON.stringify(payload).includes('att'), false);
});

test('images of older turns beyond the image budget are left out oldest first, as a text part', () => {
  // the budget holds two images: the newest two (pic4, pic3) go, pic2 and pic1 are left out
  const budget = Object.assign({}, visionConfig, { attachments: Object.assign({}, visionConfig.attachments, { image_budget_bytes: PNG.length * 2 }) });
  const { payload, imagesLeftOut, imagesReason } = requestPayload(withAttachments(), { config: budget, prefs: {} });
  assert.equal(imagesLeftOut, 2);
  assert.equal(imagesReason, 'budget');
  assert.deepEqual(payload.messages[0].content, [{ type: 'text', text: 'first' }, { type: 'text', text: '[image left out: pic1.png]' }]);
  assert.deepEqual(payload.messages[2].content.slice(2), [
    { type: 'text', text: '[image left out: pic2.png]' }, { type: 'image_url', image_url: { url: PNG } }]);
  assert.deepEqual(payload.messages[4].content, [{ type: 'image_url', image_url: { url: PNG } }]);
});

test('a model that does not accept images gets none (each left out as text), documents still go', () => {
  const { payload, imagesLeftOut, imagesReason } = requestPayload(withAttachments('text-only-model'), { config: visionConfig, prefs: {} });
  assert.equal(imagesReason, 'model');
  assert.equal(imagesLeftOut, 4);
  assert.equal(JSON.stringify(payload).includes('image_url'), false);
  assert.deepEqual(payload.messages[2].content[1], { type: 'document', name: 'report.pdf', text: 'the report' });
});

test('the stream body limit is attachments.max_chat_body_bytes, not max_body_bytes', () => {
  const c = conversation(3);
  c.messages.forEach((m) => { m.content = 'x'.repeat(5000); });
  const cfg = Object.assign({}, config, { max_body_bytes: 2000, attachments: Object.assign({}, config.attachments, { max_chat_body_bytes: 100000 }) });
  assert.equal(requestPayload(c, { config: cfg, prefs: {} }).payload.messages.length, 3);
  const tight = Object.assign({}, cfg, { attachments: Object.assign({}, cfg.attachments, { max_chat_body_bytes: 8000 }) });
  assert.equal(requestPayload(c, { config: tight, prefs: {} }).payload.messages.length, 1);
});

test('imagesWithinBudget and wireContent are pure helpers of the same rule', () => {
  const c = withAttachments();
  assert.equal(imagesWithinBudget(c.messages, 0, true).size, 4); // 0: no budget configured
  assert.equal(imagesWithinBudget(c.messages, PNG.length, true).size, 1);
  assert.equal(imagesWithinBudget(c.messages, PNG.length * 10, false).size, 0);
  assert.equal(wireContent({ role: 'assistant', content: 'x', attachments: c.messages[0].attachments }, () => true), 'x');
  assert.equal(leftOutText('a.png'), '[image left out: a.png]');
  assert.equal(modelAcceptsImages(c, {}, visionConfig), true);
  assert.equal(modelAcceptsImages(c, { defaults: { model: 'plain-text' } }, visionConfig), false);
  assert.equal(effectiveModel(c, {}, visionConfig), 'gpt-4o-mini');
});
