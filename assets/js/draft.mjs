/**
 * draft.mjs — the text being typed survives a reload: kept in localStorage (this
 * browser only, never sent anywhere) as it is typed, put back into the empty input
 * when the page opens, and forgotten once it is sent.
 */
import { id } from './config.mjs';
import { setProps } from './dash.mjs';

const KEY = 'dash-chat-draft'; // localStorage key (the page's own; no server counterpart)
let restored = false;

function storage() {
  try { return window.localStorage; } catch (e) { return null; } // blocked storage: no drafts
}
/** Remember the input's text (on every input event). */
export function keepDraft(value) {
  const local = storage();
  if (!local) { return; }
  try {
    if (value) { local.setItem(KEY, value); } else { local.removeItem(KEY); }
  } catch (e) { /* full: the draft is not kept, nothing else changes */ }
}
/** The message was sent: forget the draft. */
export function dropDraft() { keepDraft(''); }
/** Once, when the page opens: put the kept draft into the input if it is empty. */
export function restoreDraft() {
  if (restored) { return; }
  restored = true;
  const local = storage();
  const draft = local ? local.getItem(KEY) : null;
  const input = document.getElementById(id('INPUT'));
  if (draft && (!input || !input.value)) { setProps(id('INPUT'), { value: draft }); }
}
