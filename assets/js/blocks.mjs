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
 * numbering, a reference link defined further down) never stays on screen. A code block
 * still open at the tail is cut every CODE_LINES lines (the parts drawn joined), so a
 * long growing code block is not highlighted whole on every paint.
 */

const FENCE = /^ {0,3}(`{3,}|~{3,})/;

/** A new scan state: {pos: characters scanned, fence: the open fence or null,
 *  stable: the split position (0 = nothing is final yet); while a fence is open,
 *  fenceLine: its opening line and codeLines: the complete lines inside it}. */
export function newSplit() { return { pos: 0, fence: null, stable: 0, fenceLine: '', codeLines: 0 }; }

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
      } else {
        split.codeLines += 1;
      }
    } else {
      const open = FENCE.exec(line);
      if (open && !(open[1][0] === '`' && line.slice(open[0].length).indexOf('`') >= 0)) {
        split.fence = open[1];
        split.fenceLine = line + '\n';
        split.codeLines = 0;
      }
      else if (!line.trim()) { split.stable = end + 1; }
    }
    start = end + 1;
  }
  split.pos = start;
  return split.stable;
}

/** Finished text gathered into one block until it reaches this many characters: a
 *  block is re-rendered while it fills, then never again. */
export const BLOCK_CHARS = 400;
/** A code block still open at the tail is cut into blocks of this many lines: a long
 *  growing code block then costs one small highlighted render per paint, not a whole one. */
export const CODE_LINES = 30;

/** A new block state for one growing text: {split, blocks: [final text], covered: chars
 *  of the text in blocks, reopen: the fence line the tail starts with after a cut, cutAt:
 *  the code lines of the open fence already in blocks, cuts: {block index: true} for the
 *  blocks that end inside a code block}. */
export function newBlocks() { return { split: newSplit(), blocks: [], covered: 0, reopen: '', cutAt: 0, cuts: {} }; }

/** Move text[covered, upto) (after the fence line it reopens) into the blocks, with `close` after it. */
function take(state, text, upto, close) {
  const piece = state.reopen + text.slice(state.covered, upto) + close;
  const blocks = state.blocks.slice();
  const last = blocks.length - 1;
  if (last >= 0 && !state.cuts[last] && !state.reopen && blocks[last].length < BLOCK_CHARS) { blocks[last] += piece; } else { blocks.push(piece); }
  if (close) { state.cuts[blocks.length - 1] = true; }
  state.blocks = blocks;
  state.covered = upto;
}

/**
 * The growing `text` (the same text, longer) for display as {blocks, tail, cuts}: the
 * blocks are the finished part (each final once the next one starts), the tail is what
 * may still change. `blocks.join('') + tail === text`, except where a long code block
 * still open at the tail was cut (every CODE_LINES lines): the cut block ends with a
 * closing fence and the next part starts with the opening fence line again (`cuts`
 * marks the cut blocks, drawn joined). `blocks` is a new array only when it changed, and
 * every block but the last keeps its identity (the view re-renders only what changed).
 */
export function growBlocks(state, text) {
  const split = state.split;
  const stable = advanceSplit(split, text);
  if (stable > state.covered) {
    take(state, text, stable, '');
    state.reopen = '';
    state.cutAt = 0;
  }
  if (split.fence && split.codeLines - state.cutAt >= CODE_LINES) {
    take(state, text, split.pos, split.fenceLine.match(/^ */)[0] + split.fence + '\n');
    state.reopen = split.fenceLine;
    state.cutAt = split.codeLines;
  }
  return { blocks: state.blocks, tail: state.reopen + text.slice(state.covered), cuts: state.cuts };
}
