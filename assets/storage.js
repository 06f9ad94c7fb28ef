/*
 * Browser storage of the conversations: IndexedDB through Dexie.js, one record per
 * conversation (its list fields and settings) and one per message, so a change writes
 * only what it touches and two tabs never overwrite each other's messages.
 *
 * Owns: the database, its format version and every migration (the version plan
 * below, also in docs/storage.md), the diff between what is stored and what the page
 * holds, and the change feed between tabs (BroadcastChannel). Must not: draw, call
 * Dash, or trust what it reads — chat.js coerces every loaded value against the page
 * schema (chatcore/schema.py) before it is used.
 *
 * Why per message and not per conversation: two tabs may stream into the same
 * conversation; with per-conversation records the last writer would drop the other
 * tab's reply. Messages carry `seq` (the turn's time, ms): a user message gets a new
 * seq, its reply the same seq, and messages sort by (seq, user before assistant,
 * created_at), so two tabs' turns never interleave.
 *
 * Version plan (STORE_VERSION, defined once in chatcore/schema.py → config.schema):
 *   1  one localforage value (fuc.FefferyLocalLargeStorage; where: chatcore/schema.py LEGACY_STORE),
 *      the whole history as JSON — releases up to 2026-11.
 *   2  this database: conversations {id, title, created_at, updated_at, pinned,
 *      settings, error}, messages {id, conv_id, seq, role, content, …}, meta {key}.
 *      Migration 1→2 copies the legacy value into records (idempotent puts, in
 *      chunks, so an interrupted one simply runs again), verifies the records, then
 *      marks meta 'format' = 2 and deletes the legacy value. An old tab that still
 *      writes the legacy value is ignored from then on.
 *   3  the same records; messages may carry reasoning fields (issue: reasoning models).
 *      Migration 2→3 changes no record; it exists so that format-2 code, which would
 *      drop the new fields when rewriting a record, leaves such data untouched.
 *   4  messages may carry `attachments` (issue 13). An image's bytes are not in its
 *      message record: they are a Blob in the `images` table (IndexedDB schema version 2,
 *      keyed by attachment id, with conv_id and msg_id), and the record keeps the image's
 *      other fields; loading turns the Blob back into the data URL the page holds.
 *      Migration 3→4 changes no record (format-3 data has no attachments); it exists so
 *      that format-3 code, which would drop the attachments when rewriting a message,
 *      leaves such data untouched (and the schema version 2 makes it refuse to open).
 *   5  a message record (or a conversation record, for its first message) may carry
 *      `branches` {current, tails}: the versions kept by Edit & resend and Regenerate,
 *      each tail a list of messages inside that record (their images stay data URLs
 *      there; only the messages on screen have Blobs). Migration 4→5 changes no record.
 *   A later format bumps STORE_VERSION, adds MIGRATIONS[n] (records of n-1 → n) and
 *   a test with data written by the previous release. A database whose meta 'format'
 *   is newer than this code (or whose IndexedDB version is) is never written:
 *   the page works in memory and says so.
 */
(function () {
  'use strict';

  var DB_NAME = 'dash-chat';
  var CHUNK = 50; // conversations per migration transaction
  var TABLES = { conversations: 'id, updated_at, pinned', messages: 'id, conv_id, [conv_id+seq]', meta: 'key' };
  var IMAGES = { images: 'id, conv_id, msg_id' }; // IndexedDB schema version 2 (format 4): {id, conv_id, msg_id, blob}
  var META_FIELDS = ['id', 'title', 'created_at', 'updated_at', 'pinned', 'settings', 'error', 'branches'];
  var ROLE_RANK = { system: 0, user: 1, assistant: 2 };
  // Record migrations n-1 → n, for n ≥ 3 (1 → 2 is migrateLegacy): each gets the open
  // Dexie database and returns a promise; `format` is written after each step.
  var MIGRATIONS = {
    // 3: messages may carry reasoning, reasoning_ms, ttft_reasoning_ms, usage.reasoning_tokens;
    //    settings reasoning_effort. New optional fields: the records stay as they are, but
    //    code of format 2 (which would drop those fields when it rewrites a record) must
    //    treat this data as newer and leave it alone — hence the bump.
    3: function () { return Promise.resolve(); },
    // 4: messages may carry attachments; images as Blobs in the `images` table (added by
    //    the IndexedDB schema version 2 when the database opens). No record changes.
    4: function () { return Promise.resolve(); },
    // 5: a message (or the conversation, for its first message) may carry `branches`: the
    //    versions Edit & resend and Regenerate keep, each a list of messages held inside
    //    that record (assets/js/branches.mjs). No record changes; format-4 code would drop
    //    the field when it rewrites a record, so it must see this data as newer.
    5: function () { return Promise.resolve(); }
  };

  /** Message order inside a conversation: seq, then user before its reply, then time. */
  function compareMessages(a, b) {
    var d = (a.seq || 0) - (b.seq || 0);
    if (d) { return d; }
    d = (ROLE_RANK[a.role] || 0) - (ROLE_RANK[b.role] || 0);
    return d || ((a.created_at || 0) - (b.created_at || 0));
  }
  function sortMessages(messages) { return messages.slice().sort(compareMessages); }
  /** Give old messages (no seq) the seq of their turn: 1, 1, 2, 2, … */
  function withSeq(messages) {
    var turn = 0;
    return messages.map(function (m) {
      if (m.role !== 'assistant') { turn += 1; }
      return typeof m.seq === 'number' ? m : Object.assign({}, m, { seq: turn });
    });
  }

  function conversationRecord(c) {
    var record = {};
    META_FIELDS.forEach(function (k) { if (c[k] !== undefined) { record[k] = c[k]; } });
    return record;
  }
  function messageRecord(convId, m) { return Object.assign({}, m, { conv_id: convId }); }

  /** The bytes of an image data URL as a Blob (atob; the schema already checked it). */
  function dataUrlBlob(url) {
    var comma = url.indexOf(',');
    var mime = url.slice(5, url.indexOf(';'));
    var binary = atob(url.slice(comma + 1));
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) { bytes[i] = binary.charCodeAt(i); }
    return new Blob([bytes], { type: mime });
  }
  function blobDataUrl(blob) {
    return new Promise(function (resolve) {
      var reader = new FileReader();
      reader.onload = function () { resolve(reader.result); };
      reader.onerror = function () { resolve(null); };
      reader.readAsDataURL(blob);
    });
  }
  /** A message record without its images' data, and those images as Blob records. */
  function splitImages(record) {
    var images = [];
    if (!Array.isArray(record.attachments) || !record.attachments.some(function (a) { return a && a.kind === 'image'; })) {
      return { record: record, images: images };
    }
    var out = Object.assign({}, record);
    out.attachments = record.attachments.map(function (a) {
      if (!a || a.kind !== 'image' || typeof a.data !== 'string') { return a; }
      images.push({ id: a.id, conv_id: record.conv_id, msg_id: record.id, blob: dataUrlBlob(a.data) });
      var copy = Object.assign({}, a);
      delete copy.data;
      return copy;
    });
    return { record: out, images: images };
  }
  /** Put the images' data URLs back into message records (Blob → data URL); an image
   *  whose Blob is missing stays without data (the page's coercion then drops it). */
  function joinImages(messages, images) {
    var byId = {};
    images.forEach(function (image) { if (image && image.blob) { byId[image.id] = image.blob; } });
    var work = [];
    messages.forEach(function (m) {
      (m.attachments || []).forEach(function (a, i) {
        if (a && a.kind === 'image' && typeof a.data !== 'string' && byId[a.id]) {
          work.push(blobDataUrl(byId[a.id]).then(function (url) {
            if (url) { m.attachments[i] = Object.assign({}, a, { data: url }); }
          }));
        }
      });
    });
    return Promise.all(work).then(function () { return messages; });
  }
  function fromRecords(meta, messages) {
    var conversation = Object.assign({}, meta);
    conversation.messages = sortMessages(messages.map(function (m) {
      var copy = Object.assign({}, m);
      delete copy.conv_id;
      return copy;
    }));
    return conversation;
  }

  /** The Dexie database with its tables (IndexedDB schema version 1: indexes only;
   *  version 2 adds `images`; the data format is the meta 'format' record). */
  function database() {
    var db = new window.Dexie(DB_NAME);
    db.version(1).stores(TABLES);
    db.version(2).stores(IMAGES); // format 4: the images of attachments as Blobs
    return db;
  }

  /** Read the version-1 value at `where` ({db, key}; localforage keeps JSON text) without creating its database. */
  function readLegacy(where) {
    if (!where) { return Promise.resolve(null); }
    var list = indexedDB.databases ? indexedDB.databases() : Promise.resolve([{ name: where.db }]);
    return list.then(function (dbs) {
      if (!dbs.some(function (d) { return d.name === where.db; })) { return null; }
      return new Promise(function (resolve) {
        var open = indexedDB.open(where.db);
        open.onerror = function () { resolve(null); };
        open.onupgradeneeded = function () { open.transaction.abort(); };
        open.onsuccess = function () {
          var db = open.result;
          var names = Array.prototype.slice.call(db.objectStoreNames);
          if (!names.length) { db.close(); resolve(null); return; }
          var tx = db.transaction(names, 'readonly');
          var found = null;
          names.forEach(function (name) {
            var req = tx.objectStore(name).get(where.key);
            req.onsuccess = function () { if (req.result !== undefined && found === null) { found = { store: name, value: req.result }; } };
          });
          tx.oncomplete = function () { db.close(); resolve(found); };
          tx.onerror = function () { db.close(); resolve(null); };
        };
      });
    }).catch(function () { return null; });
  }
  function deleteLegacy(where, store) {
    return new Promise(function (resolve) {
      var open = indexedDB.open(where.db);
      open.onerror = function () { resolve(); };
      open.onsuccess = function () {
        var db = open.result;
        try {
          var tx = db.transaction(store, 'readwrite');
          tx.objectStore(store).delete(where.key);
          tx.oncomplete = tx.onerror = function () { db.close(); resolve(); };
        } catch (e) { db.close(); resolve(); }
      };
    });
  }

  /**
   * create({version, legacy, coerceLegacy, onRemote}) → storage:
   *   open()   → Promise<{status: 'ok'|'unavailable'|'newer', history: {conversations}|null,
   *                         migrated: n}>; never rejects
   *   save(prev, next) → Promise<{ok, error?}>: writes what changed from prev to next
   *                      (compared by object identity: the page copies what it changes)
   *   load(ids) → Promise<[conversation|null]>; estimate() → Promise<{usage, quota}|null>
   * `legacy`: {db, key} of the version-1 value (the page config's legacy_store);
   * `coerceLegacy(value)` turns the version-1 value into {conversations} (or null);
   * `onRemote({changed: [ids], deleted: [ids]})` is called for other tabs' writes.
   */
  function create(options) {
    var version = options.version;
    var db = null;
    var writable = false;
    var tabId = Math.random().toString(36).slice(2);
    var channel = null;
    var debug = { failWrites: null, writes: 0, lastSave: null };

    function announce(changed, deleted) {
      var message = { from: tabId, changed: changed, deleted: deleted };
      if (channel) { channel.postMessage(message); }
    }
    function listen() {
      var seen = function (message) {
        if (!message || message.from === tabId) { return; }
        options.onRemote({ changed: message.changed || [], deleted: message.deleted || [] });
      };
      if (typeof BroadcastChannel === 'function') {
        channel = new BroadcastChannel(DB_NAME);
        channel.onmessage = function (event) { seen(event.data); };
      } else {
        window.addEventListener('focus', function () { options.onRemote({ all: true, changed: [], deleted: [] }); });
      }
    }

    function loadAll() {
      return db.transaction('r', db.conversations, db.messages, db.images, function () {
        return Promise.all([db.conversations.toArray(), db.messages.toArray(), db.images.toArray()]);
      }).then(function (parts) {
        return joinImages(parts[1], parts[2]).then(function (messages) {
          var byConv = {};
          messages.forEach(function (m) { (byConv[m.conv_id] = byConv[m.conv_id] || []).push(m); });
          return { conversations: parts[0].map(function (c) { return fromRecords(c, byConv[c.id] || []); }) };
        });
      });
    }
    function load(ids) {
      return db.transaction('r', db.conversations, db.messages, db.images, function () {
        return Promise.all(ids.map(function (id) {
          return Promise.all([db.conversations.get(id), db.messages.where('conv_id').equals(id).toArray(),
            db.images.where('conv_id').equals(id).toArray()]);
        }));
      }).then(function (found) {
        return Promise.all(found.map(function (r) {
          return r[0] ? joinImages(r[1], r[2]).then(function (messages) { return fromRecords(r[0], messages); }) : null;
        }));
      });
    }

    /** Run MIGRATIONS[from + 1 … version] in order, recording each finished step. */
    function upgrade(from) {
      var done = Promise.resolve();
      for (var v = from + 1; v <= version; v++) {
        (function (step) {
          done = done.then(function () { return (MIGRATIONS[step] || function () { return Promise.resolve(); })(db); })
            .then(function () { return db.meta.put({ key: 'format', version: step, migrated_at: Date.now() }); });
        })(v);
      }
      return done;
    }

    /** Migration 1 → 2 (see the plan above). */
    function migrateLegacy(legacy) {
      var history = options.coerceLegacy(legacy.value);
      var conversations = (history && history.conversations) || [];
      var chunks = [];
      for (var i = 0; i < conversations.length; i += CHUNK) { chunks.push(conversations.slice(i, i + CHUNK)); }
      var done = Promise.resolve();
      chunks.forEach(function (chunk) {
        done = done.then(function () {
          return db.transaction('rw', db.conversations, db.messages, function () {
            db.conversations.bulkPut(chunk.map(conversationRecord));
            var records = [];
            chunk.forEach(function (c) { withSeq(c.messages || []).forEach(function (m) { records.push(messageRecord(c.id, m)); }); });
            return db.messages.bulkPut(records);
          });
        });
      });
      return done.then(function () {
        // verify before the legacy value goes: every conversation with all its messages
        return Promise.all(conversations.map(function (c) {
          return db.messages.where('conv_id').equals(c.id).count().then(function (n) { return n >= (c.messages || []).length; });
        }));
      }).then(function (checks) {
        if (checks.some(function (ok) { return !ok; })) { throw new Error('migration could not be verified'); }
        return db.meta.put({ key: 'format', version: version, migrated_from: 1, migrated_at: Date.now() });
      }).then(function () {
        return deleteLegacy(options.legacy, legacy.store);
      }).then(function () { return conversations.length; });
    }

    function open() {
      if (typeof indexedDB === 'undefined' || !window.Dexie) {
        return Promise.resolve({ status: 'unavailable', history: null, migrated: 0 });
      }
      db = database();
      var migrated = 0;
      return db.open().then(function () {
        return db.meta.get('format');
      }).then(function (format) {
        if (format && format.version > version) { return 'newer'; }
        if (format && format.version < version) { return upgrade(format.version).then(function () { return 'ok'; }); }
        if (format) { return 'ok'; }
        return readLegacy(options.legacy).then(function (legacy) {
          if (!legacy) { return db.meta.put({ key: 'format', version: version }).then(function () { return 'ok'; }); }
          return migrateLegacy(legacy).then(function (n) { migrated = n; return 'ok'; });
        });
      }).then(function (status) {
        writable = status === 'ok';
        listen();
        return loadAll().then(function (history) { return { status: status, history: history, migrated: migrated }; });
      }).catch(function (error) {
        var newer = error && (error.name === 'VersionError' || error.name === 'Dexie.VersionError');
        if (db) { try { db.close(); } catch (e) { /* closed */ } }
        db = null;
        return { status: newer ? 'newer' : 'unavailable', history: null, migrated: 0, error: String(error && error.name) };
      });
    }

    /** The records to write and delete to go from `prev` to `next` (by identity). */
    function diff(prev, next) {
      var before = {};
      ((prev && prev.conversations) || []).forEach(function (c) { before[c.id] = c; });
      var out = { conversations: [], messages: [], deletedMessages: [], deletedConversations: [], changed: [] };
      ((next && next.conversations) || []).forEach(function (c) {
        var old = before[c.id];
        delete before[c.id];
        if (old === c) { return; }
        out.changed.push(c.id);
        var oldMessages = {};
        ((old && old.messages) || []).forEach(function (m) { oldMessages[m.id] = m; });
        var metaChanged = !old || META_FIELDS.some(function (k) { return old[k] !== c[k]; });
        if (metaChanged) { out.conversations.push(conversationRecord(c)); }
        // messages the page has not given a seq (data from before seq existed) get their
        // turn's position, so the stored order is the order the page holds
        var missing = (c.messages || []).some(function (m) { return typeof m.seq !== 'number'; });
        var ordered = missing ? withSeq(c.messages || []) : (c.messages || []);
        (c.messages || []).forEach(function (m, i) {
          if (oldMessages[m.id] !== m) { out.messages.push(messageRecord(c.id, ordered[i])); }
          delete oldMessages[m.id];
        });
        Object.keys(oldMessages).forEach(function (id) { out.deletedMessages.push(id); });
      });
      Object.keys(before).forEach(function (id) { out.deletedConversations.push(id); });
      return out;
    }

    function save(prev, next) {
      if (!db || !writable) { return Promise.resolve({ ok: false, error: 'not-writable' }); }
      var t0 = performance.now();
      var change = diff(prev, next);
      if (!change.changed.length && !change.deletedConversations.length) { return Promise.resolve({ ok: true, nothing: true }); }
      var messages = [];
      var images = [];
      change.messages.forEach(function (m) {
        var split = splitImages(m);
        messages.push(split.record);
        images.push.apply(images, split.images);
      });
      var written = db.transaction('rw', db.conversations, db.messages, db.images, function () {
        if (debug.failWrites) { var failure = new Error(debug.failWrites); failure.name = debug.failWrites; throw failure; }
        if (change.conversations.length) { db.conversations.bulkPut(change.conversations); }
        if (messages.length) { db.messages.bulkPut(messages); }
        if (images.length) { db.images.bulkPut(images); }
        if (change.deletedMessages.length) {
          db.messages.bulkDelete(change.deletedMessages);
          db.images.where('msg_id').anyOf(change.deletedMessages).delete();
        }
        change.deletedConversations.forEach(function (id) {
          db.conversations.delete(id);
          db.messages.where('conv_id').equals(id).delete();
          db.images.where('conv_id').equals(id).delete();
        });
      });
      var syncMs = performance.now() - t0; // main-thread part: diff + structured clone of the puts
      return written.then(function () {
        debug.writes += 1;
        debug.lastSave = { sync_ms: syncMs, total_ms: performance.now() - t0, messages: change.messages.length,
          conversations: change.conversations.length, images: images.length };
        announce(change.changed, change.deletedConversations);
        return { ok: true };
      }, function (error) {
        debug.lastSave = { sync_ms: syncMs, error: String(error && (error.name || error.message)) };
        return { ok: false, error: String(error && (error.message || error.name)) };
      });
    }

    function estimate() {
      if (!navigator.storage || !navigator.storage.estimate) { return Promise.resolve(null); }
      return navigator.storage.estimate().catch(function () { return null; });
    }
    function persist() {
      if (!navigator.storage || !navigator.storage.persist) { return Promise.resolve(false); }
      return navigator.storage.persist().catch(function () { return false; });
    }

    return { open: open, save: save, load: load, loadAll: loadAll, diff: diff, estimate: estimate, persist: persist, debug: debug,
      writable: function () { return writable; } };
  }

  window.chatStorage = { create: create, database: database, sortMessages: sortMessages, compareMessages: compareMessages,
    withSeq: withSeq, conversationRecord: conversationRecord, messageRecord: messageRecord, splitImages: splitImages,
    TABLES: TABLES, DB_NAME: DB_NAME };
})();
