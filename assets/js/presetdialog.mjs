/**
 * presetdialog.mjs — the prompt presets dialog (components/presets.py: the frame), opened
 * with the sidebar's chat-presets-button: the list (#chat-presets-list: the user's own
 * presets, then the built-ins, each a .chat-preset-item; filtered by #chat-presets-search),
 * the create / edit form (#chat-preset-editor), Import (the input[type=file] this module
 * puts inside #chat-preset-import) and Export (dcc.Download). Plain DOM, text set as
 * text, by event delegation; the data and its checks are presets.mjs'. Installs its
 * listeners when imported (main.mjs), and with them the "/" picker (presetpicker.mjs).
 * Must not: write the history (presets.mjs applyPreset does, through state.mjs).
 */
import { asText, config, downloadName, id, text } from './config.mjs';
import { PRESET_DIALOG_CLS } from './classes.mjs';
import { afterRender, setProps, toast } from './dash.mjs';
import { openSidebar } from './sidebar.mjs';
import {
  applyPreset, builtins, checkDraft, copyOf, decodeFileBytes, exportDoc, filterPresets, isBuiltin, knownModels,
  loadModelList, mergePresets, onPresetsChanged, ownPresets, paramSpecs, parsePresetFile, presetConfig, saveOwn, upsertPreset
} from './presets.mjs';
import './presetpicker.mjs'; // the "/" picker above the composer (listens when imported)

// class names this module sets (styled in assets/chat.css); .chat-preset-item is a stable hook
export const PK = PRESET_DIALOG_CLS; // class names this module sets or looks for (classes.mjs)
const view = { editing: null, confirmDelete: null };

function byId(name) { return document.getElementById(id(name)); }
function el(tag, className, content) {
  const node = document.createElement(tag);
  if (className) { node.className = className; }
  if (content !== undefined) { node.textContent = content; }
  return node;
}
function button(label, action, presetId, extra) {
  const node = el('button', PK.button + (extra ? ' ' + extra : ''), label);
  node.type = 'button';
  node.setAttribute('data-preset-action', action);
  if (presetId) { node.setAttribute('data-preset-id', presetId); }
  return node;
}
function findPreset(presetId) {
  return ownPresets().concat(builtins()).filter((p) => p.id === presetId)[0] || null;
}
function paramsLine(preset) {
  const parameters = preset.parameters || {};
  return paramSpecs().filter((spec) => parameters[spec.key] !== undefined && parameters[spec.key] !== null)
    .map((spec) => text(spec.label) + ' ' + asText(parameters[spec.key])).join(' · ');
}
function presetItem(preset) {
  const own = !isBuiltin(preset);
  const presetId = asText(preset.id);
  const item = el('div', PK.item + (own ? ' ' + PK.own : ''));
  item.setAttribute('data-preset-id', presetId);
  item.setAttribute('data-preset-action', 'use');
  item.setAttribute('role', 'listitem');
  item.appendChild(el('span', PK.emoji, asText(preset.emoji) || '💬'));
  const body = el('div', PK.body);
  body.appendChild(el('div', PK.name, asText(preset.name)));
  const prompt = asText(preset.system_prompt) || asText(preset.first_message);
  body.appendChild(el('div', PK.prompt, prompt.length > 220 ? prompt.slice(0, 220) + '…' : prompt));
  const params = paramsLine(preset);
  if (params) { body.appendChild(el('div', PK.params, params)); }
  item.appendChild(body);
  const actions = el('div', PK.actions);
  actions.appendChild(button(text('preset_use'), 'use', presetId, PK.primary));
  if (own) {
    actions.appendChild(button(text('preset_edit'), 'edit', presetId));
    const again = view.confirmDelete === presetId;
    actions.appendChild(button(text(again ? 'preset_delete_again' : 'preset_delete'), 'delete', presetId, PK.danger));
  } else {
    actions.appendChild(button(text('preset_copy'), 'copy', presetId));
  }
  item.appendChild(actions);
  return item;
}
function section(title, items, emptyText) {
  const nodes = [el('div', PK.section, title)];
  if (items.length) { items.forEach((p) => nodes.push(presetItem(p))); } else if (emptyText) { nodes.push(el('div', PK.empty, emptyText)); }
  return nodes;
}
function searchValue() {
  const input = byId('PRESETS_SEARCH');
  return input ? input.value : '';
}
/** Draw the list (or the form while one is open); false when the dialog is not drawn yet. */
export function drawPresets() {
  const list = byId('PRESETS_LIST');
  const editor = byId('PRESET_EDITOR');
  if (!list || !editor) { return false; }
  list.hidden = !!view.editing;
  editor.hidden = !view.editing;
  const frame = list.closest('.' + PK.frame);
  if (frame) { frame.classList.toggle(PK.editing, !!view.editing); } // the toolbar folds away while editing
  if (view.editing) { return true; }
  const query = searchValue();
  const own = filterPresets(ownPresets(), query);
  const builtIn = filterPresets(builtins(), query);
  let nodes = [];
  if (own.length || !query) { nodes = nodes.concat(section(text('presets_own'), own, text('presets_none_own'))); }
  if (builtIn.length) { nodes = nodes.concat(section(text('presets_builtin'), builtIn)); }
  if (!own.length && !builtIn.length) { nodes = [el('div', PK.empty, text('presets_no_results'))]; }
  list.setAttribute('role', 'list');
  list.replaceChildren(...nodes);
  return true;
}
/** Open the dialog on its list. */
export function openPresets() {
  openSidebar(false);
  view.editing = null;
  view.confirmDelete = null;
  setProps(id('PRESETS_MODAL'), { visible: true });
  ensureImportInput();
  loadModelList(); // the form's model choice, and the fallback check
  if (!drawPresets()) { afterRender(drawPresets); }
  afterRender(function () { const search = byId('PRESETS_SEARCH'); if (search) { search.focus(); } });
}
function closePresets() { setProps(id('PRESETS_MODAL'), { visible: false }); }

// --- the form ---------------------------------------------------------------------------
function field(label, control, name, hint) {
  const wrap = el('label', PK.field);
  wrap.setAttribute('data-field', name);
  wrap.appendChild(el('span', '', label));
  wrap.appendChild(control);
  if (hint) { wrap.appendChild(el('span', PK.hint, hint)); }
  wrap.appendChild(el('span', PK.error));
  return wrap;
}
function input(name, value, type) {
  const node = document.createElement(type === 'textarea' ? 'textarea' : 'input');
  if (type !== 'textarea') { node.type = type || 'text'; }
  node.name = name;
  node.value = value === undefined || value === null ? '' : String(value);
  return node;
}
function option(value, label) {
  const node = el('option', '', label);
  node.value = value;
  return node;
}
function paramControl(spec, value) {
  if (spec.kind === 'number') {
    const node = input(spec.key, value, 'number');
    node.min = String(spec.min);
    node.max = String(spec.max);
    node.step = spec.integer ? '1' : 'any';
    node.placeholder = text('preset_param_default');
    return node;
  }
  const select = document.createElement('select');
  select.name = spec.key;
  const choices = spec.kind === 'model' ? Array.from(knownModels()) : spec.choices.slice();
  if (value && choices.indexOf(value) < 0) { choices.push(value); } // kept as the preset names it
  select.appendChild(option('', spec.kind === 'model' ? text('preset_model_default') : text('preset_param_default')));
  choices.forEach((choice) => select.appendChild(option(choice, choice)));
  select.value = value || '';
  return select;
}
function drawEditor() {
  const editor = byId('PRESET_EDITOR');
  const preset = view.editing && view.editing.preset;
  if (!editor || !preset) { return; }
  const form = el('form', PK.form);
  form.noValidate = true;
  form.appendChild(el('h3', '', text(view.editing.isNew ? 'preset_editor_new' : 'preset_editor_edit')));
  const top = el('div', PK.grid);
  const emoji = input('emoji', preset.emoji);
  emoji.maxLength = presetConfig().emoji_max || 16;
  emoji.placeholder = '💬';
  top.appendChild(field(text('preset_emoji'), emoji, 'emoji'));
  const name = input('name', preset.name);
  name.maxLength = presetConfig().name_max || 80;
  top.appendChild(field(text('preset_name'), name, 'name'));
  form.appendChild(top);
  const prompt = input('system_prompt', preset.system_prompt, 'textarea');
  prompt.rows = 8;
  form.appendChild(field(text('preset_system_prompt'), prompt, 'system_prompt'));
  const first = input('first_message', preset.first_message, 'textarea');
  first.rows = 3;
  form.appendChild(field(text('preset_first_message'), first, 'first_message', text('preset_first_message_hint')));
  form.appendChild(el('div', PK.section, text('preset_parameters')));
  const grid = el('div', PK.grid + ' chat-preset-params-grid');
  const parameters = preset.parameters || {};
  paramSpecs().forEach((spec) => grid.appendChild(field(text(spec.label), paramControl(spec, parameters[spec.key]), spec.key)));
  form.appendChild(grid);
  const footer = el('div', PK.footer);
  footer.appendChild(button(text('preset_cancel'), 'cancel'));
  const save = button(text('preset_save'), 'save', null, PK.primary);
  save.type = 'submit';
  footer.appendChild(save);
  form.appendChild(footer);
  editor.replaceChildren(form);
  afterRender(() => name.focus());
}
function openEditor(preset, isNew) {
  view.editing = { preset: preset, isNew: isNew };
  drawPresets();
  drawEditor();
  // the model choice gains /api/models' list once it has loaded (the choice made is kept)
  loadModelList().then(function () {
    const editor = byId('PRESET_EDITOR');
    const select = editor && editor.querySelector('select[name=model]');
    const spec = paramSpecs().filter((s) => s.kind === 'model')[0];
    if (!select || !spec || !view.editing || view.editing.preset !== preset) { return; }
    const chosen = select.value;
    select.replaceChildren(...Array.from(paramControl(spec, chosen).options));
    select.value = chosen;
  });
}
function readForm(form) {
  const value = (name) => { const node = form.elements.namedItem(name); return node ? node.value : ''; };
  const parameters = {};
  paramSpecs().forEach((spec) => { parameters[spec.key] = value(spec.key); });
  return { id: view.editing.preset.id, name: value('name'), emoji: value('emoji'), system_prompt: value('system_prompt'),
    first_message: value('first_message'), parameters: parameters };
}
function saveEditor(form) {
  const result = checkDraft(readForm(form), Date.now());
  form.querySelectorAll('.' + PK.error).forEach((node) => { node.textContent = ''; });
  if (result.errors) {
    Object.keys(result.errors).forEach(function (name) {
      const wrap = form.querySelector('[data-field="' + name + '"] .' + PK.error) || form.querySelector('[data-field="name"] .' + PK.error);
      if (wrap) { wrap.textContent = result.errors[name]; }
    });
    return;
  }
  const list = ownPresets();
  const max = presetConfig().max;
  if (!list.some((p) => p.id === result.preset.id) && max && list.length >= max) { toast('error', text('presets_full', { max: max })); return; }
  if (saveOwn(upsertPreset(list, result.preset))) { toast('success', text('preset_saved')); }
  view.editing = null;
  drawPresets();
}

// --- actions ----------------------------------------------------------------------------
function usePreset(preset) {
  closePresets();
  applyPreset(preset);
}
function deletePreset(presetId) {
  if (view.confirmDelete !== presetId) { view.confirmDelete = presetId; drawPresets(); return; }
  view.confirmDelete = null;
  if (saveOwn(ownPresets().filter((p) => p.id !== presetId))) { toast('success', text('preset_deleted')); }
}
function exportPresets() {
  const list = ownPresets();
  if (!list.length) { toast('info', text('preset_export_none')); return; }
  const now = Date.now();
  setProps(id('DOWNLOAD'), { data: { content: JSON.stringify(exportDoc(list, now), null, 1), filename: downloadName('presets', new Date(now)), type: 'application/json', base64: false } });
  toast('success', text('preset_export_done', { n: list.length }));
}
/** Import: the chosen file's presets merged into the own ones — or, for a file that is
 *  not a valid preset file, a localized error and nothing changed. */
export function importPresetFile(file) {
  const limit = presetConfig().file_max_bytes;
  const fail = (reason) => toast('error', text('preset_import_bad', { reason: reason }));
  if (limit && file.size > limit) { fail(text('preset_reason_too_large', { limit: Math.round(limit / 1e6) + ' MB' })); return Promise.resolve(false); }
  return file.arrayBuffer().then(function (buffer) {
    const result = mergePresets(ownPresets(), parsePresetFile(decodeFileBytes(new Uint8Array(buffer))), presetConfig().max, Date.now());
    if (result.added && !saveOwn(result.list)) { return false; }
    toast(result.added ? 'success' : 'info', text('preset_import_done', { added: result.added, skipped: result.skipped }));
    return true;
  }).catch(function (error) { fail(asText(error && error.message) || text('preset_reason_json')); return false; });
}
function ensureImportInput() {
  const holder = byId('PRESET_IMPORT');
  if (!holder) { return null; }
  let node = document.getElementById(id('PRESET_IMPORT_INPUT'));
  if (!node) {
    node = el('input', PK.fileInput);
    node.type = 'file';
    node.accept = '.json,application/json';
    node.id = id('PRESET_IMPORT_INPUT');
    node.tabIndex = -1;
    node.setAttribute('aria-label', text('preset_import'));
    holder.appendChild(node);
  }
  return node;
}

function onClick(event) {
  const target = event.target && event.target.closest ? event.target : null;
  if (!target || !config().presets) { return; }
  if (target.closest('#' + id('PRESETS_BUTTON'))) { openPresets(); return; }
  if (target.closest('#' + id('PRESET_NEW'))) { openEditor({ id: null, name: '', system_prompt: '' }, true); return; }
  if (target.closest('#' + id('PRESET_EXPORT'))) { exportPresets(); return; }
  if (target.closest('#' + id('PRESET_IMPORT')) && target.id !== id('PRESET_IMPORT_INPUT')) {
    const node = ensureImportInput();
    if (node) { node.click(); }
    return;
  }
  const action = target.closest('[data-preset-action]');
  if (!action || !action.closest('.' + PK.frame)) { return; }
  const name = action.getAttribute('data-preset-action');
  if (name === 'cancel') { event.preventDefault(); view.editing = null; drawPresets(); return; }
  if (name === 'save') { return; } // the form's submit
  const preset = findPreset(action.getAttribute('data-preset-id'));
  if (!preset) { return; }
  if (name !== 'delete' && view.confirmDelete) { view.confirmDelete = null; }
  if (name === 'use') { usePreset(preset); } else if (name === 'edit') { openEditor(preset, false); } else if (name === 'copy') { openEditor(copyOf(preset), true); } else if (name === 'delete') { deletePreset(preset.id); }
}
function onSubmit(event) {
  const form = event.target;
  if (!form || !form.classList || !form.classList.contains(PK.form)) { return; }
  event.preventDefault();
  saveEditor(form);
}
function onInput(event) {
  if (event.target && event.target.id === id('PRESETS_SEARCH')) { drawPresets(); }
}
function onChange(event) {
  const node = event.target;
  if (!node || node.id !== id('PRESET_IMPORT_INPUT')) { return; }
  const file = node.files && node.files[0];
  node.value = ''; // the same file can be chosen again
  if (file) { importPresetFile(file); }
}

if (typeof document !== 'undefined') {
  document.addEventListener('click', onClick, false);
  document.addEventListener('submit', onSubmit, true);
  document.addEventListener('input', onInput, true);
  document.addEventListener('change', onChange, true);
  onPresetsChanged(() => { if (!view.editing) { drawPresets(); } });
}
