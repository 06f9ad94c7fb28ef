/**
 * debug.mjs — the read-only counters and timings tests and benchmarks read through
 * window.chatDebug (main.mjs adds the functions). Owns nothing the page depends on.
 */
export const debug = {
  lastRun: null, runs: 0, lastRender: null, coerced: 0, dropped: 0
};
