/**
 * config.mjs — the page config (the server's chat-config-store: components/layout.py
 * public_config) and what is derived from it: component ids, the settings spec, URLs,
 * limits, the UI texts and locale, and the edge where values from outside are coerced
 * against the page schema (chatcore/schema.py → assets/schema_walk.js).
 * Every contract shared with Python is read from here, never typed as a literal.
 */
import { debug } from './debug.mjs';

let current = null;

/** Remember the config a callback received (the first non-empty one wins each time). */
export function setConfig(value) {
  if (value && typeof value === 'object') { current = value; }
  return current;
}
export function config() { return current || {}; }
/** A component id by its name in components/ids.py: id('HISTORY_STORE'). */
export function id(name) { return (config().ids || {})[name]; }
/** The settings spec (chatcore/settings_spec.py): [{key, id, label, kind, min, max, integer, choices, request, upstream}]. */
export function settingsSpec() { return config().settings || []; }
export function numberSpecs() { return settingsSpec().filter((s) => s.kind === 'number'); }
export function storeVersion() { return (config().schema && config().schema.store_version) || 1; }

export function locale() {
  const nav = typeof navigator !== 'undefined' ? navigator.language || '' : '';
  return config().locale || (/^zh/i.test(nav) ? 'zh-CN' : 'en-US');
}
/** The UI text `key` in the page's locale with {name} placeholders filled (as text). */
export function text(key, params) {
  const texts = config().texts || {};
  const table = texts[locale()] || texts['en-US'] || {};
  let value = table[key] || (texts['en-US'] || {})[key] || key;
  Object.keys(params || {}).forEach((name) => {
    value = value.split('{' + name + '}').join(asText(params[name]));
  });
  return value;
}

function walker() { return globalThis.chatSchemaWalk || null; }
/** Text to draw: a string as it is, a finite number formatted, anything else ''. */
export function asText(value) {
  const walk = walker();
  if (walk) { return walk.asText(value); }
  return typeof value === 'string' ? value : '';
}

/** Local time as YYYYMMDD-HHMMSS, the {stamp} of a download's name. */
function stamp(date) {
  const d = date || new Date();
  const p = (n) => (n < 10 ? '0' : '') + n;
  return d.getFullYear() + p(d.getMonth() + 1) + p(d.getDate()) + '-' + p(d.getHours()) + p(d.getMinutes()) + p(d.getSeconds());
}
/** A download's file name at `date`: config.download_names[kind] (chatcore/export.py DOWNLOAD_NAMES). */
export function downloadName(kind, date) { return asText((config().download_names || {})[kind]).replace('{stamp}', stamp(date)); }
/** Coerce `value` against schema `name` (assets/schema_walk.js); {ok, value, dropped}.
 *  Without the schema (config not read yet) nothing fits: `unavailable` is set. */
export function coerce(name, value) {
  const doc = config().schema;
  const walk = walker();
  if (!walk || !doc) { return { ok: false, value: null, dropped: 0, paths: [], unavailable: true }; }
  debug.coerced += 1;
  return walk.coerce(doc, name, value);
}
