/**
 * theme.mjs — light/dark: the reader's choice in prefs (theme), else the system's
 * (prefers-color-scheme); the page class, the antd algorithm and the code theme.
 */
import { id } from './config.mjs';
import { setProps } from './dash.mjs';
import { state } from './state.mjs';
import { CLS } from './classes.mjs';

export function isDark() {
  const theme = state.prefs && state.prefs.theme;
  if (theme) { return theme === 'dark'; }
  return !!(window.matchMedia && window.matchMedia('(prefers-color-scheme: dark)').matches);
}
export function codeTheme() { return isDark() ? 'a11y-dark' : 'gh-colors'; }
/** Apply the theme to the page; returns the antd algorithm ('dark' | 'default'). */
export function applyTheme() {
  const dark = isDark();
  document.documentElement.classList.toggle(CLS.dark, dark);
  setProps(id('STREAM_MARKDOWN_DONE'), { codeTheme: codeTheme() });
  setProps(id('STREAM_MARKDOWN_TAIL'), { codeTheme: codeTheme() });
  return dark ? 'dark' : 'default';
}
/** The prefs with the theme flipped. */
export function flippedTheme() {
  return Object.assign({}, state.prefs, { theme: isDark() ? 'light' : 'dark' });
}
