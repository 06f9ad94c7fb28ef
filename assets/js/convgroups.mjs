/**
 * convgroups.mjs — the sidebar's order and groups (pure; tests/js/convgroups.test.mjs).
 *
 * Pinned conversations come first (their own group), then the rest newest first by
 * `updated_at`, grouped by the local calendar day of the browser the way ChatGPT's
 * sidebar is: Today, Yesterday, Previous 7 days, Previous 30 days, then one group per
 * month ("November 2026", in the page's locale), then "Older" for conversations with no
 * usable time.
 */

const DAY_MS = 24 * 60 * 60 * 1000;

function startOfDay(ms) {
  const d = new Date(ms);
  d.setHours(0, 0, 0, 0);
  return d.getTime();
}
/** Whole local calendar days between `ms` and `now` (0 = today, 1 = yesterday, …);
 *  a time in the future counts as today. DST-safe (rounds the 23/25-hour days). */
export function daysAgo(ms, now) {
  return Math.max(0, Math.round((startOfDay(now) - startOfDay(ms)) / DAY_MS));
}

/**
 * The groups of `conversations` as drawn.
 *
 * @param conversations [{id, title, updated_at (ms since epoch), pinned?}, …] in any order
 * @param now the current time in ms (Date.now())
 * @param label (key, params) → text: keys group_pinned, group_today, group_yesterday,
 *   group_7_days, group_30_days, group_older; a month's label comes from
 *   Intl.DateTimeFormat(locale, {year: 'numeric', month: 'long'})
 * @param locale a BCP 47 tag (en-US, zh-CN)
 * @returns [{key, label, items: [conversation, …]}, …] — groups in display order, each
 *   newest first; empty groups are left out.
 */
export function groupConversations(conversations, now, label, locale) {
  const sorted = (conversations || []).slice().sort((a, b) => (Number(b.updated_at) || 0) - (Number(a.updated_at) || 0));
  const groups = [];
  const byKey = {};
  function add(key, text, conversation) {
    if (!byKey[key]) { byKey[key] = { key: key, label: text, items: [] }; groups.push(byKey[key]); }
    byKey[key].items.push(conversation);
  }
  let monthFormat = null;
  sorted.forEach(function (conversation) {
    if (conversation.pinned === true) { add('pinned', label('group_pinned'), conversation); return; }
    const ms = Number(conversation.updated_at);
    if (!isFinite(ms) || ms <= 0) { add('older', label('group_older'), conversation); return; }
    const days = daysAgo(ms, now);
    if (days === 0) { add('today', label('group_today'), conversation); }
    else if (days === 1) { add('yesterday', label('group_yesterday'), conversation); }
    else if (days <= 7) { add('7days', label('group_7_days'), conversation); }
    else if (days <= 30) { add('30days', label('group_30_days'), conversation); }
    else {
      const d = new Date(ms);
      monthFormat = monthFormat || new Intl.DateTimeFormat(locale || 'en-US', { year: 'numeric', month: 'long' });
      add('month-' + d.getFullYear() + '-' + (d.getMonth() + 1), monthFormat.format(d), conversation);
    }
  });
  // Pinned on top whatever their time; the date groups follow in time order already.
  groups.sort((a, b) => (a.key === 'pinned' ? -1 : 0) - (b.key === 'pinned' ? -1 : 0));
  return groups;
}
