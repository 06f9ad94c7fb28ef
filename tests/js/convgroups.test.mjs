// assets/js/convgroups.mjs: the sidebar's pinned group and date groups.
import test from 'node:test';
import assert from 'node:assert/strict';
import { daysAgo, groupConversations } from '../../assets/js/convgroups.mjs';
import { pageConfig } from './helpers.mjs';

const texts = pageConfig().texts;
const label = (key) => texts['en-US'][key];
const HOUR = 3600 * 1000;
const DAY = 24 * HOUR;
// a fixed "now": 2026-12-02 15:00 local time
const now = new Date(2026, 11, 2, 15, 0, 0).getTime();
const at = (y, m, d, h = 12) => new Date(y, m - 1, d, h).getTime();

test('every group label is a UI text in both locales', () => {
  for (const key of ['group_pinned', 'group_today', 'group_yesterday', 'group_7_days', 'group_30_days', 'group_older']) {
    assert.ok(texts['en-US'][key] && texts['zh-CN'][key], key);
  }
});

test('days are counted by the local calendar, not by 24-hour spans', () => {
  assert.equal(daysAgo(at(2026, 12, 2, 0), now), 0);
  assert.equal(daysAgo(at(2026, 12, 1, 23), now), 1); // 16 hours ago, but yesterday
  assert.equal(daysAgo(now + HOUR, now), 0); // a clock ahead of ours counts as today
});

test('pinned first, then Today, Yesterday, 7 and 30 days, then months, newest first', () => {
  const conversations = [
    { id: 'old-month', updated_at: at(2026, 9, 15) },
    { id: 'today-1', updated_at: now - HOUR },
    { id: 'pinned-old', updated_at: at(2025, 1, 1), pinned: true },
    { id: 'yesterday', updated_at: at(2026, 12, 1, 9) },
    { id: 'today-2', updated_at: now - 2 * HOUR },
    { id: 'week', updated_at: now - 5 * DAY },
    { id: 'month', updated_at: now - 20 * DAY },
    { id: 'oct', updated_at: at(2026, 10, 3) },
    { id: 'no-time', updated_at: 0 },
  ];
  const groups = groupConversations(conversations, now, label, 'en-US');
  assert.deepEqual(groups.map((g) => g.label), ['Pinned', 'Today', 'Yesterday', 'Previous 7 days', 'Previous 30 days', 'October 2026', 'September 2026', 'Older']);
  assert.deepEqual(groups.map((g) => g.items.map((c) => c.id)), [['pinned-old'], ['today-1', 'today-2'], ['yesterday'], ['week'], ['month'], ['oct'], ['old-month'], ['no-time']]);
});

test('month names follow the locale', () => {
  const groups = groupConversations([{ id: 'a', updated_at: at(2026, 3, 5) }], now, (k) => texts['zh-CN'][k], 'zh-CN');
  assert.equal(groups[0].label, '2026年3月');
});

test('no conversations, no groups; an unpinned conversation is not in Pinned', () => {
  assert.deepEqual(groupConversations([], now, label, 'en-US'), []);
  const groups = groupConversations([{ id: 'a', updated_at: now, pinned: false }], now, label, 'en-US');
  assert.deepEqual(groups.map((g) => g.key), ['today']);
});
