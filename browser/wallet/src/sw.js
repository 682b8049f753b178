// SPDX-License-Identifier: Apache-2.0
// browser/wallet/src/sw.js: the wallet's service worker. It caches every
// file of the wallet at install (the list and version are written by
// build.mjs) and answers them from the cache only, so that answering an
// age check makes no network request at all. Requests for anything else
// (the provider's directory and token endpoints, at enrolment and refill
// time) go to the network untouched.
const VERSION = '__VERSION__';
const FILES = __FILES__;
const CACHE = `agepass-wallet-${VERSION}`;
let opened = null; // the cache, opened once per worker (not once per file)
const cache = () => (opened ??= caches.open(CACHE));

self.addEventListener('install', (event) => {
  event.waitUntil(cache().then((c) => c.addAll(FILES)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil(caches.keys()
    .then((names) => Promise.all(names.filter((n) => n.startsWith('agepass-wallet-') && n !== CACHE)
      .map((n) => caches.delete(n))))
    .then(() => self.clients.claim()));
});

self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== 'GET' || url.origin !== self.location.origin) return;
  const scope = new URL(self.registration.scope);
  if (!url.pathname.startsWith(scope.pathname)) return;
  let rel = url.pathname.slice(scope.pathname.length);
  if (rel === '') rel = 'index.html';
  if (!FILES.includes(rel)) return; // not the wallet's: the network
  event.respondWith(cache().then((c) => c.match(rel)).then((r) => r ?? fetch(event.request)));
});
