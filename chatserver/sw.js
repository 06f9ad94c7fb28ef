/* sw.js — Dash Chat's service worker. chatserver/pwa.py serves it at <base path>/sw.js
 * (scope <base path>/) with CONFIG filled in from Python: the version (a hash of Dash's
 * fingerprinted bundle URLs and of this file), the scope, the bundles to precache, and
 * which paths are versioned and which the worker never answers. Nothing here repeats a
 * route or a pattern: they come from chatserver/pwa.py.
 *
 * Owns two caches of this scope, both named after the version:
 *   bundles: Dash's fingerprinted bundles (/_dash-component-suites/…v…m…, /assets/…?m=…)
 *     and the icons (?v=): a URL's content never changes, so cache-first; precached on
 *     install, filled on first use for lazy chunks;
 *   pages: the HTML of navigations, network-first (its CSP hashes and page config must be
 *     current); the stored copy answers only when the network fails.
 * Never answered (straight to the network, not stored): the API and the chat stream,
 * Dash's callback/layout routes, the admin pages, anything that is not GET; the first
 * ones bypass the worker entirely where the browser supports static routes (install). A POST to
 * the logout URL first deletes this scope's caches, so nothing fetched while one person
 * was signed in is served to the next.
 * On activate, the caches of older versions are deleted.
 * Must not: touch IndexedDB, localStorage or any other storage (the conversations live
 * there), or answer a request it was not told to.
 */
'use strict';

const CONFIG = /*PWA_CONFIG*/ null;
const BUNDLES = CONFIG.cache_prefix + 'bundles-' + CONFIG.version;
const PAGES = CONFIG.cache_prefix + 'pages-' + CONFIG.version;
const VERSIONED = CONFIG.versioned.map((source) => new RegExp(source));

/** The path of `url` under the base path ('/'-rooted: '/assets/x.css'), or null when it
 *  is another origin or outside the scope. */
function appPath(url) {
  if (url.origin !== self.location.origin || !url.pathname.startsWith(CONFIG.scope)) return null;
  return '/' + url.pathname.slice(CONFIG.scope.length);
}

/** Delete every cache of this scope except those named in `keep`. */
async function deleteCaches(keep) {
  const names = await caches.keys();
  await Promise.all(names.filter((name) => name.startsWith(CONFIG.cache_prefix) && !keep.includes(name)).map((name) => caches.delete(name)));
}

/** A bundle: from the cache, else from the network (then stored when it is a 200 of this origin). */
async function cacheFirst(event) {
  const cache = await caches.open(BUNDLES);
  const hit = await cache.match(event.request);
  if (hit) return hit;
  const response = await fetch(event.request);
  if (response.status === 200 && response.type === 'basic') {
    event.waitUntil(cache.put(event.request, response.clone()).catch(() => undefined));
  }
  return response;
}

/** The page key of a navigation: its URL without query or fragment. */
function pageKey(url) {
  const parsed = new URL(url);
  return parsed.origin + parsed.pathname;
}

/** A navigation: from the network (and stored), the stored copy only when the network fails. */
async function networkFirst(event) {
  const request = event.request;
  try {
    const response = await fetch(request);
    const storable = response.status === 200 && response.type === 'basic' && !response.redirected &&
      !/no-store/i.test(response.headers.get('Cache-Control') || '');
    if (storable) {
      const copy = response.clone();
      event.waitUntil(caches.open(PAGES).then((cache) => cache.put(pageKey(request.url), copy)).catch(() => undefined));
    }
    return response;
  } catch (error) {
    const cache = await caches.open(PAGES);
    const hit = (await cache.match(pageKey(request.url))) || (await cache.match(self.location.origin + CONFIG.scope));
    if (hit) return hit;
    throw error;
  }
}

self.addEventListener('install', (event) => {
  // The never-answered paths go straight to the network without this worker (the Service
  // Worker Static Routing API, where the browser has it: Chromium 123+): no worker
  // start-up and no fetch handler before the chat stream's request leaves.
  if (typeof event.addRoutes === 'function') {
    const rules = CONFIG.network_only.map((prefix) => ({
      condition: { urlPattern: { pathname: CONFIG.scope + prefix.slice(1) + '*' } }, source: 'network'
    }));
    event.waitUntil(event.addRoutes(rules).catch(() => undefined)); // without them, the fetch handler still passes these
  }
  event.waitUntil((async () => {
    const cache = await caches.open(BUNDLES);
    // one by one: a bundle that fails now is fetched on first use instead of failing the install
    await Promise.all(CONFIG.precache.map((url) => cache.add(url).catch(() => undefined)));
    await self.skipWaiting();
  })());
});

self.addEventListener('activate', (event) => {
  event.waitUntil(deleteCaches([BUNDLES, PAGES]).then(() => self.clients.claim()));
});

self.addEventListener('fetch', (event) => {
  const request = event.request;
  const url = new URL(request.url);
  const path = appPath(url);
  if (path === null) return;
  if (request.method !== 'GET') {
    if (request.method === 'POST' && path === CONFIG.logout_path) {
      event.respondWith(deleteCaches([]).then(() => fetch(request)));
    }
    return;
  }
  if (CONFIG.network_only.some((prefix) => path.startsWith(prefix))) return;
  if (request.mode === 'navigate') {
    event.respondWith(networkFirst(event));
  } else if (VERSIONED.some((pattern) => pattern.test(path + url.search))) {
    event.respondWith(cacheFirst(event));
  }
});
