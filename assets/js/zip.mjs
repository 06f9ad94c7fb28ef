/**
 * zip.mjs — the files of Export all: safe file names from conversation titles and the
 * .zip itself (fflate, assets/vendor/fflate-*.min.js, loaded only when exporting).
 * fileNames is pure and unit-tested (tests/js/exporter.test.mjs). Owns no page state.
 */
import { config } from './config.mjs';

export const NAME_MAX = 80; // characters of a file name before ".md"
// Windows device names, reserved with any extension (CON.md, com1.txt …)
const RESERVED = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])(\.|$)/i;
// < > : " / \ | ? * and control characters are not allowed in Windows file names
const UNSAFE = /[<>:"/\\|?*\u0000-\u001f\u007f-\u009f]/g;

/** A file name stem for `title`: CJK and other letters kept; unsafe characters, runs
 *  of whitespace and leading/trailing dots and spaces replaced or dropped; reserved
 *  device names suffixed with "_"; at most NAME_MAX characters (never half an emoji). */
export function safeStem(title) {
  let stem = String(title || '').replace(/\s+/gu, ' ').replace(UNSAFE, '_').trim();
  stem = Array.from(stem).slice(0, NAME_MAX).join('');
  stem = stem.replace(/^[. ]+|[. ]+$/g, '');
  if (!stem || /^_+$/.test(stem)) { stem = 'chat'; }
  if (RESERVED.test(stem)) { stem = stem.replace(/^([^.]*)/, '$1_'); }
  return stem;
}
/** File names `<stem>.md` for `titles`, in order, unique ignoring case: a repeated name
 *  becomes `<stem> (2).md`, `<stem> (3).md` … */
export function fileNames(titles, extension) {
  const ext = extension || '.md';
  const taken = new Set();
  return titles.map(function (title) {
    const stem = safeStem(title);
    let name = stem + ext;
    for (let n = 2; taken.has(name.toLowerCase()); n++) { name = stem + ' (' + n + ')' + ext; }
    taken.add(name.toLowerCase());
    return name;
  });
}

let fflate = null;
/** Use `library` (fflate's export) to write zips. */
export function useFflate(library) { fflate = library; }
/** Load the vendored fflate once (a <script>, from the page config's vendor URLs). */
export function loadFflate() {
  if (fflate) { return Promise.resolve(fflate); }
  if (globalThis.fflate) { fflate = globalThis.fflate; return Promise.resolve(fflate); }
  const url = (config().vendor_urls || {}).fflate;
  return new Promise(function (resolve, reject) {
    if (!url || typeof document === 'undefined') { reject(new Error('fflate is not available')); return; }
    const script = document.createElement('script');
    script.src = url;
    script.onload = function () { fflate = globalThis.fflate; resolve(fflate); };
    script.onerror = function () { reject(new Error('fflate did not load')); };
    document.head.appendChild(script);
  });
}
/** A .zip (Uint8Array) of `files`: [{name, text}], UTF-8, deflated, dated `date`. */
export function zipFiles(files, date) {
  const encoder = new TextEncoder();
  const entries = {};
  files.forEach((file) => { entries[file.name] = [encoder.encode(file.text), { level: 6 }]; });
  return fflate.zipSync(entries, { mtime: date || new Date() });
}
/** Bytes as base64 (dcc.Download's base64 data), in chunks (no call-stack overflow). */
export function toBase64(bytes) {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) { binary += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000)); }
  return btoa(binary);
}
