/**
 * attach.mjs — the attachments of the message being written (issue 13): picked with the
 * attach button (the input[type=file] this module puts inside #chat-attach), pasted
 * (images from the clipboard) or dropped onto the composer. Images are decoded here
 * (EXIF orientation applied), downscaled to attachments.image_max_side and re-encoded
 * (JPEG; PNG — then WebP — when they have transparency) with falling quality until they
 * are under attachments.image_max_bytes; a GIF sends its first frame; what the browser
 * cannot decode (HEIC …) gets a localized error. Documents are read by the server
 * (POST attachments.extract_url, form fields `file` and `locale`). Each result is coerced
 * against its schema (ImageAttachment / DocumentAttachment) before it can be sent.
 * Draws the pending ones as .chat-attachment chips into #chat-attach-list (plain DOM,
 * text set as text), shows an image full size when its thumbnail is clicked (here or in
 * a sent message), and says which images of earlier turns a request leaves out
 * (meta.notices of the stream — documents cut — are stream.mjs's).
 * Must not: store or send anything — conversation.mjs takes the ready attachments.
 */
import { asText, coerce, config, id, locale, text } from './config.mjs';
import { toast, uid } from './dash.mjs';
import { formatBytes } from './persist.mjs';
import { CLS } from './classes.mjs';

const QUALITIES = [0.92, 0.8, 0.65, 0.5]; // the first round; later rounds (smaller) start at 0.65
const MIN_SIDE = 64;   // px: below this an image is not made smaller
const IMAGE_EXTENSIONS = /\.(png|jpe?g|webp|gif|heic|heif|avif|bmp|tiff?)$/i;

const pending = [];    // [{key, kind, name, status: 'reading'|'ready'|'error', error, attachment}]
let installed = false;

function limits() { return config().attachments || {}; }
function extension(name) { const m = /\.[^./\\]+$/.exec(name || ''); return m ? m[0].toLowerCase() : ''; }
function isImageFile(file) {
  return /^image\//i.test(file.type || '') || IMAGE_EXTENSIONS.test(file.name || '');
}
function isDocumentFile(file) {
  return (limits().document_extensions || []).indexOf(extension(file.name)) >= 0;
}
/** The `accept` of the file input: the image types and the document extensions. */
export function acceptList(cfg) {
  const a = (cfg || {}).attachments || {};
  return (a.image_types || []).concat(a.document_extensions || []).join(',');
}

// --- images ---------------------------------------------------------------------------
/** Decode `file` with EXIF orientation applied: createImageBitmap ('from-image'), else an
 *  <img> (which applies it by default). Rejects when the browser cannot decode it. */
function decode(file) {
  const viaImage = () => new Promise(function (resolve, reject) {
    const url = URL.createObjectURL(file);
    const img = new Image();
    img.onload = () => { URL.revokeObjectURL(url); resolve(img); };
    img.onerror = () => { URL.revokeObjectURL(url); reject(new Error('undecodable')); };
    img.src = url;
  });
  if (typeof createImageBitmap !== 'function') { return viaImage(); }
  return createImageBitmap(file, { imageOrientation: 'from-image' }).catch(viaImage);
}
function sizeOf(source) {
  return { width: source.naturalWidth || source.width, height: source.naturalHeight || source.height };
}
function canvasOf(source, width, height) {
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  const context = canvas.getContext('2d');
  context.imageSmoothingQuality = 'high';
  context.drawImage(source, 0, 0, width, height);
  return canvas;
}
/** Whether any pixel of `canvas` is not fully opaque. */
function hasTransparency(canvas) {
  const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  for (let i = 3; i < pixels.length; i += 4) { if (pixels[i] < 255) { return true; } }
  return false;
}
function encode(canvas, mime, quality) {
  return new Promise((resolve) => canvas.toBlob((blob) => resolve(blob), mime, quality));
}
/** The side lengths of `size` scaled so that the longer one is at most `maxSide`. */
export function fitSide(size, maxSide) {
  const scale = Math.min(1, maxSide / Math.max(size.width, size.height, 1));
  return { width: Math.max(1, Math.round(size.width * scale)), height: Math.max(1, Math.round(size.height * scale)) };
}
/** The encodings to try in round `round` (0 = full size), in order: PNG then WebP
 *  (falling quality) for a transparent image, else JPEG (falling quality); a later,
 *  smaller round starts at a lower quality. */
export function encodings(transparent, round) {
  const qualities = round ? QUALITIES.slice(2) : QUALITIES;
  if (transparent) { return (round ? [] : [['image/png', undefined]]).concat(qualities.map((q) => ['image/webp', q])); }
  return qualities.map((q) => ['image/jpeg', q]);
}
/** The side factor of the next round: the bytes of an encoding grow with the area, so
 *  aim a little under the limit (between 0.5 and 0.9). */
export function shrinkFactor(bytes, maxBytes) {
  return Math.max(0.5, Math.min(0.9, Math.sqrt(maxBytes / Math.max(bytes, 1)) * 0.95));
}
/** Re-encode `file` under image_max_bytes → {blob, mime, width, height}; rejects with
 *  Error('undecodable' | 'too_large'). */
export async function processImage(file) {
  const a = limits();
  const maxBytes = a.image_max_bytes || 1000000;
  let source;
  try { source = await decode(file); } catch (e) { throw new Error('undecodable'); }
  let size = fitSide(sizeOf(source), a.image_max_side || 2048);
  let transparent = null;
  for (let round = 0; ; round++) {
    const canvas = canvasOf(source, size.width, size.height);
    if (transparent === null) { transparent = !/jpe?g/i.test(file.type || '') && hasTransparency(canvas); }
    let smallest = Infinity;
    for (const [mime, quality] of encodings(transparent, round)) {
      const blob = await encode(canvas, mime, quality);
      // a browser without WebP encoding answers PNG: only what was asked for counts
      if (!blob || blob.type !== mime) { continue; }
      if (blob.size <= maxBytes) {
        if (source.close) { source.close(); }
        return { blob: blob, mime: mime, width: size.width, height: size.height };
      }
      smallest = Math.min(smallest, blob.size);
    }
    if (Math.max(size.width, size.height) <= MIN_SIDE) { throw new Error('too_large'); }
    const factor = shrinkFactor(smallest, maxBytes);
    size = { width: Math.max(1, Math.round(size.width * factor)), height: Math.max(1, Math.round(size.height * factor)) };
  }
}
function dataUrl(blob) {
  return new Promise(function (resolve, reject) {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result);
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(blob);
  });
}
/** A file name for an image re-encoded as `mime` (the extension follows the type). */
export function imageName(name, mime) {
  const base = asText(name).replace(/\.[^./\\]+$/, '') || 'image';
  return base + '.' + ({ 'image/jpeg': 'jpg', 'image/png': 'png', 'image/webp': 'webp' }[mime] || 'img');
}
async function readImage(file) {
  const image = await processImage(file);
  const attachment = {
    id: uid('att'), kind: 'image', name: imageName(file.name, image.mime).slice(0, 255), mime: image.mime,
    size: image.blob.size, width: image.width, height: image.height, data: await dataUrl(image.blob)
  };
  return attachment;
}

// --- documents ------------------------------------------------------------------------
async function readDocument(file) {
  const a = limits();
  if (a.attachment_max_bytes && file.size > a.attachment_max_bytes) {
    throw new Error(text('attach_too_large', { max: formatBytes(a.attachment_max_bytes) }));
  }
  const form = new FormData();
  form.append('file', file, file.name);
  form.append('locale', locale());
  let response;
  try {
    response = await fetch(a.extract_url, { method: 'POST', body: form, credentials: 'same-origin' });
  } catch (e) { throw new Error(text('attach_failed')); }
  let answer = null;
  try { answer = await response.json(); } catch (e) { answer = null; }
  if (!response.ok || !answer || answer.error) {
    const message = answer && answer.error && asText(answer.error.message);
    throw new Error(message || text('attach_failed'));
  }
  const attachment = {
    id: uid('att'), kind: 'document', name: asText(answer.name) || file.name, mime: asText(answer.mime) || 'text/plain',
    size: typeof answer.size === 'number' ? answer.size : file.size, text: answer.text, tokens: answer.tokens
  };
  if (answer.truncated === true) { attachment.truncated = true; }
  return attachment;
}

// --- the pending list -----------------------------------------------------------------
/** Add files (from the input, the clipboard or a drop): each becomes a chip at once and
 *  is read in the background. */
export function addFiles(files) {
  const list = Array.prototype.slice.call(files || []);
  if (!list.length) { return; }
  const max = limits().max_attachments || 10;
  const room = Math.max(0, max - pending.length);
  if (list.length > room) { toast('warning', text('attach_too_many', { n: max })); }
  list.slice(0, room).forEach(function (file) {
    const image = isImageFile(file);
    const entry = { key: uid('p'), kind: image ? 'image' : 'document', name: asText(file.name) || 'file', status: 'reading', error: '', attachment: null };
    pending.push(entry);
    let work;
    if (image) {
      work = readImage(file).catch(function (e) {
        throw new Error(text(e && e.message === 'too_large' ? 'attach_image_too_large' : 'attach_undecodable',
          { max: formatBytes(limits().image_max_bytes || 1000000) }));
      });
    } else if (isDocumentFile(file)) {
      work = readDocument(file);
    } else {
      work = Promise.reject(new Error(text('attach_unsupported', { extensions: (limits().document_extensions || []).join(' ') })));
    }
    work.then(function (attachment) {
      const checked = coerce(image ? 'ImageAttachment' : 'DocumentAttachment', attachment);
      if (!checked.ok || checked.dropped) { throw new Error(text(image ? 'attach_undecodable' : 'attach_failed')); }
      entry.attachment = checked.value;
      entry.status = 'ready';
    }).catch(function (e) {
      entry.status = 'error';
      entry.error = (e && e.message) || text('attach_failed');
    }).then(draw);
  });
  draw();
}
export function removeAttachment(key) {
  const index = pending.findIndex((p) => p.key === key);
  if (index >= 0) { pending.splice(index, 1); draw(); }
}
/** What is pending: {ready: [attachment], reading: n, errors: n}. */
export function pendingAttachments() {
  return {
    ready: pending.filter((p) => p.status === 'ready').map((p) => p.attachment),
    reading: pending.filter((p) => p.status === 'reading').length,
    errors: pending.filter((p) => p.status === 'error').length
  };
}
/** The message was sent: the composer has no attachments any more. */
export function clearAttachments() { pending.length = 0; draw(); }
function el(tag, className, textContent) {
  const node = document.createElement(tag);
  if (className) { node.className = className; }
  if (textContent !== undefined) { node.textContent = textContent; }
  return node;
}
/** One chip (also used for a sent message's documents: render.mjs draws Dash dicts of the
 *  same classes). */
function chip(entry) {
  const a = entry.attachment;
  const node = el('div', CLS.attachment + ' ' + CLS.attachmentKind(entry.kind) + (entry.status === 'error' ? ' ' + CLS.attachmentHasError : ''));
  node.setAttribute('role', 'listitem');
  node.setAttribute('data-key', entry.key);
  if (entry.kind === 'image' && a) {
    const img = el('img', CLS.attachmentThumb);
    img.src = a.data;
    img.alt = a.name;
    node.appendChild(img);
  } else {
    node.appendChild(el('span', CLS.attachmentIcon, entry.kind === 'image' ? '\u25a3' : '\u2263'));
  }
  const meta = el('div', CLS.attachmentMeta);
  meta.appendChild(el('span', CLS.attachmentName, a ? asText(a.name) : entry.name));
  let info = '';
  if (entry.status === 'reading') { info = text('attach_reading'); }
  else if (a && a.kind === 'document') { info = documentInfo(a); }
  else if (a) { info = text('attach_image_info', { width: a.width, height: a.height, size: formatBytes(a.size) }); }
  if (info) { meta.appendChild(el('span', CLS.attachmentInfo, info)); }
  if (entry.status === 'error') { meta.appendChild(el('span', CLS.attachmentError, entry.error)); }
  node.appendChild(meta);
  const remove = el('button', CLS.attachmentRemove, '\u2715');
  remove.type = 'button';
  remove.setAttribute('data-attach-remove', entry.key);
  remove.setAttribute('aria-label', text('attach_remove'));
  remove.title = text('attach_remove');
  node.appendChild(remove);
  return node;
}
/** "12.3 KB · ≈ 456 tokens" (and "cut to the length limit") for a document. */
export function documentInfo(a) {
  const info = text('attach_doc_info', { size: formatBytes(a.size || 0), tokens: a.tokens || 0 });
  return a.truncated ? info + ' · ' + text('attach_truncated') : info;
}
function draw() {
  const list = document.getElementById(id('ATTACH_LIST'));
  if (!list) { return; }
  let holder = list.querySelector('.' + CLS.attachHolder);
  if (!holder) { holder = el('div', CLS.attachHolder); list.appendChild(holder); }
  holder.replaceChildren(...pending.map(chip));
  list.classList.toggle(CLS.attachListFull, pending.length > 0);
}

// --- full-size view -------------------------------------------------------------------
/** Show `src` (an image data URL) full size over the page; a click or Escape closes it. */
export function openPreview(src, name) {
  closePreview();
  const overlay = el('div', CLS.imagePreview);
  overlay.id = id('IMAGE_PREVIEW');
  overlay.setAttribute('role', 'dialog');
  overlay.setAttribute('aria-label', asText(name));
  const img = el('img');
  img.src = src;
  img.alt = asText(name);
  const close = el('button', CLS.imagePreviewClose, '\u2715');
  close.type = 'button';
  close.setAttribute('aria-label', text('image_preview_close'));
  overlay.appendChild(img);
  overlay.appendChild(close);
  overlay.addEventListener('click', closePreview);
  document.body.appendChild(overlay);
}
function closePreview() {
  const open = document.getElementById(id('IMAGE_PREVIEW'));
  if (open) { open.remove(); }
}

// --- notices --------------------------------------------------------------------------
/** Before a request: say how many images of earlier messages were left out (payload.mjs
 *  imagesLeftOut; `reason` 'budget' or 'model'). */
export function noticeLeftOut(request, model) {
  const n = (request && request.imagesLeftOut) || 0;
  if (!n) { return; }
  toast('warning', request.imagesReason === 'model' ? text('images_left_out_model', { n: n, model: model })
    : text('images_left_out', { n: n }));
}

// --- events ---------------------------------------------------------------------------
function composerOf(target) {
  return target && target.closest ? target.closest('.' + CLS.composer) : null;
}
function files(dataTransfer) {
  if (!dataTransfer) { return []; }
  const items = Array.prototype.slice.call(dataTransfer.items || []);
  if (items.length) { return items.filter((i) => i.kind === 'file').map((i) => i.getAsFile()).filter(Boolean); }
  return Array.prototype.slice.call(dataTransfer.files || []);
}
function onClick(event) {
  const target = event.target;
  if (!target || !target.closest) { return; }
  if (target.closest('#' + id('ATTACH_BUTTON'))) {
    const input = ensureInput();
    if (input) { input.click(); }
    return;
  }
  const remove = target.closest('[data-attach-remove]');
  if (remove) { removeAttachment(remove.getAttribute('data-attach-remove')); return; }
  const thumb = target.closest('img.' + CLS.attachmentThumb);
  if (thumb) { openPreview(thumb.src, thumb.alt); }
}
function onChange(event) {
  const input = event.target;
  if (!input || input.id !== id('ATTACH_INPUT')) { return; }
  addFiles(input.files);
  input.value = ''; // the same file can be chosen again
}
// Paste into the composer: clipboard images become attachments (text pastes as text).
function onPaste(event) {
  if (!composerOf(event.target)) { return; }
  const images = files(event.clipboardData).filter(isImageFile);
  if (!images.length) { return; }
  event.preventDefault();
  addFiles(images);
}
function onDrag(event) {
  const composer = composerOf(event.target);
  const hasFiles = event.dataTransfer && Array.prototype.indexOf.call(event.dataTransfer.types || [], 'Files') >= 0;
  if (!hasFiles) { return; }
  event.preventDefault(); // a file dropped beside the composer must not replace the page
  if (!composer) { return; }
  composer.classList.toggle(CLS.composerDrop, event.type !== 'dragleave' && event.type !== 'drop');
  if (event.type === 'drop') { addFiles(files(event.dataTransfer)); }
}
function onKey(event) { if (event.key === 'Escape') { closePreview(); } }

/** The file input inside #chat-attach (made once the composer is drawn and the config
 *  known; its `accept` from the config). */
function ensureInput() {
  const holder = document.getElementById(id('ATTACH'));
  if (!holder) { return null; }
  let input = document.getElementById(id('ATTACH_INPUT'));
  if (!input) {
    input = el('input', CLS.attachInput);
    input.type = 'file';
    input.multiple = true;
    input.id = id('ATTACH_INPUT');
    input.tabIndex = -1;
    input.setAttribute('aria-label', text('attach'));
    holder.appendChild(input);
  }
  const accept = acceptList(config());
  if (input.accept !== accept) { input.accept = accept; }
  const composer = holder.closest('.' + CLS.composer);
  if (composer && !composer.getAttribute('data-drop-label')) { composer.setAttribute('data-drop-label', text('attach_drop')); }
  return input;
}
/** Install the listeners once and make sure the file input exists (render.mjs calls it
 *  on every draw: cheap when all is in place). */
export function installAttachments() {
  ensureInput();
  if (pending.length && !document.querySelector('#' + id('ATTACH_LIST') + ' .' + CLS.attachHolder)) { draw(); }
  if (installed) { return; }
  installed = true;
  document.addEventListener('click', onClick, false);
  document.addEventListener('change', onChange, true);
  document.addEventListener('paste', onPaste, true);
  ['dragenter', 'dragover', 'dragleave', 'drop'].forEach((name) => document.addEventListener(name, onDrag, true));
  document.addEventListener('keydown', onKey, false);
}
