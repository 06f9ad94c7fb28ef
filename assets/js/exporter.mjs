/**
 * exporter.mjs — the Markdown export built in the browser (Export all): a port of
 * chatcore/export.py `to_markdown` (format 2; format 3 when a message has attachments:
 * images as data: URLs, documents as fenced text) that writes the very same bytes as the
 * server (tests/test_export_js.py compares both on the CommonMark spec examples and on
 * attachments), so a zip of every conversation never travels through a request body.
 * What an attachment may be (its image types, data URL and MIME patterns) comes from the
 * page config's schema (chatcore/schema.py ImageAttachment / DocumentAttachment). Open
 * blocks are found with markdown-it's block parser (assets/vendor/markdown-it-*.min.js,
 * loaded only when exporting), as the Python exporter does with markdown-it-py: read
 * chatcore/export.py for the why of every step; this file follows it function by function.
 * Owns nothing of the page state; it does not read or write the history.
 */
import { config } from './config.mjs';

export const FORMAT_VERSION = 3;
const ATTACHMENTS_FORMAT = 3; const PLAIN_FORMAT = 2; // 3 only when a message has attachments
const ROLE_HEADINGS = { system: 'System prompt', user: 'User', assistant: 'Assistant' };
const END_MARKER = '<!-- chat:end -->';
const REASONING_BEGIN = '<!-- chat:reasoning -->';
const REASONING_END = '<!-- chat:reasoning-end -->';
const REASONING_LABEL = ['> **Reasoning**', '>'];
const MAX_CLOSING_LINES = 4;
const MAX_PARSED_CHARS = 1000000;
const MIN_PARSE_COST = 2000;
const PROBE = '## probe';
const SHIELD = '<!--';
const LINE_BREAKS = /\r\n?|\n/g; // markdown-it's line breaks (its normalize rule)
const IMAGE_BEGIN = '<!-- chat:image '; const DOCUMENT_BEGIN = '<!-- chat:document ';
const DOCUMENT_LABEL = '\u{1F4C4} **'; const DOCUMENT_INFO = 'text';
const MAX_COUNT = Number.MAX_SAFE_INTEGER;
// a name's escapes (chatcore.export.escape_name): a backslash before markup punctuation,
// a character reference for control characters, U+2028, U+2029 and lone surrogates
const NAME_ESCAPED = '\\`*_{}[]()<>#+!|~$&^=';
const NAME_SPECIAL = /[\\`*_{}[\]()<>#+!|~$&^=]|[\x00-\x1f\x7f-\x9f\u2028\u2029]|[\ud800-\udfff]/gu;
// Python's str.split() whitespace (str.isspace), not JavaScript's \s
const PY_SPACE = /[\t\n\v\f\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/;
// re.M's ^ and $ of Python: at the ends and next to "\n" only (JavaScript's m flag
// also breaks lines at "\r", U+2028 and U+2029)
const LINE_START = '(?<![^\\n])[ \\t>*+\\-0-9.)]*';
const NEEDS_MATH = new RegExp(LINE_START + '\\$\\$');
const NEEDS_HTML = new RegExp(LINE_START + '<');
const NEEDS_TABLE = new RegExp(LINE_START + '[ \\t|:]*-[ \\t|:\\-]*(?![^\\n])');
// the start conditions of HTML blocks of types 1–5 (markdown-it's HTML_SEQUENCES) and the
// line that ends each; types 6 and 7 end at a blank line (no closing line)
const HTML_CLOSERS = [
  [/^<(script|pre|style|textarea)(?=(\s|>|$))/i, (m) => '</' + m[1].toLowerCase() + '>'],
  [/^<!--/, () => '-->'],
  [/^<\?/, () => '?>'],
  [/^<![A-Za-z]/, () => '>'],
  [/^<!\[CDATA\[/, () => ']]>']
];

let factory = null; // the markdownit function
let parsers = null;
/** Use `markdownit` (the vendored library's export) for the block parsers. */
export function useMarkdownIt(markdownit) { factory = markdownit; parsers = null; }
/** Load the vendored markdown-it once (a <script>, from the page config's vendor URLs). */
export function loadMarkdownIt() {
  if (factory) { return Promise.resolve(factory); }
  if (globalThis.markdownit) { useMarkdownIt(globalThis.markdownit); return Promise.resolve(factory); }
  const url = (config().vendor_urls || {}).markdownit;
  return new Promise(function (resolve, reject) {
    if (!url || typeof document === 'undefined') { reject(new Error('markdown-it is not available')); return; }
    const script = document.createElement('script');
    script.src = url;
    script.onload = function () { useMarkdownIt(globalThis.markdownit); resolve(factory); };
    script.onerror = function () { reject(new Error('markdown-it did not load')); };
    document.head.appendChild(script);
  });
}

function codePoints(value) { // len() of a Python str
  let n = value.length;
  for (let i = 0; i < value.length - 1; i++) {
    const c = value.charCodeAt(i);
    if (c >= 0xd800 && c < 0xdc00) { const d = value.charCodeAt(i + 1); if (d >= 0xdc00 && d < 0xe000) { n -= 1; i += 1; } }
  }
  return n;
}
function oneLine(value) { return String(value).split(PY_SPACE).filter(Boolean).join(' '); }

/** chatcore.export.make_fence_rule for "$$" math (flow): markers "$", two or more. */
function mathRule(state, startLine, endLine, silent) {
  const marker = 0x24;
  const minMarkers = 2;
  let pos = state.bMarks[startLine] + state.tShift[startLine];
  let max = state.eMarks[startLine];
  if (state.sCount[startLine] - state.blkIndent >= 4) { return false; }
  if (pos + minMarkers > max) { return false; }
  if (state.src.charCodeAt(pos) !== marker) { return false; }
  let mem = pos;
  pos = state.skipChars(pos, marker);
  const len = pos - mem;
  if (len < minMarkers) { return false; }
  const markup = state.src.slice(mem, pos);
  const params = state.src.slice(pos, max);
  if (params.indexOf('$') >= 0) { return false; }
  if (silent) { return true; }
  let nextLine = startLine;
  let haveEndMarker = false;
  for (;;) {
    nextLine++;
    if (nextLine >= endLine) { break; }
    pos = mem = state.bMarks[nextLine] + state.tShift[nextLine];
    max = state.eMarks[nextLine];
    if (pos < max && state.sCount[nextLine] < state.blkIndent) { break; }
    if (pos >= state.src.length) { break; } // markdown-it-py: IndexError
    if (state.src.charCodeAt(pos) !== marker) { continue; }
    if (state.sCount[nextLine] - state.blkIndent >= 4) { continue; }
    pos = state.skipChars(pos, marker);
    if (pos - mem < len) { continue; }
    pos = state.skipSpaces(pos);
    if (pos < max) { continue; }
    haveEndMarker = true;
    break;
  }
  const indent = state.sCount[startLine];
  state.line = nextLine + (haveEndMarker ? 1 : 0);
  const token = state.push('math_block', 'code', 0);
  token.info = params;
  token.content = state.getLines(startLine + 1, nextLine, indent, true);
  token.markup = markup;
  token.map = [startLine, state.line];
  return true;
}
function blockParser(options) {
  const md = factory('commonmark', { html: options.html }).disable(['inline', 'text_join']);
  if (options.table) { md.enable('table'); }
  if (options.math) { md.block.ruler.after('fence', 'math_block', mathRule, { alt: ['paragraph', 'reference', 'blockquote', 'list'] }); }
  return md;
}
function closingParsers() {
  if (!factory) { throw new Error('markdown-it is not loaded (loadMarkdownIt)'); }
  if (!parsers) {
    parsers = {
      closing: [
        [blockParser({ html: true }), []],
        [blockParser({ html: true, math: true }), ['math']],
        [blockParser({ html: true, table: true }), ['table']],
        [blockParser({ html: false }), ['html']],
        [blockParser({ html: false, math: true }), ['math', 'html']],
        [blockParser({ html: false, table: true }), ['table', 'html']]
      ],
      noHtml: blockParser({ html: false, table: true })
    };
  }
  return parsers;
}
function parse(md, src) { return md.parse(src, {}); }

function lineCount(src) { return (src.match(LINE_BREAKS) || []).length + 1; }
function lineOffset(value, line) {
  if (line <= 0) { return 0; }
  const breaks = new RegExp(LINE_BREAKS.source, 'g');
  let n = 0;
  let match;
  while ((match = breaks.exec(value)) !== null) {
    n += 1;
    if (n === line) { return match.index + match[0].length; }
  }
  return value.length;
}
function htmlCloser(openingLine) {
  const line = openingLine.replace(/^ +/, '');
  for (const [start, closer] of HTML_CLOSERS) {
    const match = start.exec(line);
    if (match) { return closer(match); }
  }
  return null;
}
function probe(md, body, end) {
  const src = body + '\n' + end + '\n\n' + PROBE;
  const bodyLines = lineCount(body);
  const probeLine = lineCount(src) - 1;
  const starts = parse(md, src).filter((t) => t.level === 0 && t.nesting >= 0 && t.map);
  let lastBlock = 0;
  starts.forEach((t) => { if (t.map[0] < bodyLines && t.map[0] > lastBlock) { lastBlock = t.map[0]; } });
  const last = starts.length ? starts[starts.length - 1] : null;
  if (last === null || (last.type === 'heading_open' && last.map[0] === probeLine)) { return { open: false, closer: null, lastBlock: lastBlock }; }
  if (!(last.map[0] <= probeLine && probeLine < last.map[1])) { return { open: true, closer: null, lastBlock: lastBlock }; }
  if (last.type === 'fence' || last.type === 'math_block') { return { open: true, closer: last.markup, lastBlock: lastBlock }; }
  if (last.type === 'html_block') { return { open: true, closer: htmlCloser(last.content.split('\n')[0]), lastBlock: lastBlock }; }
  return { open: true, closer: null, lastBlock: lastBlock };
}
function features(value) {
  if (value.indexOf('\r') >= 0) { value = value.replace(LINE_BREAKS, '\n'); }
  const found = new Set();
  if (NEEDS_MATH.test(value)) { found.add('math'); }
  if (NEEDS_HTML.test(value)) { found.add('html'); }
  if (value.indexOf('|') >= 0 && NEEDS_TABLE.test(value)) { found.add('table'); }
  return found;
}
function searchClosing(content, found, end, chosen, budget) {
  const tails = new Map();
  let frontier = [[]];
  while (frontier.length) {
    const following = [];
    for (const closers of frontier) {
      const present = new Set([...found, ...features(closers.join('\n'))]);
      const wanted = [];
      let stuck = false;
      for (let index = 0; index < chosen.length; index++) {
        const [md, needs] = chosen[index];
        if (!needs.every((n) => present.has(n))) { continue; }
        const body = [tails.has(index) ? tails.get(index) : content, ...closers].join('\n');
        if (budget !== null) {
          budget.left -= Math.max(codePoints(body), MIN_PARSE_COST);
          if (budget.left < 0) { return null; }
        }
        const result = probe(md, body, end);
        if (!tails.has(index)) { tails.set(index, closers.length === 0 ? content.slice(lineOffset(content, result.lastBlock)) : content); }
        if (result.open && result.closer === null) { stuck = true; }
        else if (result.open && wanted.indexOf(result.closer) < 0) { wanted.push(result.closer); }
      }
      if (!wanted.length && !stuck) { return closers; }
      if (wanted.length && closers.length < MAX_CLOSING_LINES) {
        [...wanted, SHIELD].forEach((c) => { if (closers[closers.length - 1] !== c) { following.push([...closers, c]); } });
      }
    }
    frontier = following;
  }
  return null;
}
/** The lines written after `content` so that nothing it opened runs past its end
 *  marker in any of the closing parsers (chatcore.export._closing_lines). */
export function closingLines(content, end) {
  if (!/[`~<$]/.test(content)) { return []; }
  const all = closingParsers().closing;
  const found = features(content);
  const budget = { left: MAX_PARSED_CHARS };
  for (let n = all.length; n > 0; n--) {
    const result = searchClosing(content, found, end, all.slice(0, n), n > 1 ? budget : null);
    if (result !== null) { return result; }
  }
  return [];
}
/** A file name as the export writes it (chatcore.export.escape_name). */
export function escapeName(name) {
  return name.replace(NAME_SPECIAL, (c) => (NAME_ESCAPED.indexOf(c) >= 0 ? '\\' + c : '&#' + c.codePointAt(0) + ';'));
}
// The image data pattern's base64 tail: V8 takes 5 ms of CPU per MB of data for its greedy
// loop, so a pattern that ends with it is read in two parts: its head (anchored at the
// start) by the regex, the tail by a search for a character outside the alphabet and "="
// (0.6 ms per MB) and for a "=" before the padding: what the whole pattern accepts, exactly.
const BASE64_TAIL = '[A-Za-z0-9+/]+=*$';
const NOT_BASE64 = /[^A-Za-z0-9+/=]/g;
function dataTest(pattern) {
  if (!pattern.startsWith('^') || !pattern.endsWith(BASE64_TAIL)) { const whole = new RegExp(pattern); return (data) => whole.test(data); }
  const head = new RegExp(pattern.slice(0, -BASE64_TAIL.length));
  return function (data) {
    const match = head.exec(data);
    if (!match) { return false; }
    const start = match[0].length;
    let end = data.length;
    while (end > start && data.charCodeAt(end - 1) === 0x3d) { end -= 1; } // the "=" padding
    if (end === start) { return false; }
    NOT_BASE64.lastIndex = start;
    if (NOT_BASE64.exec(data) !== null) { return false; }
    const pad = data.indexOf('=', start);
    return pad < 0 || pad >= end;
  };
}
let rules = null; // [schema, {imageData, imageMimes, mime}]
function attachmentRules() {
  const schema = config().schema;
  if (rules && rules[0] === schema) { return rules[1]; }
  const defs = (schema && schema.$defs) || {};
  const image = (defs.ImageAttachment || {}).properties;
  const documentMime = ((defs.DocumentAttachment || {}).properties || {}).mime;
  if (!image || !image.data || !image.mime || !documentMime) { throw new Error('the page config has no attachment schema'); }
  rules = [schema, { imageData: dataTest(image.data.pattern), imageMimes: image.mime.enum, mime: new RegExp(documentMime.pattern) }];
  return rules[1];
}
function count(attachment, key) {
  const value = attachment[key];
  if (value === undefined || value === null) { return null; }
  if (!Number.isSafeInteger(value) || value < 0 || value > MAX_COUNT) { throw new Error('attachment ' + key + ' is not a count'); }
  return String(value);
}
function documentFence(value) {
  let longest = 0;
  if (value.indexOf('`') >= 0) { (value.match(/`+/g) || []).forEach((run) => { if (run.length > longest) { longest = run.length; } }); }
  return '`'.repeat(Math.max(3, longest + 1));
}
/** One attachment's block, ending with its blank line (chatcore.export._attachment_lines);
 *  throws for one that is not of the stored shape. */
function attachmentLines(attachment) {
  if (!attachment || typeof attachment !== 'object' || Array.isArray(attachment)) { throw new Error('an attachment is not an object'); }
  const check = attachmentRules();
  const { kind, name, mime } = attachment;
  if (typeof name !== 'string') { throw new Error('attachment name is not a string'); }
  if (typeof mime !== 'string' || !check.mime.test(mime)) { throw new Error('attachment MIME type'); }
  const size = count(attachment, 'size');
  if (size === null) { throw new Error('attachment without a size'); }
  let attrs = 'mime=' + mime + ' size=' + size;
  if (kind === 'image') {
    const data = attachment.data;
    if (check.imageMimes.indexOf(mime) < 0 || typeof data !== 'string' || !check.imageData(data)) {
      throw new Error('an image is not a data: URL of png, jpeg, webp or gif');
    }
    ['width', 'height'].forEach((key) => { const value = count(attachment, key); if (value !== null) { attrs += ' ' + key + '=' + value; } });
    return [IMAGE_BEGIN + attrs + ' -->', '![' + escapeName(name) + '](' + data + ')', ''];
  }
  if (kind === 'document') {
    const { text: body, truncated } = attachment;
    if (typeof body !== 'string') { throw new Error('document text is not a string'); }
    if (!(truncated === undefined || truncated === null || truncated === true || truncated === false)) { throw new Error('document truncated is not a boolean'); }
    const tokens = count(attachment, 'tokens');
    attrs += (tokens !== null ? ' tokens=' + tokens : '') + (truncated === true ? ' truncated=1' : '');
    const fence = documentFence(body);
    return [DOCUMENT_BEGIN + attrs + ' -->', DOCUMENT_LABEL + escapeName(name) + '**', fence + DOCUMENT_INFO, body, fence, ''];
  }
  throw new Error('attachment kind');
}
function needsGap(begin, content) {
  const lead = [];
  const breaks = new RegExp(LINE_BREAKS.source, 'g');
  let start = 0;
  for (;;) {
    const match = breaks.exec(content);
    const line = content.slice(start, match ? match.index : content.length);
    if (!line.replace(/^[ \t]+|[ \t]+$/g, '')) { break; }
    lead.push(line);
    if (match === null) { break; }
    start = match.index + match[0].length;
  }
  if (!lead.length) { return false; }
  if (lead.every((line) => /^\p{L}/u.test(line))) { return false; }
  const md = closingParsers().noHtml;
  const joined = parse(md, begin + '\n' + lead.join('\n'));
  if (!joined.length || joined[0].type !== 'paragraph_open' || !joined[0].map || joined[0].map[0] !== 0) { return true; }
  if (joined[0].map[1] === 1) { return false; }
  const alone = parse(md, lead.join('\n'));
  const own = alone.length && alone[0].type === 'paragraph_open' && alone[0].map && alone[0].map[0] === 0 ? alone[0].map[1] : 0;
  return joined[0].map[1] - 1 !== own;
}
function endMarker(messages) {
  let marker = END_MARKER;
  let n = 0;
  while (messages.some((m) => m.content.indexOf(marker) >= 0)) { n += 1; marker = '<!-- chat:end:' + n + ' -->'; }
  return marker;
}
function messageLines(message, end) {
  const out = ['## ' + ROLE_HEADINGS[message.role], ''];
  if (Object.prototype.hasOwnProperty.call(message, 'reasoning')) {
    out.push(REASONING_BEGIN, ...REASONING_LABEL, ...message.reasoning.split('\n').map((line) => '> ' + line), REASONING_END, '');
  }
  const closers = closingLines(message.content, end);
  const begin = '<!-- chat:begin role=' + message.role + ' -->';
  const gap = needsGap(begin, message.content);
  out.push('<!-- chat:begin role=' + message.role + (gap ? ' gap=1' : '') + (closers.length ? ' close=' + closers.length : '') + ' -->');
  if (gap) { out.push(''); }
  out.push(message.content, ...closers, end, '');
  (message.attachments || []).forEach((attachment) => { out.push(...attachmentLines(attachment)); });
  return out;
}
function utcStamp(date) {
  const p = (n) => (n < 10 ? '0' : '') + n;
  return date.getUTCFullYear() + '-' + p(date.getUTCMonth() + 1) + '-' + p(date.getUTCDate()) + ' ' +
    p(date.getUTCHours()) + ':' + p(date.getUTCMinutes()) + ':' + p(date.getUTCSeconds()) + ' UTC';
}

/**
 * A conversation as Markdown, format 2 (3 with attachments): chatcore.export.to_markdown,
 * byte for byte. messages: [{role, content, reasoning?, attachments?}] (roles
 * system/user/assistant, content a string, attachments the stored ones: null or [] for
 * none); options: {model, title, system_prompt, exported_at (a Date)}. Call
 * loadMarkdownIt() (or useMarkdownIt) first. Throws an Error for attachments that are not
 * a list or an attachment not of the stored shape (an image that is not a data: URL of
 * png, jpeg, webp or gif is never written).
 */
export function toMarkdown(messages, options) {
  const opts = options || {};
  const exportedAt = opts.exported_at || new Date();
  const body = [];
  if (opts.system_prompt) { body.push({ role: 'system', content: opts.system_prompt }); }
  messages.forEach(function (m) {
    const entry = { role: m.role, content: m.content };
    if (m.role === 'assistant' && typeof m.reasoning === 'string' && m.reasoning) { entry.reasoning = m.reasoning; }
    const attachments = m.attachments;
    if (attachments !== undefined && attachments !== null) {
      if (!Array.isArray(attachments)) { throw new Error('attachments is not a list'); }
      if (attachments.length) { entry.attachments = attachments; }
    }
    body.push(entry);
  });
  const end = endMarker(body);
  const version = body.some((m) => m.attachments) ? ATTACHMENTS_FORMAT : PLAIN_FORMAT;
  const title = oneLine(opts.title === undefined ? 'Chat' : opts.title) || 'Chat';
  const out = ['# ' + title, '', '- Exported: ' + utcStamp(exportedAt), '- Model: ' + oneLine(opts.model === undefined ? '' : opts.model),
    '- Messages: ' + messages.length, '- Format: ' + version, ''];
  if (end !== END_MARKER) { out.push('<!-- chat:end-marker ' + end.slice(5, -4) + ' -->', ''); }
  body.forEach((message) => { out.push(...messageLines(message, end)); });
  return out.join('\n');
}
