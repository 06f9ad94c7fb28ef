/**
 * backup.mjs — the ways out and back in: the JSON backup of every conversation, the
 * restore (checked against the Backup schema, then merged without overwriting), and the
 * active conversation prepared for the server's Markdown export (chatcore/export.py).
 * parseBackup and mergeBackup are pure and unit-tested with node --test.
 */
import { asText, coerce, config, setConfig, text } from './config.mjs';
import { isSet, noUpdate, toast, uid } from './dash.mjs';
import { effectiveSettings } from './payload.mjs';
import { trustedPrefs } from './persist.mjs';
import { activeConversation, ensureData, findConversation, historyOf, publish, state } from './state.mjs';

/**
 * Parse a backup file's text and coerce it against the Backup schema.
 * Returns {conversations, dropped}; throws Error(localized reason) when the file is
 * not a backup at all (not JSON, no format, another version, no conversation list).
 */
export function parseBackup(raw) {
  let doc;
  try { doc = JSON.parse(raw); } catch (e) { throw new Error(text('import_reason_json')); }
  const schema = config().schema;
  if (!doc || typeof doc !== 'object' || Array.isArray(doc) || doc.format !== (schema && schema.backup_format)) {
    throw new Error(text('import_reason_format'));
  }
  if (doc.version !== schema.backup_version) {
    throw new Error(text('import_reason_version', { version: JSON.stringify(doc.version === undefined ? null : doc.version).slice(0, 40) }));
  }
  const checked = coerce('Backup', doc);
  if (!checked.ok) { throw new Error(text('import_reason_shape')); }
  return { conversations: checked.value.conversations, dropped: checked.dropped };
}
function signature(conversation) {
  return JSON.stringify([conversation.title || '', (conversation.messages || []).map((m) => [m.role, m.content])]);
}
/** The text of a dcc.Upload value (a data: URL), as strict UTF-8; Error(reason) otherwise. */
export function decodeUpload(contents) {
  const comma = contents.indexOf(',');
  try {
    const binary = atob(comma >= 0 ? contents.slice(comma + 1) : contents);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) { bytes[i] = binary.charCodeAt(i); }
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (e) {
    throw new Error(text('import_reason_encoding'));
  }
}
/** Local time as YYYYMMDD-HHMMSS (file names). */
export function stamp(date) {
  const d = date || new Date();
  const p = (n) => (n < 10 ? '0' : '') + n;
  return d.getFullYear() + p(d.getMonth() + 1) + p(d.getDate()) + '-' + p(d.getHours()) + p(d.getMinutes()) + p(d.getSeconds());
}

/**
 * Merge coerced backup conversations into `next` (a history from ensureData, changed in
 * place): new ids are added, identical ones (same title and messages) skipped, the same
 * id with other content added as a copy under a new id — nothing is overwritten.
 * Returns {added, skipped}.
 */
export function mergeBackup(next, conversations) {
  let added = 0;
  let skipped = 0;
  const withSeq = globalThis.chatStorage ? globalThis.chatStorage.withSeq : (messages) => messages;
  conversations.forEach(function (incoming) {
    if (!(incoming.messages || []).length) { return; } // nothing left to restore
    const existing = findConversation(next, incoming.id);
    if (existing && signature(existing) === signature(incoming)) { skipped += 1; return; }
    const now = Date.now();
    next.conversations.push({
      id: existing ? uid('c') : incoming.id,
      title: incoming.title || '',
      created_at: incoming.created_at || now,
      updated_at: incoming.updated_at || now,
      settings: incoming.settings || {},
      error: null,
      messages: withSeq((incoming.messages || []).map((m) => (typeof m.id === 'string' ? m : Object.assign({}, m, { id: uid('m') }))))
    });
    added += 1;
  });
  return { added: added, skipped: skipped };
}

/** Back up all → download every conversation as one JSON file (dcc.Download data). */
export function backupExport() {
  const conversations = ((historyOf() || {}).conversations || []).filter((c) => (c.messages || []).length);
  const schema = config().schema || {};
  const doc = { format: schema.backup_format, version: schema.backup_version, exported_at: new Date().toISOString(), conversations: conversations };
  toast('success', text('backup_done', { n: conversations.length }));
  return { content: JSON.stringify(doc), filename: 'chat-backup-' + stamp() + '.json', type: 'application/json', base64: false };
}

/** Restore → [history store value, upload contents reset]. */
export function importBackup(contents, filename, cfg) {
  setConfig(cfg);
  if (!contents) { return [noUpdate(), noUpdate()]; }
  let doc;
  try {
    doc = parseBackup(decodeUpload(contents));
  } catch (e) {
    toast('error', text('import_bad', { reason: e && e.message ? e.message : text('import_reason_json') }));
    return [noUpdate(), null];
  }
  const next = ensureData(historyOf());
  const result = mergeBackup(next, doc.conversations);
  let summary = text('import_done', { added: result.added, skipped: result.skipped });
  if (doc.dropped) { summary += ' ' + text('import_dropped', { n: doc.dropped }); }
  toast(result.added ? (doc.dropped ? 'warning' : 'success') : 'info', summary);
  if (!result.added) { return [noUpdate(), null]; }
  return [publish(next), null];
}

/** Export → the active conversation with its effective model and system prompt, for
 *  the server's Markdown export (callbacks/header.py); reasoning goes along. */
export function prepareExport(prefs, cfg) {
  setConfig(cfg);
  state.prefs = trustedPrefs(prefs);
  const conversation = activeConversation(historyOf());
  const roles = config().roles || [];
  const messages = ((conversation && conversation.messages) || [])
    .filter((m) => m && roles.indexOf(m.role) >= 0 && typeof m.content === 'string')
    .map(function (m) {
      const out = { role: m.role, content: m.content };
      if (typeof m.reasoning === 'string' && m.reasoning) { out.reasoning = m.reasoning; }
      return out;
    });
  if (!messages.length) { toast('info', text('nothing_to_export')); return noUpdate(); }
  const settings = effectiveSettings(conversation, state.prefs.defaults, config().settings);
  return {
    title: asText(conversation.title) || 'Chat', messages: messages,
    model: asText(settings.model) || asText(config().model),
    system_prompt: isSet(settings.system_prompt) ? settings.system_prompt : (config().system_prompt || ''),
    requested_at: Date.now()
  };
}
