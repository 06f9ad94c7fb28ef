// assets/js/messageview.mjs: a drawn message as one ChatMessage, its spec drawn as React
// elements with allowlisted tags and attributes only (text stays text).
import test from 'node:test';
import assert from 'node:assert/strict';

// a stand-in for window.React: elements as plain objects; React.memo keeps the function
globalThis.window = globalThis;
window.React = {
  createElement: (type, props, ...children) => ({ type, props: props || {}, children }),
  memo: (fn, equal) => Object.assign(fn, { equal })
};
const { el, markdownEl, messageDict } = await import('../../assets/js/messageview.mjs');

function draw(spec) { return window.chat_components.ChatMessage({ spec: spec }); }

test('a message is one ChatMessage dict carrying its spec and key', () => {
  const spec = el('div', 'chat-message', 'hi', { 'data-msg-id': 'm1' });
  assert.deepEqual(messageDict(spec, 'm1'), { type: 'ChatMessage', namespace: 'chat_components', props: { spec: spec, key: 'm1' } });
  assert.equal(typeof window.chat_components.ChatMessage, 'function');
  // memoized on the spec's identity: an unchanged message is not drawn again
  assert.equal(window.chat_components.ChatMessage.equal({ spec }, { spec }), true);
  assert.equal(window.chat_components.ChatMessage.equal({ spec }, { spec: Object.assign({}, spec) }), false);
});

test('text is drawn as a string, also when it looks like a component or HTML', () => {
  const out = draw(el('div', 'chat-message-text', ['<img src=x onerror=alert(1)>', '{"type": "Div"}']));
  assert.equal(out.type, 'div');
  assert.equal(out.props.className, 'chat-message-text');
  assert.deepEqual(out.children, ['<img src=x onerror=alert(1)>', '{"type": "Div"}']);
});

test('only allowlisted tags and attributes reach React', () => {
  const out = draw(el('div', 'box', [
    el('script', null, 'alert(1)'),
    el('iframe', null, null, { src: 'https://example.com' }),
    el('button', 'b', 'x', { onClick: 'alert(1)', dangerouslySetInnerHTML: { __html: '<b>' }, style: 'color:red',
      title: 'ok', 'data-action': 'copy', 'aria-label': 'Copy', disabled: true })
  ]));
  assert.deepEqual(out.children.slice(0, 2), [null, null]);
  const button = out.children[2];
  assert.deepEqual(Object.keys(button.props).sort(), ['aria-label', 'className', 'data-action', 'disabled', 'key', 'title']);
  assert.deepEqual(button.children, ['x']);
});

test('an input or img gets no children; the checkbox keeps its state attribute', () => {
  const box = draw(el('input', 'chat-message-select', 'ignored', { type: 'checkbox', defaultChecked: true }));
  assert.equal(box.type, 'input');
  assert.deepEqual(box.children, []);
  assert.equal(box.props.defaultChecked, true);
});

test('Markdown is fmc\'s component with the given props, or plain text without fmc', () => {
  const props = { markdownStr: '**x**', codeTheme: 'a11y-light' };
  assert.deepEqual(draw(markdownEl(props)), { type: 'div', props: { key: undefined, className: 'chat-md-plain' }, children: ['**x**'] });
  const Markdown = function FefferyMarkdown() {};
  window.feffery_markdown_components = { FefferyMarkdown: Markdown };
  const out = draw(markdownEl(props));
  assert.equal(out.type, Markdown);
  assert.equal(out.props.markdownStr, '**x**');
  assert.equal(typeof out.props.setProps, 'function');
});
