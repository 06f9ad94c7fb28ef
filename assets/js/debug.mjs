/**
 * debug.mjs — the read-only counters and timings tests and benchmarks read through
 * window.chatDebug (main.mjs adds the functions). Owns nothing the page depends on.
 */
export const debug = {
  lastRun: null, runs: 0, lastRender: null, coerced: 0, dropped: 0,
  shellRebuilds: 0 // times render.mjs made the message shells again (its set_props path avoids it)
};
