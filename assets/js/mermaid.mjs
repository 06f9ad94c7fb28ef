/**
 * mermaid.mjs — diagrams, loaded on first need (mermaid is 3 MB; DOMPurify first) from
 * the vendor URLs in the page config, and made safe: fmc 0.4.3 draws diagrams with
 * `mermaid.run({nodes})`, which would put mermaid's SVG into the page as it is; ours
 * renders each with `mermaid.render` and inserts only DOMPurify's sanitized SVG, so an
 * event handler never reaches the DOM. Without DOMPurify the source stays text.
 */
import { config, id } from './config.mjs';
import { setProps } from './dash.mjs';
import { CLS } from './classes.mjs';

// What a mermaid SVG may keep: SVG and HTML labels (foreignObject), no handlers or scripts.
// (foreignObject is where mermaid puts HTML labels: an HTML integration point.)
const PURIFY_SVG = { USE_PROFILES: { svg: true, svgFilters: true, html: true }, ADD_TAGS: ['foreignObject'],
  HTML_INTEGRATION_POINTS: { 'annotation-xml': true, foreignobject: true } };
let loading = false;

function loadScript(url, onload, onerror) {
  const script = document.createElement('script');
  script.src = url;
  script.async = true;
  script.onload = onload;
  script.onerror = onerror;
  document.head.appendChild(script);
}
/** Load DOMPurify and mermaid once, then redraw the messages so diagrams render. */
export function loadMermaid() {
  const urls = config().vendor_urls || {};
  if (loading || window.mermaid || !urls.mermaid || !urls.purify) { return; }
  loading = true;
  const failed = function () { loading = false; };
  loadScript(urls.purify, function () {
    loadScript(urls.mermaid, function () {
      guardMermaid(window.mermaid, window.DOMPurify);
      setProps(id('VIEW_STORE'), { data: { limit: 0, mermaid: true, at: Date.now() } });
    }, failed);
  }, failed);
}
function guardMermaid(mermaid, purify) {
  let count = 0;
  mermaid.run = function (options) {
    const nodes = (options && options.nodes) || [];
    return Promise.all(Array.prototype.map.call(nodes, function (node) {
      if (node.getAttribute('data-processed')) { return null; }
      node.setAttribute('data-processed', 'true');
      const source = node.textContent || '';
      if (!purify || !purify.sanitize) { return null; }
      count += 1;
      return mermaid.render(CLS.mermaidIdPrefix + count + '-' + Date.now().toString(36), source).then(function (result) {
        node.innerHTML = purify.sanitize(result && typeof result.svg === 'string' ? result.svg : '', PURIFY_SVG);
      }, function () {
        node.textContent = source;
      });
    }));
  };
}
