/**
 * persist.mjs — persistence of the history (assets/storage.js: one IndexedDB record per
 * conversation and per message, other tabs' changes through BroadcastChannel) and the
 * localStorage prefs edge. Everything read back is coerced against the page schema.
 * `store.saved`: the history as this tab last wrote it (diffs start there);
 * `store.confirmed`: as the database is known to hold it (a failed write falls back).
 */
import { coerce, config, id, storeVersion, text } from './config.mjs';
import { debug } from './debug.mjs';
import { setProps, toast } from './dash.mjs';
import { findConversation, state, storeView, withConversations } from './state.mjs';

export const store = { api: null, status: 'pending', saved: null, confirmed: null, failed: false, legacyDropped: 0 };

const loadedPrefs = { raw: null, value: {} }; // the last prefs value read from localStorage, coerced
/**
 * The prefs store's value: this tab's own value passes as it is; a value it did not
 * make (the localStorage load on page open) is coerced once per object, and invalid
 * parts are dropped, written back (so they are gone for good) and reported once.
 * `{}` while the schema is not known yet.
 */
export function trustedPrefs(value) {
  if (value === undefined || value === null) { return {}; }
  if (value === state.prefs) { return value; }
  if (value === loadedPrefs.raw) { return loadedPrefs.value; }
  const result = coerce('Prefs', value);
  if (result.unavailable) { return {}; }
  loadedPrefs.raw = value;
  loadedPrefs.value = result.ok ? result.value : {};
  if (!result.ok || result.dropped) {
    const dropped = result.dropped + (result.ok ? 0 : 1);
    debug.dropped += dropped;
    setProps(id('PREFS_STORE'), { data: loadedPrefs.value });
    toast('warning', text('storage_dropped', { n: dropped }));
  }
  return loadedPrefs.value;
}

function storageNotice(key) {
  setProps(id('STORAGE_ALERT'), { message: text(key), style: {} });
}
let storageWaits = 0; // 20 ms waits for assets/storage.js so far
/** Open the database once (migrating the old single value), then show what it holds. */
export function startStorage() {
  if (store.api || !config().schema) { return; }
  // assets/storage.js is a classic script: with bundles served fast (precompressed, from
  // the browser's cache) Dash can call this before it has run — try again shortly
  if (!globalThis.chatStorage) {
    if (++storageWaits <= 500) { window.setTimeout(startStorage, 20); } // 10 s, then as before: no storage
    return;
  }
  store.api = globalThis.chatStorage.create({
    version: storeVersion(),
    legacy: config().legacy_store, // {db, key} of format 1 (chatcore/schema.py LEGACY_STORE)
    coerceLegacy: function (value) {
      let raw = value;
      if (typeof value === 'string') { try { raw = JSON.parse(value); } catch (e) { return null; } }
      const checked = coerce('History', raw);
      store.legacyDropped += checked.dropped + (checked.ok ? 0 : 1);
      return checked.ok ? checked.value : null;
    },
    onRemote: remoteChange
  });
  store.api.persist();
  store.api.open().then(function (result) {
    const raw = result.history || { conversations: [] };
    const checked = coerce('History', { version: storeVersion(), conversations: raw.conversations });
    const loaded = checked.ok ? checked.value : { version: storeVersion(), conversations: [] };
    loaded.version = storeVersion();
    // newest first, as the sidebar lists them; the conversation open last in this browser
    loaded.conversations.sort((x, y) => (y.updated_at || 0) - (x.updated_at || 0));
    const remembered = findConversation(loaded, state.activeStored) || loaded.conversations[0];
    loaded.active_id = remembered ? remembered.id : null;
    store.status = result.status;
    // values dropped by the schema are written back clean (a diff from the raw records)
    store.saved = store.confirmed = checked.dropped ? raw : loaded;
    const dropped = checked.dropped + store.legacyDropped;
    if (dropped) {
      debug.dropped += dropped;
      toast('warning', text('storage_dropped', { n: dropped }));
    }
    if (result.status === 'unavailable') { storageNotice('storage_unavailable'); }
    if (result.status === 'newer') { storageNotice('storage_newer'); }
    // anything sent before the records were read stays (and is written with the next save)
    const early = ((state.data && state.data.conversations) || []).filter((c) => !findConversation(loaded, c.id));
    const shown = !early.length ? loaded : Object.assign({}, loaded, {
      conversations: early.concat(loaded.conversations), active_id: state.data.active_id || early[0].id
    });
    state.data = shown.conversations.length ? shown : null;
    setProps(id('HISTORY_STORE'), { data: storeView(state.data) });
    setProps(id('VIEW_STORE'), { data: { limit: 0, at: Date.now() } }); // draw even when empty
  });
}
/** Write what changed since the last write; on failure keep everything in memory,
 *  say so once, and write the whole difference again with the next change. */
export function saveHistory(next) {
  if (store.status !== 'ok' || !next || next === store.saved) { return; }
  const from = store.saved;
  store.saved = next;
  store.api.save(from, next).then(function (result) {
    if (result.ok) {
      store.confirmed = next;
      if (store.failed) { store.failed = false; setProps(id('STORAGE_ALERT'), { style: { display: 'none' } }); }
      return;
    }
    if (store.saved === next) { store.saved = store.confirmed; }
    if (!store.failed) {
      store.failed = true;
      storageNotice(/quota/i.test(result.error || '') ? 'storage_full' : 'storage_failed');
    }
  });
}
/** Another tab wrote: read those conversations back and show them (within ~1 s). */
function remoteChange(change) {
  if (!store.api || store.status === 'unavailable') { return; }
  const read = change.all
    ? store.api.loadAll().then((h) => h.conversations)
    : store.api.load(change.changed);
  read.then(function (conversations) {
    const byId = {};
    if (change.all) { ((state.data && state.data.conversations) || []).forEach((c) => { byId[c.id] = null; }); }
    (change.deleted || []).forEach((convId) => { byId[convId] = null; });
    conversations.forEach(function (c, i) {
      const convId = change.all ? c && c.id : change.changed[i];
      const checked = c ? coerce('Conversation', c) : { ok: false };
      byId[convId] = checked.ok ? checked.value : null;
    });
    // the same objects in every snapshot: they are not written back
    store.saved = withConversations(store.saved, byId);
    store.confirmed = withConversations(store.confirmed, byId);
    state.data = withConversations(state.data, byId);
    if (!state.data.conversations.length) { state.data = null; }
    setProps(id('HISTORY_STORE'), { data: storeView(state.data) });
  });
}

export function formatBytes(n) {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i += 1; }
  return (i ? n.toFixed(1) : String(Math.round(n))) + ' ' + units[i];
}
/** Used and available space (navigator.storage.estimate) in the settings drawer. */
export function showStorageInfo() {
  const estimate = store.api ? store.api.estimate() : Promise.resolve(null);
  estimate.then(function (e) {
    const info = e && typeof e.usage === 'number' && typeof e.quota === 'number'
      ? text('storage_info', { used: formatBytes(e.usage), quota: formatBytes(e.quota) })
      : text('storage_info_none');
    setProps(id('STORAGE_INFO'), { children: info });
  });
}
/** For tests: storage status, writes, and making writes fail (chatDebug). */
export function storageDebug() {
  return { status: store.status, failed: store.failed, writes: store.api ? store.api.debug.writes : 0,
    lastSave: store.api ? store.api.debug.lastSave : null };
}
export function failWrites(name) { if (store.api) { store.api.debug.failWrites = name || null; } }
