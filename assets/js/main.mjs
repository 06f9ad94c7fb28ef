/**
 * main.mjs — the page script's entry (loaded as a module before Dash starts: chat_app.py).
 * Only thin adapters: each window.dash_clientside.chat function (wired in callbacks/*.py)
 * hands its arguments to the module that owns the work. Also window.chatDebug, the
 * read-only view tests and benchmarks use.
 *
 * Module map: config (page config, ids, texts, the schema edge) · state (the browser
 * state and history operations) · persist (IndexedDB via assets/storage.js, prefs) ·
 * sse (the event-stream parser) · payload (the request body) · stream (one reply) ·
 * render (messages as Dash dicts) · sidebar · conversation (send, retry, edit …) ·
 * actions (DOM events) · backup (backup, restore, export, Export all) · exporter
 * (Markdown export in the browser) · zip (Export all's files) · settings · theme · mermaid
 * · retry (the Retry button's wait) · draft (the typed text kept for a reload) · classes
 * (CSS class names) · dash (Dash glue) · debug · attach (the composer's images and
 * documents) · vision (which models accept images) · branches (versions kept by Edit and
 * Regenerate) · blocks (the streaming reply's final part and tail) · convgroups (the
 * sidebar's date groups) · presets (prompt presets: data, storage, starting a chat) ·
 * presetdialog (the presets dialog) · presetpicker (the "/" picker) · shortcuts (the key
 * map) · share (Share as image, Copy as Markdown) · pwa (the service worker).
 */
import { pendingAttachments } from './attach.mjs';
import * as backup from './backup.mjs';
import { coerce } from './config.mjs';
import * as conversation from './conversation.mjs';
import { debug } from './debug.mjs';
import './pwa.mjs'; // registers the service worker (installable app)
import './shortcuts.mjs'; // the keyboard shortcuts and their dialog (listens when imported)
import './share.mjs'; // Share as image, Copy as Markdown, the phones' "more" menu (listens when imported)
import './presetdialog.mjs'; // prompt presets: the dialog and the "/" picker (presetpicker.mjs; listen when imported)
import { installPageEvents } from './actions.mjs';
import { failWrites, storageDebug } from './persist.mjs';
import { renderMessages } from './render.mjs';
import * as settings from './settings.mjs';
import { renderSidebar } from './sidebar.mjs';
import { commit, state } from './state.mjs';

window.dash_clientside = window.dash_clientside || {};
window.dash_clientside.chat = {
  renderMessages: (data, view, prefs, activeStored, config) => renderMessages(data, view, prefs, activeStored, config),
  renderSidebar: (query, config) => renderSidebar(query, config),
  send: (nClicks, value, data, config) => conversation.send(value, config),
  retry: (nClicks, data, config) => conversation.retry(config),
  stop: () => conversation.stop(),
  clear: () => conversation.clear(),
  newConversation: () => conversation.newConversation(),
  renameConversation: (okCounts, value) => conversation.rename(value),
  deleteConversation: () => conversation.remove(),
  editResend: (okCounts, value, data, config) => conversation.editResend(value, config),
  backupExport: () => backup.backupExport(),
  importBackup: (contents, filename, data, config) => backup.importBackup(contents, filename, config),
  prepareExport: (nClicks, data, prefs, config) => backup.prepareExport(prefs, config),
  prepareExportSelected: (nClicks, data, prefs, config) => backup.prepareExportSelected(prefs, config),
  exportAll: (nClicks, prefs, config) => backup.exportAll(prefs, config),
  openSettings: (nClicks, scope, data, prefs) => settings.openSettings(scope, prefs),
  validateSettings: (...values) => settings.validateSettings(values),
  // (nClicks, scope, ...one value per spec field, api key, base URL, data, prefs)
  saveSettings: (nClicks, scope, ...rest) => settings.saveSettings(scope, rest.slice(0, -2), rest[rest.length - 1]),
  saveOwnKey: (nClicks, value, prefs) => settings.saveOwnKey(value, prefs),
  toggleTheme: (nClicks, prefs) => settings.toggleTheme(prefs),
  applyTheme: (prefs, config) => settings.themeFromPrefs(prefs, config),
  switchLanguage: (nClicks, config) => settings.switchLanguage(config),
  showModel: (model) => settings.showModel(model),
  pickModel: (value, config) => settings.pickModel(value, config)
};

// Read-only view for tests and benchmarks (timings of the last reply and render).
window.chatDebug = Object.assign(debug, {
  history: () => state.data,
  streaming: () => !!state.run,
  storage: storageDebug,
  attachments: pendingAttachments, // the composer's attachments (attach.mjs): {ready, reading, errors}
  failWrites: failWrites,
  /** Benchmarks: commit `next` as the page's own actions do (no coercion: the caller
   *  built it from chatDebug.history(), copying only what it changed). */
  commit: (next) => commit(next),
  /** Tests and benchmarks: replace the history as if it came from outside (coerced). */
  replaceHistory: function (value) {
    const checked = coerce('History', value);
    if (checked.ok) { commit(checked.value); }
    return checked.dropped;
  }
});

installPageEvents();
backup.installSelection(); // the messages' checkboxes (Export selected)
