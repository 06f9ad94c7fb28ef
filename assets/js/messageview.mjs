/**
 * messageview.mjs — ChatMessage, the one Dash component a drawn message is: its own parts
 * (avatar, role line, text, attachments, toolbar) are plain React elements from a spec
 * built by render.mjs, and its Markdown is fmc's FefferyMarkdown rendered as a React
 * element. Why: every Dash component on the page costs each Dash update (each of the
 * renderer's store updates re-runs the selector of every mounted component) and a mount;
 * a message as ~12 Dash components made every commit of a 40-message conversation cost
 * ~25 ms of main thread before anything changed, and re-mounting a message ~2.5 ms.
 *
 * Spec (JSON, made only by render.mjs): a string (drawn as text: React escapes it), null,
 * {t: tag, c: className, a: attributes, k: children spec or list}, or {md: fmc props}.
 * Tags and attribute names are allowlisted (no event handlers, no raw HTML): text and
 * values from stored messages are strings only.
 */
import { CLS } from './classes.mjs';
import { config } from './config.mjs';
import { loadScript } from './dash.mjs';

const NAMESPACE = 'chat_components';
const TAGS = new Set(['div', 'span', 'button', 'details', 'summary', 'img', 'input', 'label']);
const ATTR = /^(data-[a-z-]+|aria-[a-z]+|title|disabled|src|alt|open|role|type|defaultChecked|tabIndex)$/;

/** A spec element: tag `t`, class `className`, children (spec or list), attributes. */
export function el(t, className, children, attrs) {
  return { t: t, c: className || undefined, k: children === undefined ? null : children, a: attrs || undefined };
}
/** A spec of fmc's Markdown with `props` (FefferyMarkdown's props). */
export function markdownEl(props) { return { md: props }; }
/** The Dash component dict of a message drawn from `spec` (React key `key`). */
export function messageDict(spec, key) {
  register();
  return { type: 'ChatMessage', namespace: NAMESPACE, props: { spec: spec, key: key } };
}

function noop() {}
/** fmc's FefferyMarkdown with `props` as a React element (outside Dash: no setProps);
 *  its text as plain text while fmc is not loaded (loadMarkdown). */
export function markdownElement(React, props, key) {
  const Markdown = markdownReady() && window.feffery_markdown_components.FefferyMarkdown;
  if (!Markdown) { return React.createElement('div', { key: key, className: CLS.markdownPlain }, String(props.markdownStr || '')); }
  return React.createElement(Markdown, Object.assign({ key: key, setProps: noop }, props));
}

// fmc's bundle is not loaded with the page (components/bundles.py): loadMarkdown fetches it
// on first need; whoever drew plain text meanwhile is told when it is there (onMarkdown).
let markdownLoad = null;
const markdownWaiters = [];
/** Whether fmc's FefferyMarkdown can be drawn now. */
export function markdownReady() { return !!(globalThis.window && window.feffery_markdown_components && window.feffery_markdown_components.FefferyMarkdown); }
/** Call `fn` once fmc has loaded (never if it is loaded already). */
export function onMarkdown(fn) { markdownWaiters.push(fn); }
/** Load fmc's bundle once, from the page config's bundle_urls.markdown (a failed load may be tried again). */
export function loadMarkdown() {
  const url = (config().bundle_urls || {}).markdown;
  if (markdownLoad || markdownReady() || !url) { return; }
  markdownLoad = loadScript(url, 'feffery_markdown_components').then(function () {
    markdownWaiters.splice(0).forEach((fn) => fn());
  }, function () { markdownLoad = null; });
}
function toElement(React, node, key) {
  if (node === null || node === undefined || node === false) { return null; }
  if (typeof node === 'string' || typeof node === 'number') { return String(node); }
  if (node.md) { return markdownElement(React, node.md, key); }
  if (!TAGS.has(node.t)) { return null; }
  const props = { key: key };
  if (node.c) { props.className = node.c; }
  Object.keys(node.a || {}).forEach(function (name) { if (ATTR.test(name)) { props[name] = node.a[name]; } });
  const kids = node.k === null || node.k === undefined ? [] : (Array.isArray(node.k) ? node.k : [node.k]);
  if (node.t === 'img' || node.t === 'input') { return React.createElement(node.t, props); }
  return React.createElement.apply(null, [node.t, props].concat(kids.map((kid, i) => toElement(React, kid, i))));
}

let registered = false;
/** Make window.chat_components.ChatMessage (once; Dash resolves window[namespace][type]). */
export function register() {
  if (registered || !globalThis.window || !window.React) { return; }
  const React = window.React;
  const ChatMessage = React.memo(function ChatMessage(props) { return toElement(React, props.spec, undefined); },
    (before, after) => before.spec === after.spec);
  window[NAMESPACE] = Object.assign(window[NAMESPACE] || {}, { ChatMessage: ChatMessage });
  registered = true;
}
