/**
 * vision.mjs — which models accept images: the rule of chatcore/vision.py, on the data
 * the server sends in config.vision ({models, catalog, defaults}, all lower-case).
 * VISION_MODELS (config.vision.models) wins; else the provider catalog's vision flag
 * when it knows the model (exact name, or a catalog name followed by ':', '@' or '-'
 * and a digit; the longest wins); else the default patterns. Every match is tried on
 * the whole name and on the part after its last '/'. Pure: no DOM, no state; the
 * same answers as the server (tests/data/vision_cases.json, tests/js/vision.test.mjs).
 */

const COVER = /^(?:[:@]|-[0-9])/;
const cache = new Map();

/** `pattern` ('*' = any characters, the rest literal) as an anchored RegExp. */
function glob(pattern) {
  let re = cache.get(pattern);
  if (!re) {
    const parts = pattern.split('*').map((part) => part.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&'));
    re = new RegExp('^' + parts.join('.*') + '$', 's');
    cache.set(pattern, re);
  }
  return re;
}

/** The names a model is matched by: the whole lower-cased name, then its last '/' part. */
function names(model) {
  const name = String(model || '').trim().toLowerCase();
  const tail = name.slice(name.lastIndexOf('/') + 1);
  return tail === name || !tail ? [name] : [name, tail];
}

/** The vision flag of the longest catalog name covering `name`, or null. */
function catalogLookup(name, catalog) {
  if (Object.prototype.hasOwnProperty.call(catalog, name)) { return catalog[name] === true; }
  let best = null;
  for (const key of Object.keys(catalog)) {
    if (name.length > key.length && name.startsWith(key) && COVER.test(name.slice(key.length))) {
      if (best === null || key.length > best.length) { best = key; }
    }
  }
  return best === null ? null : catalog[best] === true;
}

/** True when `model` accepts image parts, by the rule of config.vision (`visionConfig`). */
export function acceptsImages(model, visionConfig) {
  const cfg = visionConfig || {};
  const candidates = names(model);
  const models = Array.isArray(cfg.models) ? cfg.models : [];
  if (models.length) {
    return models.some((p) => candidates.some((n) => glob(p).test(n)));
  }
  const catalog = cfg.catalog && typeof cfg.catalog === 'object' ? cfg.catalog : {};
  for (const name of candidates) {
    const known = catalogLookup(name, catalog);
    if (known !== null) { return known; }
  }
  const defaults = Array.isArray(cfg.defaults) ? cfg.defaults : [];
  return defaults.some((p) => candidates.some((n) => glob(p).test(n)));
}
