/**
 * retry.mjs — the Retry button's wait (README "Retries"; the server's own retries are
 * chatcore/client.py RetryPolicy). After a failed reply the button stays disabled with
 * a countdown ("Retry in N s") until the upstream's Retry-After (error.retry_after)
 * has passed, and consecutive failures of one conversation wait longer each time:
 * exponential backoff with "equal jitter" (AWS Architecture Blog, "Exponential Backoff
 * And Jitter", 2015) — uniform in [c/2, c] with c = min(backoff_max_s, backoff_base_s ·
 * 2^(n-1)) for the n-th consecutive failure — with the limits of config.retry, the
 * numbers the server uses. Never an instant resend: a press right after a failure
 * still waits c/2 (the server's own retries use full jitter; the user's come after it
 * already failed). A reply that succeeds resets it.
 */
import { config, id, text } from './config.mjs';
import { setProps } from './dash.mjs';

const gates = {}; // conversation id → {failures, notBefore (ms since epoch)}
let ticker = 0;
let shownFor = null;

/** A reply of conversation `convId` failed with `error` ({retry_after?} seconds). */
export function noteFailure(convId, error, random) {
  const limits = config().retry || {};
  const entry = gates[convId] || { failures: 0, notBefore: 0 };
  entry.failures += 1;
  const ceiling = Math.min(limits.backoff_max_s || 0, (limits.backoff_base_s || 0) * Math.pow(2, entry.failures - 1));
  const backoff = ceiling / 2 + (random || Math.random)() * ceiling / 2;
  const asked = Math.max(0, Number(error && error.retry_after) || 0);
  const wait = Math.min(Math.max(asked, backoff), Math.max(limits.cap_s || 0, asked));
  entry.notBefore = Date.now() + wait * 1000;
  gates[convId] = entry;
  return wait;
}
/** A reply of `convId` arrived: the next failure starts the backoff again. */
export function noteSuccess(convId) { delete gates[convId]; }
/** Seconds until Retry may send for `convId` (0 when it may now). */
export function waitLeft(convId) {
  const entry = gates[convId];
  return entry ? Math.max(0, (entry.notBefore - Date.now()) / 1000) : 0;
}

function paint() {
  const left = shownFor ? waitLeft(shownFor) : 0;
  setProps(id('RETRY_BUTTON'), left > 0
    ? { disabled: true, children: text('retry_in', { n: Math.ceil(left) }) }
    : { disabled: false, children: text('retry') });
  if (left <= 0 && ticker) { window.clearInterval(ticker); ticker = 0; }
}
/** Draw the Retry button for the open conversation `convId` (a countdown while it waits). */
export function showRetry(convId) {
  shownFor = convId;
  paint();
  if (waitLeft(convId) > 0 && !ticker) { ticker = window.setInterval(paint, 250); }
}
