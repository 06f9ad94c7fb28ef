// assets/js/attach.mjs: the pure parts of the composer's attachments (sizes, encodings, names).
import test from 'node:test';
import assert from 'node:assert/strict';
import { setConfig } from '../../assets/js/config.mjs';
import { acceptList, documentInfo, encodings, fitSide, imageName, shrinkFactor } from '../../assets/js/attach.mjs';
import { pageConfig } from './helpers.mjs';

const config = pageConfig();
setConfig(config);

test('the file input accepts the image types and document extensions of the config', () => {
  const accept = acceptList(config).split(',');
  assert.ok(accept.includes('image/png') && accept.includes('image/jpeg'), accept.join());
  assert.ok(accept.includes('.pdf') && accept.includes('.docx') && accept.includes('.txt'), accept.join());
  assert.equal(accept.some((a) => /svg/.test(a)), false);
});

test('downscaling keeps the aspect ratio and the longer side at most image_max_side', () => {
  assert.deepEqual(fitSide({ width: 4000, height: 3000 }, 2048), { width: 2048, height: 1536 });
  assert.deepEqual(fitSide({ width: 1000, height: 5000 }, 2048), { width: 410, height: 2048 });
  assert.deepEqual(fitSide({ width: 300, height: 200 }, 2048), { width: 300, height: 200 }); // never enlarged
});

test('encodings: JPEG with falling quality; PNG first (then WebP) for a transparent image', () => {
  const opaque = encodings(false);
  assert.ok(opaque.every(([mime]) => mime === 'image/jpeg'));
  assert.ok(opaque.every(([, q], i) => i === 0 || q < opaque[i - 1][1]));
  const clear = encodings(true);
  assert.equal(clear[0][0], 'image/png');
  assert.ok(clear.slice(1).every(([mime]) => mime === 'image/webp'));
  // a smaller round starts lower, and PNG is not tried again
  assert.ok(encodings(false, 1)[0][1] < opaque[0][1]);
  assert.ok(encodings(true, 1).every(([mime]) => mime === 'image/webp'));
});

test('the next round shrinks by the square root of the overshoot, within 0.5 … 0.9', () => {
  assert.ok(Math.abs(shrinkFactor(4000000, 1000000) - 0.5 * 0.95) < 0.03 || shrinkFactor(4000000, 1000000) === 0.5);
  assert.equal(shrinkFactor(100000000, 1000000), 0.5);
  assert.equal(shrinkFactor(1000001, 1000000), 0.9);
  const f = shrinkFactor(2000000, 1000000);
  assert.ok(f > 0.6 && f < 0.7, String(f));
});

test('a re-encoded image is named after its new type; documents show size and tokens', () => {
  assert.equal(imageName('photo.HEIC', 'image/jpeg'), 'photo.jpg');
  assert.equal(imageName('', 'image/png'), 'image.png');
  assert.equal(imageName('a.b.gif', 'image/png'), 'a.b.png');
  const info = documentInfo({ size: 2048, tokens: 512 });
  assert.ok(info.includes('2.0 KB') && info.includes('512'), info);
  assert.ok(documentInfo({ size: 1, tokens: 1, truncated: true }).length > documentInfo({ size: 1, tokens: 1 }).length);
});
