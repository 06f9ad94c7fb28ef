// assets/js/vision.mjs: the same answers as chatcore/vision.py on the shared table.
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { acceptsImages } from '../../assets/js/vision.mjs';
import { ROOT, pageConfig } from './helpers.mjs';

const table = JSON.parse(fs.readFileSync(path.join(ROOT, 'tests', 'data', 'vision_cases.json'), 'utf8'));

test('the page config carries the vision rule (config.vision)', () => {
  const vision = pageConfig().vision;
  assert.ok(vision && Array.isArray(vision.defaults) && vision.defaults.includes('gpt-4o*'), JSON.stringify(vision));
  assert.equal(vision.catalog['gpt-4o-mini'], true);
});

test('every case of tests/data/vision_cases.json', () => {
  const wrong = [];
  for (const c of table.cases) {
    const cfg = c.config === 'page' ? pageConfig().vision : table.configs[c.config];
    if (acceptsImages(c.model, cfg) !== c.accepts) { wrong.push(c); }
  }
  assert.deepEqual(wrong, []);
  assert.ok(table.cases.length >= 30);
});

test('no config at all accepts nothing; a missing model is no model', () => {
  assert.equal(acceptsImages('gpt-4o', undefined), false);
  assert.equal(acceptsImages(undefined, pageConfig().vision), false);
});
