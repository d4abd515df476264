/**
 * The app shell's service worker. The build (vite.config.ts) fills in
 * PRECACHE, every file of the build, and VERSION, a hash of them: a new
 * build is a new worker, which caches the new files and drops the old.
 *
 * Cache first: the app opens from the cache with or without a network, and
 * the data comes from IndexedDB. Only the app's own files are served here;
 * /sync, /login and everything else go to the network as usual.
 */
const VERSION = 'development';
const PRECACHE = ['/'];
const CACHE = `app-shell-${VERSION}`;

self.addEventListener('install', (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      // `reload`: fetch past the HTTP cache, so the cache holds exactly this build.
      .then((cache) => cache.addAll(PRECACHE.map((path) => new Request(path, { cache: 'reload' }))))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((key) => key.startsWith('app-shell-') && key !== CACHE).map((key) => caches.delete(key))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  // Every page of the app is the one page: the shell.
  const path = request.mode === 'navigate' ? '/' : url.pathname;
  if (!PRECACHE.includes(path)) return;
  event.respondWith(
    caches
      .open(CACHE)
      .then((cache) => cache.match(path))
      .then((cached) => cached ?? fetch(request)),
  );
});
