/**
 * presets.mjs — prompt presets (issue 14): the built-ins (page config `presets`, from
 * chatcore/presets.py, in the page's locale), the user's own (this browser's localStorage,
 * key presets.storage_key, value PresetStore — read back through the page schema's
 * coercion), search, the preset file (Export / Import: coerced against PresetFile, and a
 * misfit anywhere refuses the whole file), the checks of the create / edit form, the model
 * a preset names (not offered here → the default model, with a notice), and starting a
 * conversation from a preset (its parameters and system prompt become the conversation's
 * own settings; its first message goes into the composer, not sent) through state.mjs.
 * Must not: draw (presetdialog.mjs draws the dialog, presetpicker.mjs the "/" picker) or
 * write the history other than through state.mjs. Pure parts: tests/js/presets.test.mjs.
 */
import { asText, coerce, config, id, settingsSpec, text } from './config.mjs';
import { afterRender, setProps, toast, uid } from './dash.mjs';
import { keepDraft } from './draft.mjs';
import { effectiveSettings } from './payload.mjs';
import { activeConversation, commit, editable, ensureData, historyOf, newConversation, setActive, state } from './state.mjs';

/** The page config's presets entry (chatcore/presets.py page_config). */
export function presetConfig() { return config().presets || {}; }
export function builtins() { return presetConfig().builtin || []; }
export function isBuiltin(preset) {
  return !!preset && builtins().some((b) => b.id === preset.id);
}
function isSet(value) { return value !== undefined && value !== null && value !== ''; }

// --- search -----------------------------------------------------------------------------
/** Whether `preset`'s name, system prompt or first message contains `query` (any case). */
export function presetMatches(preset, query) {
  const q = String(query || '').trim().toLowerCase();
  if (!q) { return true; }
  return [preset.name, preset.system_prompt, preset.first_message].some((v) => asText(v).toLowerCase().indexOf(q) >= 0);
}
/** The presets matching `query`: those whose name contains it first, in their order. */
export function filterPresets(list, query) {
  const q = String(query || '').trim().toLowerCase();
  const hits = (list || []).filter((p) => presetMatches(p, q));
  if (!q) { return hits; }
  const byName = hits.filter((p) => asText(p.name).toLowerCase().indexOf(q) >= 0);
  return byName.concat(hits.filter((p) => byName.indexOf(p) < 0));
}

// --- the user's own presets (localStorage) ----------------------------------------------
/** A stored value (the localStorage text) → {presets, dropped, newer}: coerced against
 *  PresetStore (damaged entries left out and counted); `newer`: written by a newer format,
 *  which this code never overwrites (docs/storage.md, rule 4). */
export function readStore(raw) {
  if (raw === null || raw === undefined || raw === '') { return { presets: [], dropped: 0, newer: false }; }
  let doc;
  try { doc = JSON.parse(raw); } catch (e) { return { presets: [], dropped: 1, newer: false }; }
  const version = doc && typeof doc === 'object' ? doc.version : undefined;
  if (typeof version === 'number' && version > (presetConfig().storage_version || 1)) { return { presets: [], dropped: 0, newer: true }; }
  const checked = coerce('PresetStore', doc);
  if (!checked.ok) { return { presets: [], dropped: 1, newer: false }; }
  return { presets: checked.value.presets, dropped: checked.dropped, newer: false };
}
/** The value written to localStorage for `presets`. */
export function storeText(presets) {
  return JSON.stringify({ version: presetConfig().storage_version, presets: presets });
}

const own = { list: null, newer: false, listeners: [] };
function local() {
  try { return globalThis.localStorage || null; } catch (e) { return null; } // blocked storage
}
/** The user's own presets, newest first (read once, then kept; another tab's change
 *  reloads them: the storage event). */
export function ownPresets() {
  if (own.list === null) {
    const storage = local();
    let raw = null;
    try { raw = storage ? storage.getItem(presetConfig().storage_key) : null; } catch (e) { raw = null; }
    const read = readStore(raw);
    own.list = read.presets;
    own.newer = read.newer;
    if (read.newer) { toast('warning', text('presets_storage_newer')); }
    else if (read.dropped) { toast('warning', text('presets_storage_bad', { n: read.dropped })); }
  }
  return own.list;
}
/** Every preset: the user's own first, then the built-ins. */
export function allPresets() { return ownPresets().concat(builtins()); }
/** Call `fn` whenever the own presets change (here or in another tab). */
export function onPresetsChanged(fn) { own.listeners.push(fn); }
function changed() { own.listeners.forEach((fn) => fn()); }
/** Make `list` the own presets and write it; false (with a notice) when it could not be
 *  written — the list then lasts until a reload. */
export function saveOwn(list) {
  own.list = list;
  changed();
  const storage = local();
  if (own.newer || !storage) { toast('error', text(own.newer ? 'presets_storage_newer' : 'presets_storage_failed')); return false; }
  try { storage.setItem(presetConfig().storage_key, storeText(list)); } catch (e) { toast('error', text('presets_storage_failed')); return false; }
  return true;
}
if (typeof window !== 'undefined' && window.addEventListener) {
  window.addEventListener('storage', function (event) {
    if (event.key === null || event.key === presetConfig().storage_key) { own.list = null; changed(); }
  });
}

// --- the preset file --------------------------------------------------------------------
/** The Export file for `presets` (PresetFile). */
export function exportDoc(presets, now) {
  const cfg = presetConfig();
  return { format: cfg.file_format, version: cfg.file_version, exported_at: new Date(now).toISOString(), presets: presets };
}
/**
 * A preset file's text → its presets (coerced against PresetFile). Throws
 * Error(localized reason) when the text is not JSON, not a preset file, of a version this
 * code does not read, or when any value in it does not fit (nothing is half-imported).
 */
export function parsePresetFile(raw) {
  const cfg = presetConfig();
  let doc;
  try { doc = JSON.parse(raw); } catch (e) { throw new Error(text('preset_reason_json')); }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc) || doc.format !== cfg.file_format) { throw new Error(text('preset_reason_format')); }
  if ((cfg.file_versions || []).indexOf(doc.version) < 0) {
    throw new Error(text('preset_reason_version', { version: JSON.stringify(doc.version === undefined ? null : doc.version).slice(0, 40) }));
  }
  const checked = coerce('PresetFile', doc);
  if (!checked.ok || checked.dropped) { throw new Error(text('preset_reason_shape', { path: (checked.paths || [])[0] || '(root)' })); }
  return checked.value.presets;
}
/** The bytes of a chosen file as strict UTF-8 text; Error(reason) otherwise. */
export function decodeFileBytes(bytes) {
  try { return new TextDecoder('utf-8', { fatal: true }).decode(bytes); } catch (e) { throw new Error(text('preset_reason_encoding')); }
}
function signature(p) {
  return JSON.stringify([p.name, p.emoji || '', p.system_prompt, p.first_message || '', p.parameters || {}]);
}
/**
 * `incoming` presets merged into `current` (own presets): one that is already there (same
 * content) is skipped; a new id keeps its id, an id already used (or a built-in's) gets a
 * new one. Returns {list, added, skipped}; throws Error(reason) beyond `max` presets.
 */
export function mergePresets(current, incoming, max, now) {
  const list = current.slice();
  const signatures = new Set(list.map(signature));
  const used = new Set(list.map((p) => p.id).concat(builtins().map((b) => b.id)));
  let added = 0;
  let skipped = 0;
  (incoming || []).forEach(function (preset) {
    if (signatures.has(signature(preset))) { skipped += 1; return; }
    const copy = Object.assign({}, preset, { updated_at: now });
    if (used.has(copy.id)) { copy.id = uid('p'); }
    used.add(copy.id);
    signatures.add(signature(copy));
    list.unshift(copy);
    added += 1;
  });
  if (max && list.length > max) { throw new Error(text('preset_reason_too_many', { max: max })); }
  return { list: list, added: added, skipped: skipped };
}

// --- the create / edit form -------------------------------------------------------------
/** The settings spec entries a preset may set (presets.params), in the spec's order. */
export function paramSpecs() {
  const keys = presetConfig().params || [];
  return settingsSpec().filter((spec) => keys.indexOf(spec.key) >= 0);
}
function numberProblem(value, spec) {
  const number = Number(value);
  if (!isFinite(number) || number < spec.min || number > spec.max || (spec.integer && Math.floor(number) !== number)) {
    return text(spec.integer ? 'int_error' : 'range_error', { min: spec.min, max: spec.max });
  }
  return null;
}
/**
 * What the form holds → {preset} or {errors: {field: localized text}}. `draft`: {id?,
 * name, emoji, system_prompt, first_message, parameters: {key: typed text or value}}
 * (empty = not set). The result is coerced against Preset as a last check.
 */
export function checkDraft(draft, now) {
  const cfg = presetConfig();
  const errors = {};
  const name = String(draft.name || '').replace(/\s+/g, ' ').trim();
  if (!name) { errors.name = text('preset_name_required'); }
  const prompt = String(draft.system_prompt || '');
  const first = String(draft.first_message || '');
  if (!prompt.trim() && !first.trim()) { errors.system_prompt = text('preset_empty'); }
  const parameters = {};
  paramSpecs().forEach(function (spec) {
    const value = (draft.parameters || {})[spec.key];
    if (!isSet(value) || (typeof value === 'string' && !value.trim())) { return; }
    if (spec.kind === 'number') {
      const problem = numberProblem(value, spec);
      if (problem) { errors[spec.key] = problem; } else { parameters[spec.key] = Number(value); }
    } else if (spec.kind === 'choice') {
      if (spec.choices.indexOf(value) >= 0) { parameters[spec.key] = value; }
    } else {
      parameters[spec.key] = String(value).trim();
    }
  });
  if (Object.keys(errors).length) { return { errors: errors }; }
  const preset = { id: draft.id || uid('p'), name: name.slice(0, cfg.name_max || name.length), system_prompt: prompt, updated_at: now };
  const emoji = String(draft.emoji || '').trim();
  if (emoji) { preset.emoji = emoji; }
  if (Object.keys(parameters).length) { preset.parameters = parameters; }
  if (first.trim()) { preset.first_message = first; }
  const checked = coerce('Preset', preset);
  if (!checked.ok || checked.dropped) {
    const path = String((checked.paths || [])[0] || '');
    const field = path.split('.').filter(Boolean).pop() || 'name';
    return { errors: { [field]: text('preset_reason_shape', { path: path || '(root)' }) } };
  }
  return { preset: checked.value };
}
/** `preset` put into (or replacing, by id) the own presets, newest first. */
export function upsertPreset(list, preset) {
  return [preset].concat(list.filter((p) => p.id !== preset.id));
}
/** An own copy of a (built-in) preset, to edit: a new id and "(copy)" in its name. */
export function copyOf(preset) {
  const name = text('preset_copy_name', { name: asText(preset.name) });
  return Object.assign({}, preset, { id: uid('p'), name: name.slice(0, presetConfig().name_max || name.length) });
}

// --- the model a preset names, and starting a chat --------------------------------------
/** The models this server offers: the configured ones and, once loaded, /api/models'. */
export function offeredModels(cfg, loaded) {
  const names = [(cfg || {}).model].concat((cfg || {}).models || [], loaded || []);
  return new Set(names.filter((n) => typeof n === 'string' && n));
}
/** A preset → {settings: the conversation settings it gives, fallback: the model it
 *  names that is not in `offered` (then left out: the default model answers), or null}. */
export function presetSettings(preset, offered) {
  const settings = {};
  if (isSet(preset.system_prompt) && String(preset.system_prompt).trim()) { settings.system_prompt = preset.system_prompt; }
  let fallback = null;
  const parameters = preset.parameters || {};
  (presetConfig().params || []).forEach(function (key) {
    if (!isSet(parameters[key])) { return; }
    if (key === 'model' && !offered.has(parameters[key])) { fallback = parameters[key]; return; }
    settings[key] = parameters[key];
  });
  return { settings: settings, fallback: fallback };
}

const models = { loaded: null, pending: null };
/** /api/models' list (coerced against ModelList), fetched once; [] when it fails. */
export function loadModelList() {
  if (models.loaded) { return Promise.resolve(models.loaded); }
  if (!models.pending) {
    const url = config().models_url;
    models.pending = (url ? fetch(url, { credentials: 'same-origin' }).then((r) => (r.ok ? r.json() : null)) : Promise.resolve(null))
      .then(function (body) {
        const checked = coerce('ModelList', body);
        if (checked.ok) { models.loaded = checked.value.models || []; }
        models.pending = null;
        return models.loaded || [];
      }, function () { models.pending = null; return []; });
  }
  return models.pending;
}
export function knownModels() { return offeredModels(config(), models.loaded); }

// settings kept from an empty conversation a preset is applied to, when it sets none
const KEPT = ['model', 'history'];
function start(preset, offered) {
  const result = presetSettings(preset, offered);
  const next = ensureData(historyOf());
  const open = activeConversation(next);
  const reuse = !!open && !(open.messages || []).length && !(state.run && state.run.conversationId === open.id);
  let conversation;
  if (reuse) {
    conversation = editable(next, open.id);
    const kept = {};
    KEPT.forEach((key) => { if (isSet(conversation.settings[key]) && !isSet(result.settings[key])) { kept[key] = conversation.settings[key]; } });
    conversation.settings = Object.assign(kept, result.settings);
    setActive(open.id);
  } else {
    conversation = newConversation();
    conversation.settings = result.settings;
    next.conversations.unshift(conversation);
    next.active_id = conversation.id;
    setActive(conversation.id);
  }
  conversation.updated_at = Date.now();
  commit(next);
  const first = asText(preset.first_message);
  setProps(id('INPUT'), { value: first });
  keepDraft(first);
  const name = asText(preset.name);
  if (result.fallback) {
    const model = effectiveSettings(conversation, (state.prefs || {}).defaults, settingsSpec()).model || config().model;
    toast('warning', text('preset_model_fallback', { name: name, model: result.fallback, fallback: asText(model) }));
  } else {
    toast('success', text(reuse ? 'preset_applied' : 'preset_started', { name: name }));
  }
  afterRender(function () {
    const input = document.getElementById(id('INPUT'));
    if (input) { input.focus(); input.setSelectionRange(input.value.length, input.value.length); }
  });
  return conversation;
}
/**
 * Start a conversation from `preset` (or apply it to the open one when that has no
 * messages yet). A model not among the configured ones waits for /api/models' list first.
 * Resolves to the conversation.
 */
export function applyPreset(preset) {
  const model = (preset.parameters || {}).model;
  if (!isSet(model) || knownModels().has(model)) { return Promise.resolve(start(preset, knownModels())); }
  return loadModelList().then(() => start(preset, knownModels()));
}
