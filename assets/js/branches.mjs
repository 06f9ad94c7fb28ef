/**
 * branches.mjs — the versions of a conversation (pure; tests/js/branches.test.mjs).
 *
 * `conversation.messages` is always the branch on screen: what is drawn, sent, exported
 * and searched. Edit & resend and Regenerate keep what they replace: the messages from
 * the changed one to the end (a "tail") are saved as one version, on the message before
 * them (or, for the first message, on the conversation), in `branches`:
 *
 *   holder.branches = { current: i, tails: [tail_0, …, tail_n-1] }
 *
 * where tail_k is the list of messages of version k from that point on (each message may
 * hold branches of its own, so versions nest), and tails[current] is null: that version
 * is the one on screen, `messages.slice(index)`. Switching version j swaps the tail on
 * screen into its slot and brings tail_j out of its slot. The shape is chatcore/schema.py
 * Branches (storage format 5, docs/storage.md). Functions never change their input:
 * they return copies, sharing what did not change (the storage writes by identity).
 */

/** The object that holds the versions of the tail starting at `index`: the message
 *  before it, or the conversation for the first message. */
function holderOf(conversation, index) {
  return index === 0 ? conversation : conversation.messages[index - 1];
}
function validBranches(branches) {
  return !!(branches && Array.isArray(branches.tails) && branches.tails.length > 1 &&
    Number.isInteger(branches.current) && branches.current >= 0 && branches.current < branches.tails.length &&
    branches.tails[branches.current] === null);
}

/** The versions of the message at `index`: {current (0-based), count}, or null when it
 *  has none (one version). */
export function versionsAt(conversation, index) {
  const messages = (conversation && conversation.messages) || [];
  if (index < 0 || index >= messages.length) { return null; }
  const holder = holderOf(conversation, index);
  const branches = holder && holder.branches;
  return validBranches(branches) ? { current: branches.current, count: branches.tails.length } : null;
}

function withHolder(conversation, index, branches, messages) {
  const next = Object.assign({}, conversation, { messages: messages });
  if (index === 0) {
    next.branches = branches;
  } else {
    next.messages = messages.slice();
    next.messages[index - 1] = Object.assign({}, messages[index - 1], { branches: branches });
  }
  return next;
}

/**
 * Keep the messages from `index` to the end as a version and take them off screen (the
 * caller then appends the new version's first message: the edited one, or the reply
 * being regenerated). The new version becomes the current one, the last in the list.
 * @returns the new conversation; `conversation` itself is unchanged.
 */
export function fork(conversation, index) {
  const messages = conversation.messages || [];
  if (index < 0 || index >= messages.length) { return conversation; }
  const holder = holderOf(conversation, index);
  const old = validBranches(holder && holder.branches) ? holder.branches : { current: 0, tails: [null] };
  const tails = old.tails.slice();
  tails[old.current] = messages.slice(index);
  tails.push(null);
  return withHolder(conversation, index, { current: tails.length - 1, tails: tails }, messages.slice(0, index));
}

/**
 * Show version `to` (0-based) of the message at `index`: the tail on screen goes back
 * into its slot, version `to`'s tail comes out of its slot.
 * @returns the new conversation, or `conversation` itself when there is nothing to
 *   switch (no versions there, `to` out of range or already shown).
 */
export function switchVersion(conversation, index, to) {
  const messages = conversation.messages || [];
  const info = versionsAt(conversation, index);
  if (!info || to === info.current || to < 0 || to >= info.count) { return conversation; }
  const holder = holderOf(conversation, index);
  const tails = holder.branches.tails.slice();
  const coming = tails[to];
  if (!Array.isArray(coming) || !coming.length) { return conversation; }
  tails[info.current] = messages.slice(index);
  tails[to] = null;
  return withHolder(conversation, index, { current: to, tails: tails }, messages.slice(0, index).concat(coming));
}

/** Every message of every version (on screen and kept), for searches and counts. */
export function allMessages(conversation) {
  const out = [];
  function walk(holder) {
    const branches = holder && holder.branches;
    if (!branches || !Array.isArray(branches.tails)) { return; }
    branches.tails.forEach((tail) => { (tail || []).forEach((m) => { out.push(m); walk(m); }); });
  }
  (conversation.messages || []).forEach((m) => { out.push(m); walk(m); });
  walk(conversation);
  return out;
}
