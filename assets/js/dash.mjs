/**
 * dash.mjs — the Dash glue every module shares: no_update, set_props, which inputs
 * triggered a callback, the global feedback message, ids for new records.
 */
import { id } from './config.mjs';

export function noUpdate() { return window.dash_clientside.no_update; }
export function setProps(componentId, props) {
  if (componentId && globalThis.window && window.dash_clientside && window.dash_clientside.set_props) {
    window.dash_clientside.set_props(componentId, props);
  }
}
/** prop ids ("chat-settings-button.nClicks") that triggered the running callback. */
export function triggered() {
  const context = window.dash_clientside.callback_context || {};
  return (context.triggered || []).map((t) => t.prop_id);
}
export function uid(prefix) {
  return prefix + '-' + Date.now().toString(36) + '-' + Math.random().toString(36).slice(2, 8);
}
/** Outputs are applied after the callback returns: run `fn` two frames later. */
export function afterRender(fn) {
  window.requestAnimationFrame(() => window.requestAnimationFrame(fn));
}
/** Load the classic script at `url` once; resolves with globalThis[`global`] (at once when
 *  it is there already), rejects when it does not load or does not define it. */
export function loadScript(url, global) {
  if (globalThis[global]) { return Promise.resolve(globalThis[global]); }
  return new Promise(function (resolve, reject) {
    if (!url || typeof document === 'undefined') { reject(new Error(global + ' is not available')); return; }
    const script = document.createElement('script');
    script.src = url;
    script.async = true;
    script.onload = () => (globalThis[global] ? resolve(globalThis[global]) : reject(new Error(global + ' did not load')));
    script.onerror = () => { script.remove(); reject(new Error(global + ' did not load')); };
    document.head.appendChild(script);
  });
}
export function isSet(value) { return value !== undefined && value !== null && value !== ''; }
/** A short message at the top of the page (antd message; kind: success|info|warning|error). */
export function toast(kind, content) {
  setProps(id('GLOBAL_MESSAGE'), {
    children: {
      type: 'AntdMessage', namespace: 'feffery_antd_components',
      props: { content: content, type: kind, key: uid('m') }
    }
  });
}
