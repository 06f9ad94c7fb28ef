/**
 * streamview.mjs — StreamMarkdown, the Markdown of the reply being streamed and of its
 * reasoning: one React component per channel ('reply', 'reasoning') that stream.mjs
 * paints directly (paintStream), not through Dash. Why: a Dash set_props costs three
 * store dispatches that re-check every mounted component (≈ 10 ms on a chat page) before
 * anything is drawn, and the first paint of a reply would wait for them.
 *
 * What it draws: the text's finished blocks (blocks.mjs growBlocks: each block a memoized
 * fmc FefferyMarkdown, rendered while it fills and never again) and the growing tail
 * (rendered on every paint). The component is mounted once as a Dash component dict in
 * #chat-stream-markdown and #chat-stream-reasoning-markdown (mountStreamViews); it keeps
 * no text of its own: a paint before it mounted is drawn when it mounts.
 */
import { config, id } from './config.mjs';
import { setProps } from './dash.mjs';
import { markdownElement, onMarkdown } from './messageview.mjs';
import { CLS } from './classes.mjs';

const NAMESPACE = 'chat_components';
const EMPTY = { blocks: [], tail: '', cuts: {} };
// channel -> {view: {blocks, tail}, set: the mounted component's state setter or null}
const channels = { reply: { view: EMPTY, set: null }, reasoning: { view: EMPTY, set: null } };
let codeTheme = null;
let mdProps = null; // fmc props shared by every block (identity changes with the theme)

function markdownBase() {
  if (!mdProps) { mdProps = Object.assign({}, config().markdown_props || {}, codeTheme ? { codeTheme: codeTheme } : {}); }
  return mdProps;
}

/** The text of `channel` is now `blocks` (final, in order; `cuts`: {index: true} for a
 *  block that ends inside a code block continued by the next, blocks.mjs growBlocks) +
 *  `tail`; drawn at once (ReactDOM.flushSync: the first text of a reply is on screen
 *  when this returns). */
export function paintStream(channel, blocks, tail, cuts) {
  const entry = channels[channel];
  entry.view = { blocks: blocks, tail: tail, cuts: cuts || {} };
  if (!entry.set) { return; }
  const flushSync = window.ReactDOM && window.ReactDOM.flushSync;
  if (flushSync) { flushSync(() => entry.set(entry.view)); } else { entry.set(entry.view); }
}
/** Empty both channels (the reply was stored or dropped). */
export function clearStreams() {
  Object.keys(channels).forEach(function (channel) { if (channels[channel].view !== EMPTY) { paintStream(channel, [], '', {}); } });
}
/** The code theme of the streamed Markdown (theme.mjs: light or dark). */
export function setStreamTheme(theme) {
  if (theme === codeTheme) { return; }
  codeTheme = theme;
  redrawAll();
}
/** Draw both channels again (new fmc props: the theme changed or fmc has loaded). */
function redrawAll() {
  mdProps = null;
  Object.keys(channels).forEach(function (channel) { const c = channels[channel]; if (c.set) { c.set(Object.assign({}, c.view)); } });
}

let component = null;
function define() {
  if (component || !globalThis.window || !window.React) { return component; }
  const React = window.React;
  // a block cut inside a code block is drawn joined to the next part (chat.css .chat-stream-cut)
  const Block = React.memo(function StreamBlock(props) {
    return markdownElement(React, Object.assign({}, props.md, { markdownStr: props.text }, props.cut ? { className: CLS.streamCut } : {}));
  }, (before, after) => before.text === after.text && before.md === after.md && before.cut === after.cut);
  component = function StreamMarkdown(props) {
    const entry = channels[props.channel];
    const [view, setView] = React.useState(entry.view);
    React.useEffect(function () {
      entry.set = setView;
      setView(entry.view); // what was painted before the mount
      return function () { if (entry.set === setView) { entry.set = null; } };
    }, [entry]);
    const md = markdownBase();
    const blocks = view.blocks.map((text, i) => React.createElement(Block, { key: i, text: text, md: md, cut: !!view.cuts[i] }));
    return React.createElement(React.Fragment, null,
      React.createElement('div', { id: props.doneId, className: CLS.streamBlocks }, blocks),
      // the tail's holder is always there (stream.mjs markTail finds it by id)
      React.createElement('div', { id: props.tailId, className: CLS.streamTailPart }, markdownElement(React, Object.assign({}, md, { markdownStr: view.tail }))));
  };
  window[NAMESPACE] = Object.assign(window[NAMESPACE] || {}, { StreamMarkdown: component });
  onMarkdown(redrawAll); // what was drawn as plain text, drawn again as Markdown
  return component;
}

let mounted = false;
/** Put the two StreamMarkdown components into the page (once, after Dash has drawn the layout). */
export function mountStreamViews() {
  if (mounted || !define() || !document.getElementById(id('STREAM_MARKDOWN'))) { return; }
  mounted = true;
  setProps(id('STREAM_MARKDOWN'), { children: [{ type: 'StreamMarkdown', namespace: NAMESPACE,
    props: { channel: 'reply', doneId: id('STREAM_MARKDOWN_DONE'), tailId: id('STREAM_MARKDOWN_TAIL') } }] });
  setProps(id('STREAM_REASONING_MARKDOWN'), { children: [{ type: 'StreamMarkdown', namespace: NAMESPACE,
    props: { channel: 'reasoning' } }] });
}
