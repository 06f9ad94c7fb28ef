/**
 * pwa.mjs — registers the service worker that makes the app installable (chatserver/pwa.py
 * serves it; its source is chatserver/sw.js). The worker's URL and scope come from the
 * page head, `<link rel="manifest" data-sw=… data-scope=…>` (chatserver/pwa.py
 * with_head_tags), so they follow the app's base path; nothing here names a route.
 *
 * Owns: the registration only (after the page has loaded, so it never competes with the
 * bundles). Must not: cache anything itself or touch the conversations' storage; the
 * worker decides what it stores (bundles, page HTML) and deletes it on logout.
 */

/** Register the worker named by the manifest link; resolves to the registration, or
 *  null where there is none (no link, no service worker support, not a secure context,
 *  or the browser refused: logged, the page works the same without it). */
export async function registerServiceWorker() {
  const link = document.querySelector('link[rel="manifest"][data-sw]');
  if (!link || !('serviceWorker' in navigator) || !window.isSecureContext) return null;
  try {
    return await navigator.serviceWorker.register(link.dataset.sw, { scope: link.dataset.scope });
  } catch (error) {
    console.warn('service worker not registered:', error);
    return null;
  }
}

if (document.readyState === 'complete') {
  registerServiceWorker();
} else {
  window.addEventListener('load', () => { registerServiceWorker(); }, { once: true });
}
