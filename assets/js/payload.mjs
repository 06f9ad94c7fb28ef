/**
 * payload.mjs — what a conversation's settings are in effect, and the POST body of
 * /api/chat/stream (chatcore/messages.py ChatRequest), with a user message's attachments
 * as content parts (text, then one `document` part per document, then one `image_url`
 * part per image) and the images of older turns left out beyond the image budget or for
 * a model that does not accept images (vision.mjs). Pure: unit-tested with node --test
 * (tests/js/payload.test.mjs).
 */
import { acceptsImages } from './vision.mjs';

/** The text part that stands for an image left out of a request (read by the model). */
export function leftOutText(name) { return '[image left out: ' + name + ']'; }

function isSet(value) { return value !== undefined && value !== null && value !== ''; }

/** The conversation's own value of every setting in `specs` (the page config's
 *  settings spec), else the browser's default (`defaults`), else null. */
export function effectiveSettings(conversation, defaults, specs) {
  const own = (conversation && conversation.settings) || {};
  const fallback = defaults || {};
  const out = {};
  (specs || []).forEach((spec) => {
    const key = spec.key;
    out[key] = isSet(own[key]) ? own[key] : (isSet(fallback[key]) ? fallback[key] : null);
  });
  return out;
}

function byteLength(value) { return new Blob([JSON.stringify(value)]).size; }

/** The model the conversation's requests name: its setting, else the default's, else the server's. */
export function effectiveModel(conversation, prefs, config) {
  const settings = effectiveSettings(conversation, (prefs || {}).defaults, (config || {}).settings);
  return isSet(settings.model) ? String(settings.model) : String((config || {}).model || '');
}
/** Whether the conversation's effective model accepts images (config.vision). */
export function modelAcceptsImages(conversation, prefs, config) {
  return acceptsImages(effectiveModel(conversation, prefs, config), (config || {}).vision);
}
function imagesOf(message) {
  return ((message && message.attachments) || []).filter((a) => a && a.kind === 'image' && typeof a.data === 'string');
}
/**
 * A message's `content` on the wire: its text, or — for a user message with attachments —
 * the parts in the contract's order; an image that `keep(image)` refuses becomes the
 * text part leftOutText(name).
 */
export function wireContent(message, keep) {
  const attachments = message.role === 'user' ? (message.attachments || []) : [];
  if (!attachments.length) { return message.content; }
  const parts = [];
  if (message.content) { parts.push({ type: 'text', text: message.content }); }
  attachments.forEach((a) => { if (a.kind === 'document') { parts.push({ type: 'document', name: a.name, text: a.text }); } });
  imagesOf(message).forEach(function (image) {
    parts.push(keep(image) ? { type: 'image_url', image_url: { url: image.data } } : { type: 'text', text: leftOutText(image.name) });
  });
  return parts;
}
/**
 * Which images are sent: newest first while their data URLs together stay within
 * `budget` characters (older ones are left out first); none when `accepts` is false.
 * Returns the Set of images kept.
 */
export function imagesWithinBudget(messages, budget, accepts) {
  const kept = new Set();
  if (!accepts) { return kept; }
  let used = 0;
  for (let i = messages.length - 1; i >= 0; i--) {
    imagesOf(messages[i]).reverse().forEach(function (image) { // newest turn first, its last image first
      if (!budget || used + image.data.length <= budget) { used += image.data.length; kept.add(image); }
    });
  }
  return kept;
}

/**
 * The POST body for /api/chat/stream: the conversation's messages as {role, content}
 * (the newest `history` setting of them, at most config.max_messages, and within
 * 90 % of the stream's body limit — config.attachments.max_chat_body_bytes, else
 * config.max_body_bytes — the oldest are left out first), the settings the spec marks
 * `request` that are set, the locale, and the user's own key / base URL when the config
 * allows them. Reasoning and the page's own fields never leave. A user message with
 * attachments goes as content parts (wireContent); images beyond
 * config.attachments.image_budget_bytes, or all of them for a model that does not
 * accept images, are left out oldest first (imagesLeftOut counts them; imagesReason is
 * 'budget' or 'model').
 *
 * @param conversation {messages: [{role, content, attachments?, …}], settings}
 * @param options {config, prefs, locale, continueReply}
 * @returns {payload, leftOut, imagesLeftOut, imagesReason} — leftOut counts the messages not sent.
 */
export function requestPayload(conversation, options) {
  const config = options.config || {};
  const prefs = options.prefs || {};
  // the same request asked for twice in a row (conversation.mjs shows its notices, then
  // stream.mjs sends it): built once
  const memo = requestPayload.last;
  const last = conversation.messages[conversation.messages.length - 1];
  if (memo && memo.conversation === conversation && memo.count === conversation.messages.length && memo.lastMessage === last &&
      memo.config === config && memo.prefs === prefs && memo.locale === options.locale &&
      memo.continueReply === !!options.continueReply) { return memo.result; }
  const specs = config.settings || [];
  const settings = effectiveSettings(conversation, prefs.defaults, specs);
  const roles = config.roles || [];
  const attachments = config.attachments || {};
  const stored = conversation.messages.filter((m) => roles.indexOf(m.role) >= 0);
  let keep = stored.length;
  if (isSet(settings.history) && Number(settings.history) > 0) { keep = Math.min(keep, Number(settings.history)); }
  keep = Math.min(keep, config.max_messages || stored.length);
  const chosen = stored.slice(stored.length - keep);
  const accepts = modelAcceptsImages(conversation, prefs, config);
  const kept = imagesWithinBudget(chosen, attachments.image_budget_bytes, accepts);
  let imagesLeftOut = 0;
  chosen.forEach((m) => { imagesOf(m).forEach((image) => { if (!kept.has(image)) { imagesLeftOut += 1; } }); });
  const payload = {
    messages: chosen.map((m) => ({ role: m.role, content: wireContent(m, (image) => kept.has(image)) })),
    locale: options.locale
  };
  specs.forEach((spec) => { if (spec.request && isSet(settings[spec.key])) { payload[spec.key] = settings[spec.key]; } });
  if (isSet(prefs.api_key) && config.allow_user_api_key !== false) { payload.api_key = String(prefs.api_key).trim(); }
  // sent even without an own key: the server then refuses with a clear error
  // (it never sends its own key to a user-supplied URL)
  if (isSet(prefs.base_url) && config.allow_user_base_url) { payload.base_url = String(prefs.base_url).trim(); }
  if (options.continueReply) { payload.continue_reply = true; }
  const bodyLimit = attachments.max_chat_body_bytes || config.max_body_bytes;
  if (bodyLimit) {
    const limit = bodyLimit * 0.9;
    let size = byteLength(payload);
    while (size > limit && payload.messages.length > 1) {
      size -= byteLength(payload.messages[0]) + 1;
      payload.messages = payload.messages.slice(1);
    }
  }
  const result = {
    payload: payload, leftOut: stored.length - payload.messages.length,
    imagesLeftOut: imagesLeftOut, imagesReason: accepts ? 'budget' : 'model'
  };
  requestPayload.last = { conversation: conversation, count: conversation.messages.length, lastMessage: last, config: config, prefs: prefs, locale: options.locale,
    continueReply: !!options.continueReply, result: result };
  return result;
}
