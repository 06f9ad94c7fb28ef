/**
 * blocks.mjs — where a growing Markdown text can be split so that the part before the
 * split never changes again (pure; tests/js/blocks.test.mjs).
 *
 * While a reply streams, stream.mjs draws the finished top-level blocks once and
 * re-renders only the growing tail: a 50,000-character reply then costs one small
 * Markdown render per paint instead of a full one. The split is after the last blank
 * line that is outside a fenced code block (CommonMark §4.5: ``` or ~~~ fences of 3+
 * characters, indented at most 3 spaces, closed by a fence of the same character at
 * least as long). At the end of the reply the whole text is rendered once (the stored
 * message), so what a split renders differently while streaming (a loose list's
 * numbering, a reference link defined further down) never stays on screen.
 */

const FENCE = /^ {0,3}(`{3,}|~{3,})/;

/** A new scan state: {pos: characters scanned, fence: the open fence or null,
 *  stable: the split position (0 = nothing is final yet)}. */
export function newSplit() { return { pos: 0, fence: null, stable: 0 }; }

/**
 * Advance `split` over the complete lines of `text` not scanned yet (`text` only ever
 * grows: the same reply, longer) and return the split position: `text.slice(0, stable)`
 * is final, `text.slice(stable)` is the tail still growing.
 */
export function advanceSplit(split, text) {
  let start = split.pos;
  for (;;) {
    const end = text.indexOf('\n', start);
    if (end < 0) { break; }
    const line = text.slice(start, end);
    if (split.fence) {
      const close = FENCE.exec(line);
      if (close && close[1][0] === split.fence[0] && close[1].length >= split.fence.length && !line.slice(close[0].length).trim()) {
        split.fence = null;
      }
    } else {
      const open = FENCE.exec(line);
      if (open && !(open[1][0] === '`' && line.slice(open[0].length).indexOf('`') >= 0)) { split.fence = open[1]; }
      else if (!line.trim()) { split.stable = end + 1; }
    }
    start = end + 1;
  }
  split.pos = start;
  return split.stable;
}

/** Finished text gathered into one block until it reaches this many characters: a
 *  block is re-rendered while it fills, then never again. */
export const BLOCK_CHARS = 2000;

/** A new block state for one growing text: {split, blocks: [final text], covered: chars in blocks}. */
export function newBlocks() { return { split: newSplit(), blocks: [], covered: 0 }; }

/**
 * The growing `text` (the same text, longer) as {blocks, tail}: `blocks.join('') + tail
 * === text`; the blocks are the finished part (each final once the next one starts),
 * the tail is what may still change. `blocks` is a new array only when it changed, and
 * every block but the last keeps its identity (the view re-renders only what changed).
 */
export function growBlocks(state, text) {
  const stable = advanceSplit(state.split, text);
  if (stable > state.covered) {
    const piece = text.slice(state.covered, stable);
    const blocks = state.blocks.slice();
    const last = blocks.length - 1;
    if (last >= 0 && blocks[last].length < BLOCK_CHARS) { blocks[last] += piece; } else { blocks.push(piece); }
    state.blocks = blocks;
    state.covered = stable;
  }
  return { blocks: state.blocks, tail: text.slice(state.covered) };
}
