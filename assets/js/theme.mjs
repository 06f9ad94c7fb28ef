/**
 * theme.mjs — light/dark: the reader's choice in prefs (theme), else the system's
 * (prefers-color-scheme); the page class, the antd algorithm and the code theme.
 */
import { state } from './state.mjs';
import { CLS } from './classes.mjs';
import { setStreamTheme } from './streamview.mjs';

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
  setStreamTheme(codeTheme());
  return dark ? 'dark' : 'default';
}
/** The prefs with the theme flipped. */
export function flippedTheme() {
  return Object.assign({}, state.prefs, { theme: isDark() ? 'light' : 'dark' });
}
