/**
 * payload.mjs — what a conversation's settings are in effect, and the POST body of
 * /api/chat/stream (chatcore/messages.py ChatRequest). Pure: unit-tested with
 * node --test (tests/js/payload.test.mjs).
 */

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

/**
 * The POST body for /api/chat/stream: the conversation's messages as {role, content}
 * (the newest `history` setting of them, at most config.max_messages, and within
 * 90 % of config.max_body_bytes — the oldest are left out first), the settings the
 * spec marks `request` that are set, the locale, and the user's own key / base URL
 * when the config allows them. Reasoning and the page's own fields never leave.
 *
 * @param conversation {messages: [{role, content, …}], settings}
 * @param options {config, prefs, locale, continueReply}
 * @returns {payload, leftOut} — leftOut counts the messages not sent.
 */
export function requestPayload(conversation, options) {
  const config = options.config || {};
  const prefs = options.prefs || {};
  const specs = config.settings || [];
  const settings = effectiveSettings(conversation, prefs.defaults, specs);
  const roles = config.roles || [];
  const all = conversation.messages
    .filter((m) => roles.indexOf(m.role) >= 0)
    .map((m) => ({ role: m.role, content: m.content }));
  let keep = all.length;
  if (isSet(settings.history) && Number(settings.history) > 0) { keep = Math.min(keep, Number(settings.history)); }
  keep = Math.min(keep, config.max_messages || all.length);
  const payload = { messages: all.slice(all.length - keep), locale: options.locale };
  specs.forEach((spec) => { if (spec.request && isSet(settings[spec.key])) { payload[spec.key] = settings[spec.key]; } });
  if (isSet(prefs.api_key) && config.allow_user_api_key !== false) { payload.api_key = String(prefs.api_key).trim(); }
  // sent even without an own key: the server then refuses with a clear error
  // (it never sends its own key to a user-supplied URL)
  if (isSet(prefs.base_url) && config.allow_user_base_url) { payload.base_url = String(prefs.base_url).trim(); }
  if (options.continueReply) { payload.continue_reply = true; }
  if (config.max_body_bytes) {
    const limit = config.max_body_bytes * 0.9;
    let size = byteLength(payload);
    while (size > limit && payload.messages.length > 1) {
      size -= byteLength(payload.messages[0]) + 1;
      payload.messages = payload.messages.slice(1);
    }
  }
  return { payload: payload, leftOut: all.length - payload.messages.length };
}
