/**
 * sse.mjs — the Server-Sent Events parser of the stream reader (HTML Living Standard
 * §9.2.6 "Interpreting an event stream", the fields this server sends: event, data).
 * Pure: no DOM, no Dash; unit-tested with node --test (tests/js/sse.test.mjs).
 */

/**
 * A parser fed decoded text chunks split anywhere; calls onEvent(name, data) for each
 * dispatched event (name defaults to "message"; data lines joined with "\n").
 * Lines end with LF, CRLF or CR; lines starting with ":" are comments; an event is
 * dispatched at a blank line (an event with no blank line after it is never
 * dispatched, as the standard says — call feed.end() to drop it explicitly).
 */
export function createSSEParser(onEvent) {
  let buffer = '';
  let name = 'message';
  let dataLines = [];
  let pendingCR = false;
  function line(value) {
    if (value === '') {
      if (dataLines.length) { onEvent(name, dataLines.join('\n')); }
      name = 'message';
      dataLines = [];
      return;
    }
    if (value.charAt(0) === ':') { return; }
    const colon = value.indexOf(':');
    const field = colon < 0 ? value : value.slice(0, colon);
    let data = colon < 0 ? '' : value.slice(colon + 1);
    if (data.charAt(0) === ' ') { data = data.slice(1); }
    if (field === 'event') { name = data; } else if (field === 'data') { dataLines.push(data); }
  }
  function feed(chunk) {
    let text = chunk;
    if (pendingCR) {
      pendingCR = false;
      if (text.charAt(0) === '\n') { text = text.slice(1); } // the LF of a CRLF split across chunks
    }
    buffer += text;
    let start = 0;
    for (let i = 0; i < buffer.length; i++) {
      const c = buffer.charCodeAt(i);
      if (c !== 10 && c !== 13) { continue; }
      line(buffer.slice(start, i));
      if (c === 13) {
        if (i + 1 < buffer.length) {
          if (buffer.charCodeAt(i + 1) === 10) { i += 1; }
        } else {
          pendingCR = true;
        }
      }
      start = i + 1;
    }
    buffer = buffer.slice(start);
  }
  /** The stream ended: an unterminated event is discarded (HTML §9.2.6). */
  feed.end = function () { buffer = ''; dataLines = []; name = 'message'; pendingCR = false; };
  return feed;
}
