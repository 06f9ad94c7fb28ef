/**
 * share.mjs — the open conversation shared: "Share as image" draws its messages as the page
 * shows them (light or dark: the page's own CSS, copied by modern-screenshot, vendored and
 * loaded on first use from the config's vendor URLs) into PNG images — several numbered
 * ones when it is taller than the largest safe canvas (config.share), cut between messages
 * where it can be — and saves them; "Copy as Markdown" puts it on the clipboard in the
 * export format (exporter.mjs toMarkdown, called as backup.mjs calls it), with a clear
 * message where the clipboard is denied; the shortcut's "copy the last reply" too. Also the
 * header's "more" menu on phones. Reads the history (state.mjs), never changes it; draws
 * every message for the image (state.visible, as "show earlier" does), then as before.
 * planSlices is pure and unit-tested (tests/js/share.test.mjs). Listens when imported.
 */
import { asText, config, id, text } from './config.mjs';
import { loadScript, setProps, toast } from './dash.mjs';
import { exportRequest } from './backup.mjs';
import { SHARE_CLS } from './classes.mjs';
import { loadMarkdownIt, toMarkdown } from './exporter.mjs';
import { activeConversation, historyOf, state } from './state.mjs';
import { safeStem } from './zip.mjs';

const SH = SHARE_CLS; // class names this module sets or looks for (classes.mjs)
const DRAW_TIMEOUT_MS = 15000; // every message drawn for the image, or give up
const SAVE_GAP_MS = 300; // between the downloads of numbered images

/** Where to cut a conversation into images no taller than `max` (CSS px). `boxes`: each
 *  drawn message's {top, bottom} inside the list; `padTop`/`padBottom`: the list's padding.
 *  Returns [{start, end, offset, height}]: messages start..end-1 drawn (the list's padding
 *  around them, the gaps between as drawn), shifted up by `offset` and `height` tall —
 *  whole messages per image, except one taller than `max` alone, cut into parts. */
export function planSlices(boxes, padTop, padBottom, max) {
  const slices = [];
  const limit = Math.max(1, Math.floor(max));
  const span = (a, b) => padTop + (boxes[b].bottom - boxes[a].top) + padBottom;
  let start = 0;
  while (start < boxes.length) {
    let end = start + 1;
    while (end < boxes.length && span(start, end) <= limit) { end += 1; }
    const total = Math.ceil(span(start, end - 1));
    if (total <= limit || end - start > 1) {
      slices.push({ start: start, end: end, offset: 0, height: total });
    } else {
      for (let offset = 0; offset < total; offset += limit) {
        slices.push({ start: start, end: end, offset: offset, height: Math.min(limit, total - offset) });
      }
    }
    start = end;
  }
  return slices;
}

const wait = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const frame = () => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));

/** Every message of `conversation` in the list? (the drawn window may hold the newest only) */
function allDrawn(list, total) {
  return !!list && !list.querySelector('.' + SH.showEarlier) && drawnMessages(list).length >= total;
}
/** The message elements of the list, top to bottom (each sits in a shell: render.mjs). */
function drawnMessages(list) {
  return Array.prototype.slice.call(list.querySelectorAll(':scope > .' + SH.messagesChunk + ' > .' + SH.message));
}
/** Draw every message of `conversation` (as "show earlier" does); resolves, once the list
 *  holds them all, with a function that puts the drawn window back. */
async function drawAll(conversation) {
  const total = (conversation.messages || []).length;
  const convId = conversation.id;
  const before = state.visible[convId];
  let list = document.getElementById(id('MESSAGES'));
  if (allDrawn(list, total)) { return function () {}; }
  const restore = function () {
    if (before) { state.visible[convId] = before; } else { delete state.visible[convId]; }
    const scroll = document.getElementById(id('SCROLL'));
    state.keepScroll = scroll ? { fromBottom: scroll.scrollHeight - scroll.scrollTop } : null;
    setProps(id('VIEW_STORE'), { data: { limit: before || 0, at: Date.now() } });
  };
  state.visible[convId] = total;
  setProps(id('VIEW_STORE'), { data: { limit: total, at: Date.now() } });
  const deadline = Date.now() + DRAW_TIMEOUT_MS;
  while (!allDrawn(list, total)) {
    if (Date.now() > deadline) { restore(); throw new Error('messages not drawn'); }
    await wait(50);
    list = document.getElementById(id('MESSAGES'));
  }
  return restore;
}
/** The message list as PNG blobs (one per slice of config.share's safe canvas). */
async function drawImages(library, list) {
  const limits = config().share || {};
  const scale = Number(limits.scale) || 2;
  const width = list.clientWidth;
  const max = Math.min((Number(limits.max_side) || 16384) / scale, (Number(limits.max_area) || 16777216) / (width * scale * scale));
  const top = list.getBoundingClientRect().top;
  const messages = drawnMessages(list);
  const boxes = messages.map(function (node) {
    const box = node.getBoundingClientRect();
    return { top: box.top - top, bottom: box.bottom - top };
  });
  const style = getComputedStyle(list);
  const background = getComputedStyle(document.body).backgroundColor || '#ffffff';
  const slices = planSlices(boxes, parseFloat(style.paddingTop) || 0, parseFloat(style.paddingBottom) || 0, max);
  const blobs = [];
  for (const slice of slices) {
    const keep = new Set(messages.slice(slice.start, slice.end));
    const canvas = await library.domToCanvas(list, {
      scale: scale, width: width, height: slice.height, backgroundColor: background,
      style: slice.offset ? { transform: 'translateY(-' + slice.offset + 'px)' } : null,
      filter: (node) => !node.parentNode || node.parentNode.parentNode !== list || keep.has(node),
      onCloneEachNode: function (cloned) {
        if (cloned.classList && (cloned.classList.contains(SH.toolbar) || cloned.classList.contains(SH.codeCopy))) { cloned.style.visibility = 'hidden'; }
      }
    });
    blobs.push(await new Promise(function (resolve, reject) {
      canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error('canvas too large'))), 'image/png');
    }));
  }
  return blobs;
}
function download(blob, name) {
  const link = document.createElement('a');
  link.href = URL.createObjectURL(blob);
  link.download = name;
  link.style.display = 'none';
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 60000);
}
/** Save `blobs` as `<title>.png`, or `<title>-1.png`, `<title>-2.png` … */
async function saveImages(blobs, title) {
  const stem = safeStem(title);
  for (let i = 0; i < blobs.length; i++) {
    if (i) { await wait(SAVE_GAP_MS); }
    download(blobs[i], blobs.length === 1 ? stem + '.png' : stem + '-' + (i + 1) + '.png');
  }
}

let sharing = false;
/** Share as image → the open conversation as PNG(s), downloaded; a message says how many. */
export async function shareImage() {
  const conversation = activeConversation(historyOf());
  if (!conversation || !(conversation.messages || []).length) { toast('info', text('nothing_to_share')); return; }
  if (state.run) { toast('warning', text('busy')); return; }
  if (sharing) { return; }
  sharing = true;
  toast('info', text('share_working'));
  let restore = null;
  try {
    const library = await loadScript((config().vendor_urls || {}).screenshot, 'modernScreenshot');
    restore = await drawAll(conversation);
    await frame();
    if (document.fonts && document.fonts.ready) { await document.fonts.ready; }
    const blobs = await drawImages(library, document.getElementById(id('MESSAGES')));
    await saveImages(blobs, asText(conversation.title) || text('untitled'));
    toast('success', blobs.length === 1 ? text('share_done_one') : text('share_done_many', { n: blobs.length }));
  } catch (error) {
    toast('error', text('share_failed'));
  } finally {
    if (restore) { restore(); }
    sharing = false;
  }
}

function copyWithCommand(value) { // pages served over plain http have no Clipboard API
  const area = document.createElement('textarea');
  area.value = value;
  area.setAttribute('readonly', '');
  area.style.position = 'fixed';
  area.style.opacity = '0';
  document.body.appendChild(area);
  area.select();
  try { return document.execCommand('copy'); } catch (e) { return false; } finally { area.remove(); }
}
/** Put `value` (text, or a promise of it) on the clipboard, then say `doneKey`; a denied
 *  clipboard says so (clipboard_denied), a value that failed says `failedKey`. The write
 *  starts inside the click or key press (ClipboardItem takes the promise), as Safari wants. */
export function copyText(value, doneKey, failedKey) {
  let buildFailed = false;
  const pending = Promise.resolve(value).then((v) => String(v), function (error) { buildFailed = true; throw error; });
  const clipboard = typeof navigator !== 'undefined' ? navigator.clipboard : null;
  let writing;
  if (!clipboard || !window.isSecureContext) {
    writing = pending.then((v) => { if (!copyWithCommand(v)) { throw new Error('denied'); } });
  } else if (typeof ClipboardItem === 'function' && clipboard.write) {
    const blob = pending.then((v) => new Blob([v], { type: 'text/plain' }));
    writing = clipboard.write([new ClipboardItem({ 'text/plain': blob })]);
  } else {
    writing = pending.then((v) => clipboard.writeText(v));
  }
  return writing.then(function () { toast('success', text(doneKey)); return true; }, function () {
    toast('error', buildFailed ? text(failedKey || 'copy_markdown_failed') : text('clipboard_denied'));
    return false;
  });
}

/** Copy as Markdown → the open conversation in the export format, on the clipboard. */
export function copyMarkdown() {
  const request = exportRequest(activeConversation(historyOf()), null);
  if (!request.messages.length) { toast('info', text('nothing_to_export')); return Promise.resolve(false); }
  const markdown = loadMarkdownIt().then(() => toMarkdown(request.messages, {
    model: request.model, title: request.title, system_prompt: request.system_prompt, exported_at: new Date()
  }));
  return copyText(markdown, 'copy_markdown_done', 'copy_markdown_failed');
}
/** The shortcut's "copy the last reply": its Markdown source, as the message's Copy does. */
export function copyLastReply() {
  const conversation = activeConversation(historyOf());
  const replies = ((conversation && conversation.messages) || []).filter((m) => m && m.role === 'assistant' && asText(m.content));
  if (!replies.length) { toast('info', text('nothing_to_copy')); return Promise.resolve(false); }
  return copyText(replies[replies.length - 1].content, 'copied');
}

/** Phones: open or close the header's "more" menu. */
function openMore(open) {
  const more = document.getElementById(id('HEADER_MORE'));
  if (!more) { return; }
  more.classList.toggle(SH.moreOpen, open);
  const button = document.getElementById(id('HEADER_MORE_BUTTON'));
  if (button) { button.setAttribute('aria-expanded', open ? 'true' : 'false'); }
}
function onClick(event) {
  const target = event.target && event.target.closest ? event.target : null;
  if (!target) { return; }
  const more = document.getElementById(id('HEADER_MORE'));
  const inMore = !!(more && more.contains(target));
  if (target.closest('#' + id('HEADER_MORE_BUTTON'))) { openMore(!more.classList.contains(SH.moreOpen)); return; }
  if (target.closest('#' + id('SHARE_IMAGE_BUTTON'))) { shareImage(); }
  else if (target.closest('#' + id('COPY_MARKDOWN_BUTTON'))) { copyMarkdown(); }
  // a choice in the menu, or a click anywhere else, closes it
  if (more && more.classList.contains(SH.moreOpen) && (!inMore || target.closest('button'))) { openMore(false); }
}
function onKeydown(event) {
  if (event.key === 'Escape') { openMore(false); }
}

if (typeof document !== 'undefined') {
  document.addEventListener('click', onClick, false);
  document.addEventListener('keydown', onKeydown, false);
}
