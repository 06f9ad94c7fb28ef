// assets/js/retry.mjs: the Retry button waits out Retry-After and backs off.
import test from 'node:test';
import assert from 'node:assert/strict';
import { setConfig } from '../../assets/js/config.mjs';
import { noteFailure, noteSuccess, waitLeft } from '../../assets/js/retry.mjs';
import { pageConfig } from './helpers.mjs';

setConfig(pageConfig());
const limits = pageConfig().retry;

test('the limits are the server\'s (config.retry)', () => {
  assert.ok(limits.cap_s > 0 && limits.backoff_base_s > 0 && limits.backoff_max_s >= limits.backoff_base_s, JSON.stringify(limits));
});

test('Retry-After is honoured exactly, even without backoff', () => {
  const wait = noteFailure('a', { retry_after: 2 }, () => 0);
  assert.equal(wait, 2);
  assert.ok(waitLeft('a') > 1.9 && waitLeft('a') <= 2);
  noteSuccess('a');
  assert.equal(waitLeft('a'), 0);
});

test('consecutive failures back off exponentially (full jitter), up to the cap', () => {
  const top = () => 0.999999; // the jitter's upper end
  const waits = [1, 2, 3, 4, 5, 6, 7, 8].map(() => noteFailure('b', {}, top));
  for (let i = 1; i < waits.length; i++) { assert.ok(waits[i] >= waits[i - 1] - 1e-9, waits.join()); }
  assert.ok(Math.abs(waits[0] - limits.backoff_base_s) < 1e-3, waits.join());
  assert.ok(Math.abs(waits[1] - 2 * limits.backoff_base_s) < 1e-3, waits.join());
  assert.ok(waits[waits.length - 1] <= Math.min(limits.backoff_max_s, limits.cap_s) + 1e-9, waits.join());
  noteSuccess('b');
  assert.ok(noteFailure('b', {}, () => 0) >= limits.backoff_base_s / 2 - 1e-9, 'never an instant resend');
  const jittered = new Set([1, 2, 3].map(() => { noteSuccess('c'); return noteFailure('c', {}); }));
  assert.ok(jittered.size > 1, 'the wait is random, so retries do not come at a constant interval');
});

test('a Retry-After above the cap is still waited out (the server refused to)', () => {
  assert.equal(noteFailure('d', { retry_after: limits.cap_s + 10 }, () => 0), limits.cap_s + 10);
});
