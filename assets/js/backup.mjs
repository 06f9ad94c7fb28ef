/**
 * backup.mjs — the ways out and back in: the JSON backup of every conversation, the
 * restore (checked against the Backup schema, then merged without overwriting) of a
 * JSON backup or of a Markdown export (read back by the server: chatserver/export_api.py,
 * the one parser), the active conversation — or its ticked messages — prepared for the
 * server's Markdown export (chatcore/export.py), and Export all: a .zip built here with
 * one .md per conversation (exporter.mjs, byte for byte the server's) and the backup.
 * A backup (version 3) carries every version of a conversation (branches) and embeds a message's images as their data URLs (base64) with its
 * documents' text; files of every earlier version (schema backup_versions) still restore.
 * parseBackup and mergeBackup are pure and unit-tested with node --test.
 */
import { asText, coerce, config, downloadName, id, locale, setConfig, text } from './config.mjs';
import { isSet, noUpdate, setProps, toast, uid } from './dash.mjs';
import { loadMarkdownIt, toMarkdown } from './exporter.mjs';
import { effectiveSettings } from './payload.mjs';
import { trustedPrefs } from './persist.mjs';
import { activeConversation, commit, ensureData, findConversation, historyOf, publish, setActive, state } from './state.mjs';
import { CLS } from './classes.mjs';
import { fileNames, loadFflate, toBase64, zipFiles } from './zip.mjs';

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
  if ((schema.backup_versions || [schema.backup_version]).indexOf(doc.version) < 0) {
    throw new Error(text('import_reason_version', { version: JSON.stringify(doc.version === undefined ? null : doc.version).slice(0, 40) }));
  }
  const checked = coerce('Backup', doc);
  if (!checked.ok) { throw new Error(text('import_reason_shape')); }
  return { conversations: checked.value.conversations, dropped: checked.dropped };
}
function signature(conversation) {
  return JSON.stringify([conversation.title || '', (conversation.messages || []).map((m) => [m.role, m.content,
    (m.attachments || []).map((a) => [a.kind, a.name, a.size, a.data || a.text])])]);
}
/** A message of a restored copy: new ids for it and its attachments (records are keyed
 *  by them: a copy must not take over the original's records). */
function copiedMessage(m) {
  const copy = Object.assign({}, m, { id: uid('m') });
  if (m.attachments) { copy.attachments = m.attachments.map((a) => Object.assign({}, a, { id: uid('att') })); }
  return copy;
}
/** The bytes of a dcc.Upload value (a data: URL); Error(reason) when it is not base64. */
export function uploadBytes(contents) {
  const comma = contents.indexOf(',');
  try {
    const binary = atob(comma >= 0 ? contents.slice(comma + 1) : contents);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) { bytes[i] = binary.charCodeAt(i); }
    return bytes;
  } catch (e) {
    throw new Error(text('import_reason_encoding'));
  }
}
/** The text of a dcc.Upload value (a data: URL), as strict UTF-8; Error(reason) otherwise. */
export function decodeUpload(contents) {
  const bytes = uploadBytes(contents);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (e) {
    throw new Error(text('import_reason_encoding'));
  }
}
/** A Restore file that is a Markdown export (by its name): read back by the server. */
export function isMarkdownFile(filename) { return /\.(md|markdown)$/i.test(asText(filename)); }
/** The JSON backup's file name (Back up all and the zip). */
function backupName(date) { return downloadName('backup', date); }

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
      messages: withSeq((incoming.messages || []).map((m) => (existing ? copiedMessage(m)
        : (typeof m.id === 'string' ? m : Object.assign({}, m, { id: uid('m') })))))
    });
    added += 1;
  });
  return { added: added, skipped: skipped };
}

function backupConversations() { return ((historyOf() || {}).conversations || []).filter((c) => (c.messages || []).length); }
function backupText(conversations, now) {
  const schema = config().schema || {};
  return JSON.stringify({ format: schema.backup_format, version: schema.backup_version, exported_at: now.toISOString(), conversations: conversations });
}
/** Back up all → download every conversation as one JSON file (dcc.Download data). */
export function backupExport() {
  const conversations = backupConversations();
  toast('success', text('backup_done', { n: conversations.length }));
  const now = new Date();
  return { content: backupText(conversations, now), filename: backupName(now), type: 'application/json', base64: false };
}

/** A Markdown export chosen in Restore: the server reads it (POST, the file's bytes);
 *  the conversation it answers is coerced, merged as a new one and opened; an error
 *  (localized by the server) changes nothing. */
export function importMarkdown(contents) {
  let bytes;
  try { bytes = uploadBytes(contents); } catch (e) { toast('error', text('import_md_failed')); return; }
  const limit = Number(config().import_markdown_max_bytes) || 0;
  if (limit && bytes.length > limit) { toast('error', text('import_md_too_large', { limit: limit })); return; }
  const url = asText(config().import_markdown_url) + '?locale=' + encodeURIComponent(locale());
  fetch(url, { method: 'POST', body: bytes, credentials: 'same-origin', headers: { 'Content-Type': 'text/markdown; charset=utf-8' } })
    .then((response) => response.json().catch(() => ({})))
    .then(function (answer) {
      const error = answer && answer.error;
      if (error || !answer || !answer.conversation) {
        toast('error', asText(error && error.message) || text('import_md_failed'));
        return;
      }
      const checked = coerce('Conversation', answer.conversation);
      if (!checked.ok || !(checked.value.messages || []).length) { toast('error', text('import_md_failed')); return; }
      const next = ensureData(historyOf());
      const result = mergeBackup(next, [checked.value]);
      if (!result.added) { toast('info', text('import_done', { added: 0, skipped: result.skipped })); return; }
      const added = next.conversations[next.conversations.length - 1];
      next.active_id = added.id;
      commit(next);
      setActive(added.id);
      toast('success', text('import_md_done', { title: asText(added.title) || text('untitled'), n: added.messages.length }));
    }, function () { toast('error', text('import_md_failed')); });
}

/** Restore → [history store value, upload contents reset]. */
export function importBackup(contents, filename, cfg) {
  setConfig(cfg);
  if (!contents) { return [noUpdate(), noUpdate()]; }
  if (isMarkdownFile(filename)) { importMarkdown(contents); return [noUpdate(), null]; }
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

/** What a Markdown export of `conversation` holds: its title, the messages `keep`
 *  accepts (reasoning along), its effective model and system prompt (the
 *  per-conversation value, else the browser's default). */
export function exportRequest(conversation, keep) {
  const roles = config().roles || [];
  const messages = ((conversation && conversation.messages) || [])
    .filter((m) => m && roles.indexOf(m.role) >= 0 && typeof m.content === 'string' && (!keep || keep(m)))
    .map(function (m) {
      const out = { role: m.role, content: m.content };
      if (typeof m.reasoning === 'string' && m.reasoning) { out.reasoning = m.reasoning; }
      if (Array.isArray(m.attachments) && m.attachments.length) { out.attachments = m.attachments; } // images as data URLs
      return out;
    });
  const settings = effectiveSettings(conversation, state.prefs.defaults, config().settings);
  return {
    title: asText(conversation && conversation.title) || 'Chat', messages: messages,
    model: asText(settings.model) || asText(config().model),
    system_prompt: isSet(settings.system_prompt) ? settings.system_prompt : (config().system_prompt || ''),
    requested_at: Date.now()
  };
}
/** Download `request` (exportRequest) as chat-YYYYMMDD-HHMMSS.md, written here by
 *  exporter.mjs (byte for byte what chatcore.export.to_markdown writes): a conversation
 *  with images never goes through a request body (MAX_BODY_BYTES). */
function downloadExport(request) {
  loadMarkdownIt().then(function () {
    const now = new Date();
    const markdown = toMarkdown(request.messages, { model: request.model, title: request.title, system_prompt: request.system_prompt, exported_at: now });
    setProps(id('DOWNLOAD'), { data: { content: markdown, filename: downloadName('markdown', now), type: 'text/markdown', base64: false } });
    toast('success', text('exported'));
  }).catch(function () { toast('error', text('export_all_failed')); });
}
/** Export → the active conversation (the branch on screen) with its effective model and
 *  system prompt, reasoning and attachments along, as a Markdown file. */
export function prepareExport(prefs, cfg) {
  setConfig(cfg);
  state.prefs = trustedPrefs(prefs);
  const request = exportRequest(activeConversation(historyOf()), null);
  if (!request.messages.length) { toast('info', text('nothing_to_export')); return noUpdate(); }
  downloadExport(request);
  return noUpdate();
}
/** Export selected → the ticked messages of the active conversation, by the same path. */
export function prepareExportSelected(prefs, cfg) {
  setConfig(cfg);
  state.prefs = trustedPrefs(prefs);
  const request = exportRequest(activeConversation(historyOf()), (m) => !!state.selected[m.id]);
  if (!request.messages.length) { toast('info', text('nothing_selected')); return noUpdate(); }
  downloadExport(request);
  return noUpdate();
}
/** The ticks of the messages' checkboxes (render.mjs) → state.selected. A click listener
 *  in the capture phase: the box's new state is known there, before React redraws it. */
export function installSelection() {
  document.addEventListener('click', function (event) {
    const box = event.target;
    if (!box || !box.classList || !box.classList.contains(CLS.messageSelect)) { return; }
    const holder = box.closest('[data-msg-id]');
    const messageId = holder && holder.getAttribute('data-msg-id');
    if (!messageId) { return; }
    if (box.checked) { state.selected[messageId] = true; } else { delete state.selected[messageId]; }
  }, true);
}

/** Export all → a .zip with one .md per conversation (built here with exporter.mjs:
 *  nothing goes through a request body) and the JSON backup, then downloaded. */
export function exportAll(prefs, cfg) {
  setConfig(cfg);
  state.prefs = trustedPrefs(prefs);
  const conversations = backupConversations();
  if (!conversations.length) { toast('info', text('nothing_to_export')); return noUpdate(); }
  Promise.all([loadMarkdownIt(), loadFflate()]).then(function () {
    const now = new Date();
    const requests = conversations.map((c) => exportRequest(c, null)).filter((r) => r.messages.length);
    const names = fileNames(requests.map((r) => r.title));
    const files = requests.map((r, i) => ({
      name: names[i],
      text: toMarkdown(r.messages, { model: r.model, title: r.title, system_prompt: r.system_prompt, exported_at: now })
    }));
    files.push({ name: backupName(now), text: backupText(conversations, now) });
    const data = toBase64(zipFiles(files, now));
    setProps(id('DOWNLOAD'), { data: { content: data, filename: downloadName('zip', now), type: 'application/zip', base64: true } });
    toast('success', text('export_all_done', { n: requests.length }));
  }).catch(function () { toast('error', text('export_all_failed')); });
  return noUpdate();
}
