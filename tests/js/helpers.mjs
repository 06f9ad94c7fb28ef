// Shared set-up of the page-module unit tests (node --test tests/js/*.test.mjs):
// the committed page schema, the schema walker, and a page config as Python builds it.
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
export const ROOT = path.join(here, '..', '..');
export const schema = JSON.parse(fs.readFileSync(path.join(ROOT, 'chatcore', 'page_schema.json'), 'utf8'));
globalThis.chatSchemaWalk = require(path.join(ROOT, 'assets', 'schema_walk.js'));

/** The page config tests/test_js_units.py wrote from components.layout.public_config
 *  (CHAT_TEST_CONFIG), else a minimal one with the committed schema. */
export function pageConfig(extra) {
  const file = process.env.CHAT_TEST_CONFIG;
  const base = file ? JSON.parse(fs.readFileSync(file, 'utf8')) : { schema: schema, texts: {}, settings: [], roles: ['system', 'user', 'assistant'] };
  return Object.assign({}, base, extra || {});
}
