/*
 * Coerce a value against the page schema (chatcore/page_schema.json, emitted by the
 * pydantic models in chatcore/schema.py and sent in the page config), without eval.
 *
 * Owns: the walk over a JSON Schema subset — type, properties, required,
 * additionalProperties, items, maxItems, minItems, anyOf, const, enum, $ref (#/$defs/Name),
 * minimum, maximum, minLength, maxLength, pattern. Any other keyword throws (fail closed), so a
 * schema change the walker does not understand is caught by its tests, not shipped.
 * Must not: convert between types, keep unknown keys, or touch the page.
 *
 * Rules: a property whose value does not fit is left out and counted; an object that
 * lacks a required property (or whose required property does not fit) does not fit;
 * an array item that does not fit is left out and counted; numbers must be finite.
 *
 *   coerce(doc, 'Backup', value) → {ok: bool, value: coerced | null, dropped: n, paths: [...]}
 *
 * Loaded as a classic script in the page (window.chatSchemaWalk) and as a CommonJS
 * module by the node unit tests (tests/js/schema_walk.test.js).
 */
(function (root, factory) {
  var api = factory();
  if (typeof module === 'object' && module.exports) { module.exports = api; } else { root.chatSchemaWalk = api; }
}(typeof self !== 'undefined' ? self : this, function () {
  'use strict';

  var MISFIT = { misfit: true }; // sentinel: the value does not fit its schema
  var ANNOTATIONS = ['title', 'description', 'default', 'examples'];
  var KEYWORDS = ['type', 'properties', 'required', 'additionalProperties', 'items', 'anyOf', 'const', 'enum',
    '$ref', 'minimum', 'maximum', 'minLength', 'maxLength', 'pattern', 'maxItems', 'minItems'];
  var MAX_PATHS = 20;
  var patterns = {};

  function has(object, key) { return Object.prototype.hasOwnProperty.call(object, key); }

  var checked = typeof WeakSet === 'function' ? new WeakSet() : null; // schemas already checked
  function checkKeywords(schema) {
    if (checked && checked.has(schema)) { return; }
    Object.keys(schema).forEach(function (key) {
      if (KEYWORDS.indexOf(key) < 0 && ANNOTATIONS.indexOf(key) < 0) {
        throw new Error('schema keyword not supported: ' + key);
      }
    });
    if (checked) { checked.add(schema); }
  }

  function resolve(doc, schema) {
    var seen = 0;
    while (schema && has(schema, '$ref')) {
      var ref = schema.$ref;
      if (typeof ref !== 'string' || ref.indexOf('#/$defs/') !== 0) { throw new Error('unsupported $ref ' + ref); }
      var name = ref.slice('#/$defs/'.length);
      if (!doc.$defs || !has(doc.$defs, name)) { throw new Error('unknown $ref ' + ref); }
      schema = doc.$defs[name];
      if (++seen > 50) { throw new Error('$ref loop at ' + ref); }
    }
    return schema;
  }

  function isPlainObject(value) {
    return value !== null && typeof value === 'object' && !Array.isArray(value);
  }

  function codePoints(text) {
    var n = 0;
    for (var i = 0; i < text.length; i++) {
      var c = text.charCodeAt(i);
      if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
        var d = text.charCodeAt(i + 1);
        if (d >= 0xdc00 && d <= 0xdfff) { i++; }
      }
      n++;
    }
    return n;
  }

  function fitsType(type, value) {
    switch (type) {
      case 'string': return typeof value === 'string';
      case 'number': return typeof value === 'number' && isFinite(value);
      case 'integer': return typeof value === 'number' && isFinite(value) && Math.floor(value) === value;
      case 'boolean': return typeof value === 'boolean';
      case 'null': return value === null;
      case 'array': return Array.isArray(value);
      case 'object': return isPlainObject(value);
      default: throw new Error('unsupported type ' + type);
    }
  }

  function note(report, path) {
    report.dropped += 1;
    if (report.paths.length < MAX_PATHS) { report.paths.push(path || '(root)'); }
  }

  function fitsScalar(schema, value) {
    if (typeof value === 'string') {
      // UTF-16 length bounds the code-point count from above: count only when needed
      if (has(schema, 'maxLength') && value.length > schema.maxLength && codePoints(value) > schema.maxLength) { return false; }
      if (has(schema, 'minLength') && codePoints(value) < schema.minLength) { return false; }
      if (has(schema, 'pattern')) {
        var re = patterns[schema.pattern] || (patterns[schema.pattern] = new RegExp(schema.pattern));
        if (!re.test(value)) { return false; }
      }
    }
    if (Array.isArray(value) && has(schema, 'maxItems') && value.length > schema.maxItems) { return false; }
    if (Array.isArray(value) && has(schema, 'minItems') && value.length < schema.minItems) { return false; }
    if (typeof value === 'number') {
      if (has(schema, 'minimum') && value < schema.minimum) { return false; }
      if (has(schema, 'maximum') && value > schema.maximum) { return false; }
    }
    return true;
  }

  function walk(doc, schema, value, report, path) {
    schema = resolve(doc, schema);
    checkKeywords(schema);
    if (has(schema, 'anyOf')) { return walkAnyOf(doc, schema.anyOf, value, report, path); }
    if (has(schema, 'const') && value !== schema.const) { return MISFIT; }
    if (has(schema, 'enum') && schema.enum.indexOf(value) < 0) { return MISFIT; }
    if (has(schema, 'type') && !fitsType(schema.type, value)) { return MISFIT; }
    if (!fitsScalar(schema, value)) { return MISFIT; }
    if (Array.isArray(value)) { return walkArray(doc, schema, value, report, path); }
    if (isPlainObject(value)) { return walkObject(doc, schema, value, report, path); }
    return value;
  }

  /** The first branch that fits without dropping anything; else the one dropping least. */
  function walkAnyOf(doc, branches, value, report, path) {
    var best = null;
    for (var i = 0; i < branches.length; i++) {
      var trial = { dropped: 0, paths: [] };
      var result = walk(doc, branches[i], value, trial, path);
      if (result === MISFIT) { continue; }
      if (trial.dropped === 0) { return result; }
      if (!best || trial.dropped < best.trial.dropped) { best = { result: result, trial: trial }; }
    }
    if (!best) { return MISFIT; }
    report.dropped += best.trial.dropped;
    best.trial.paths.forEach(function (p) { if (report.paths.length < MAX_PATHS) { report.paths.push(p); } });
    return best.result;
  }

  // A value that fits as it is comes back as the same object (no copy), so the page's
  // identity-based change tracking (assets/storage.js) sees nothing changed.
  function walkArray(doc, schema, value, report, path) {
    if (!has(schema, 'items')) { return value; }
    var out = [];
    var same = true;
    for (var i = 0; i < value.length; i++) {
      var item = walk(doc, schema.items, value[i], report, path + '[' + i + ']');
      if (item === MISFIT) { note(report, path + '[' + i + ']'); same = false; } else { out.push(item); same = same && item === value[i]; }
    }
    return same ? value : out;
  }

  function walkObject(doc, schema, value, report, path) {
    var properties = schema.properties || {};
    var required = schema.required || [];
    var open = schema.additionalProperties !== false;
    if (open && has(schema, 'additionalProperties') && schema.additionalProperties !== true) {
      throw new Error('additionalProperties must be a boolean');
    }
    var out = {};
    var same = true;
    var keys = Object.keys(value);
    for (var i = 0; i < keys.length; i++) {
      var key = keys[i];
      var where = path ? path + '.' + key : key;
      if (!has(properties, key)) {
        if (open) { out[key] = value[key]; } else { note(report, where); same = false; }
        continue;
      }
      var result = walk(doc, properties[key], value[key], report, where);
      if (result === MISFIT) {
        if (required.indexOf(key) >= 0) { return MISFIT; }
        note(report, where);
        same = false;
      } else {
        out[key] = result;
        same = same && result === value[key];
      }
    }
    for (var j = 0; j < required.length; j++) {
      if (!has(out, required[j])) { return MISFIT; }
    }
    return same ? value : out;
  }

  /**
   * Coerce `value` against `doc.$defs[name]`.
   * Returns {ok, value, dropped, paths}: ok false (value null) when the value as a
   * whole does not fit; dropped counts the properties and items left out.
   * Throws Error for a schema the walker does not support.
   */
  function coerce(doc, name, value) {
    if (!doc || !doc.$defs || !has(doc.$defs, name)) { throw new Error('no schema named ' + name); }
    var report = { dropped: 0, paths: [] };
    var result = walk(doc, doc.$defs[name], value, report, '');
    if (result === MISFIT) { return { ok: false, value: null, dropped: report.dropped, paths: report.paths }; }
    return { ok: true, value: result, dropped: report.dropped, paths: report.paths };
  }

  /** Text to draw: strings as they are, finite numbers formatted, anything else ''. */
  function asText(value) {
    if (typeof value === 'string') { return value; }
    if (typeof value === 'number' && isFinite(value)) { return String(value); }
    return '';
  }

  return { coerce: coerce, asText: asText, KEYWORDS: KEYWORDS.slice(), ANNOTATIONS: ANNOTATIONS.slice() };
}));
