/**
 * settings.mjs — the settings drawer (fields from the settings spec in the page config,
 * chatcore/settings_spec.py, in its order), the model list (/api/models), the theme
 * and language switches. Values live only in the browser: a conversation's settings in
 * the history, the defaults and the user's own key / base URL in chat-prefs-store.
 */
import { asText, coerce, config, id, locale, numberSpecs, setConfig, settingsSpec, text } from './config.mjs';
import { isSet, noUpdate, setProps, toast, triggered } from './dash.mjs';
import { effectiveSettings } from './payload.mjs';
import { keepDraft } from './draft.mjs';
import { showStorageInfo, store, trustedPrefs } from './persist.mjs';
import { activeConversation, editableActive, ensureData, historyOf, publish, state } from './state.mjs';
import { applyTheme, flippedTheme } from './theme.mjs';

let modelsLoaded = false;
/** Fill the model select from /api/models once (coerced against ModelList). */
export function loadModels() {
  if (modelsLoaded || !config().models_url) { return; }
  modelsLoaded = true;
  fetch(config().models_url, { credentials: 'same-origin' })
    .then((response) => (response.ok ? response.json() : null))
    .then(function (body) {
      const checked = coerce('ModelList', body);
      if (!checked.ok) { return; }
      const groups = checked.value.groups;
      // CONNECTIONS: one group per connection, the value is "connection/model"
      const options = groups
        ? groups.map((g) => ({ group: g.label, options: g.models.map((m) => ({ label: m.model, value: m.id })) }))
        : (checked.value.models || []).map((name) => ({ label: name, value: name }));
      setProps(id('SET_MODEL'), { options: options });
      setProps(id('MODEL_PICKER'), { options: options }); // the header's model switch
    })
    .catch(function () { modelsLoaded = false; });
}

/** The localized error for a numeric field's value, or null when it fits `spec`. */
export function numberError(value, spec) {
  if (!isSet(value)) { return null; }
  const number = Number(value);
  if (!isFinite(number) || number < spec.min || number > spec.max || (spec.integer && Math.floor(number) !== number)) {
    return text(spec.integer ? 'int_error' : 'range_error', { min: spec.min, max: spec.max });
  }
  return null;
}

/** Settings button / scope switch → [drawer visible, one value per spec field, api key, base URL]. */
export function openSettings(scope, prefs) {
  const opening = triggered().some((p) => p.indexOf(id('SETTINGS_BUTTON') + '.') === 0);
  state.prefs = trustedPrefs(prefs);
  loadModels();
  const values = scope === 'global'
    ? (state.prefs.defaults || {})
    : ((activeConversation(historyOf()) || {}).settings || {});
  if (opening) { showStorageInfo(); }
  const out = [opening ? true : noUpdate()];
  settingsSpec().forEach(function (spec) {
    if (spec.kind === 'text') { out.push(values[spec.key] || ''); } else { out.push(isSet(values[spec.key]) ? values[spec.key] : null); }
  });
  out.push(state.prefs.api_key || '');
  out.push(state.prefs.base_url || '');
  return out;
}

/** Typed values (numeric fields in spec order, then the base URL) → per-field status
 *  and help, the base URL's status and help, Save disabled, the footer error. */
export function validateSettings(args) {
  const numbers = numberSpecs();
  const statuses = [];
  const helps = [];
  let bad = false;
  numbers.forEach(function (spec, i) {
    const message = numberError(args[i], spec);
    if (message) { bad = true; }
    statuses.push(message ? 'error' : null);
    helps.push(message);
  });
  const baseUrl = String(args[numbers.length] || '').trim();
  const urlMessage = baseUrl && !/^https?:\/\/\S+$/i.test(baseUrl) ? text('url_error') : null;
  if (urlMessage) { bad = true; }
  return statuses.concat(helps, [urlMessage ? 'error' : null, urlMessage, bad, bad ? text('fix_errors') : '']);
}

/** Save → [history store, prefs, drawer visible]: the values go to the conversation
 *  (scope "conversation") or the defaults; key and base URL always to prefs.
 *  `fields`: one value per spec entry, then api key, base URL. */
export function saveSettings(scope, fields, prefs) {
  const specs = settingsSpec();
  const values = {};
  specs.forEach((spec, i) => { values[spec.key] = fields[i]; });
  if (specs.some((spec) => spec.kind === 'number' && numberError(values[spec.key], spec))) {
    toast('error', text('fix_errors'));
    return [noUpdate(), noUpdate(), noUpdate()];
  }
  const clean = {};
  specs.forEach((spec) => { if (isSet(values[spec.key])) { clean[spec.key] = values[spec.key]; } });
  const nextPrefs = Object.assign({}, trustedPrefs(prefs));
  nextPrefs.api_key = String(fields[specs.length] || '').trim();
  nextPrefs.base_url = String(fields[specs.length + 1] || '').trim();
  let nextData = noUpdate();
  if (scope === 'global') {
    nextPrefs.defaults = clean;
  } else {
    const next = ensureData(historyOf());
    editableActive(next).settings = clean;
    nextData = publish(next);
  }
  state.prefs = nextPrefs;
  toast('success', text('saved'));
  return [nextData, nextPrefs, false];
}

/** First-run panel Save → [prefs with the user's own key, the field emptied]. */
export function saveOwnKey(value, prefs) {
  const key = String(value || '').trim();
  if (!key) { toast('warning', text('empty_input')); return [noUpdate(), noUpdate()]; }
  const next = Object.assign({}, trustedPrefs(prefs), { api_key: key });
  state.prefs = next;
  toast('success', text('first_run_saved'));
  return [next, ''];
}

/** Theme button → the prefs with light/dark flipped. */
export function toggleTheme(prefs) {
  state.prefs = trustedPrefs(prefs);
  return flippedTheme();
}
/** Prefs → the antd algorithm (and the page's dark class, code theme). */
export function themeFromPrefs(prefs, cfg) {
  setConfig(cfg);
  state.prefs = trustedPrefs(prefs);
  return applyTheme();
}
/** Whether a reload now loses nothing: no reply streaming and every change written to
 *  the browser storage (or storage is not in use / failed, when memory is all there is). */
function settled() {
  return !state.run && (store.status !== 'ok' || store.failed || store.saved === store.confirmed);
}
let switching = false;
/** Language button → remember the other locale in a cookie and reload the page in it
 *  (the layout is drawn on the server in one locale). While a reply streams the reload
 *  waits until it has finished and been stored (a notice says so); the typed draft is
 *  kept for the reload (draft.mjs). */
export function switchLanguage(cfg) {
  setConfig(cfg);
  const other = locale() === 'zh-CN' ? 'en-US' : 'zh-CN';
  document.cookie = config().locale_cookie + '=' + other + '; path=/; max-age=31536000; SameSite=Lax';
  const input = document.getElementById(id('INPUT'));
  if (input) { keepDraft(input.value); }
  if (switching) { return true; }
  switching = true;
  if (!settled()) { toast('info', text('language_after_reply')); }
  (function reloadWhenSettled() {
    if (!settled()) { window.setTimeout(reloadWhenSettled, 150); return; }
    const field = document.getElementById(id('INPUT'));
    if (field) { keepDraft(field.value); } // typed while waiting
    window.location.reload();
  })();
  return true;
}
/** The header's model switch follows the model tag (the open conversation's model in
 *  effect, drawn by render.mjs). */
let shownModel = null; // what showModel put into the switch last (its echo is no pick)
export function showModel(model) {
  const value = asText(model);
  if (!value) { return noUpdate(); }
  shownModel = value;
  return value;
}
/** A model picked in the header → the history with it as the open conversation's own
 *  model (the next request uses it); the model already in effect changes nothing (the
 *  switch also fires when showModel sets it). A reply streaming now keeps its model. */
export function pickModel(value, cfg) {
  setConfig(cfg);
  const model = asText(value);
  const data = historyOf();
  const conversation = data ? activeConversation(data) : null;
  const current = asText(effectiveSettings(conversation, state.prefs.defaults, config().settings).model) || asText(config().model);
  // the switch changed because showModel set it (page load, another conversation): not a pick
  if (!model || model === current || model === shownModel) { return noUpdate(); }
  const next = ensureData(data);
  editableActive(next).settings.model = model;
  return publish(next);
}
