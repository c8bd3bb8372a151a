// Jiaoyun's service worker: the mobile web app of the plans' "teacher app" and "parent app".
// It keeps the last notices, messages, leave requests and spaces a person opened readable
// offline (network first, the last copy when the network is gone), shows Web Push
// notifications, and forgets every copy at logout.
'use strict';
// A new name whenever a file of SHELL changes: the new worker replaces the old copies.
const CACHE = 'jy-pages-v4';
const SHELL = ['/static/app.css', '/static/icon.svg', '/static/pwa.js'];
// The pages worth reading offline: home, notices, messages, leave, spaces, notifications.
const KEEP = /^\/(notices|messages|leave|spaces|notifications)?(\/[^/]*)*$/;
const OFFLINE = '<!doctype html><html lang="zh-CN"><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>离线 · 教云</title><link rel="stylesheet" href="/static/app.css"><main><h1>网络不可用</h1><p>这个页面还没有离线副本。网络恢复后再试。</p><p lang="en">You are offline and this page has no offline copy yet.</p><p><a href="/">首页</a></p></main></html>';

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(CACHE).then((c) => c.addAll(SHELL)));
  self.skipWaiting();
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener('fetch', (event) => {
  const req = event.request;
  if (req.method !== 'GET') return;
  const url = new URL(req.url);
  if (url.origin !== self.location.origin) return;
  if (url.pathname.startsWith('/static/')) {
    event.respondWith(caches.match(req).then((hit) => hit || fetch(req)));
    return;
  }
  if (req.mode !== 'navigate' || !KEEP.test(url.pathname)) return;
  event.respondWith(
    fetch(req)
      .then((res) => {
        if (res.ok && !res.redirected) {
          const copy = res.clone();
          caches.open(CACHE).then((c) => c.put(req, copy));
        }
        return res;
      })
      .catch(() => caches.match(req).then((hit) => hit ||
        new Response(OFFLINE, { headers: { 'content-type': 'text/html; charset=utf-8' } }))),
  );
});

// Logout: nobody else on this device reads the copies.
self.addEventListener('message', (event) => {
  if (event.data === 'logout') event.waitUntil(caches.delete(CACHE));
});

// Web Push: the outbox sends {title, body, link}.
self.addEventListener('push', (event) => {
  let data = {};
  try { data = event.data ? event.data.json() : {}; } catch (e) { data = { title: event.data.text() }; }
  event.waitUntil(self.registration.showNotification(data.title || '教云', {
    body: data.body || '',
    icon: '/static/icon.svg',
    data: { link: data.link || '/' },
  }));
});

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const link = (event.notification.data && event.notification.data.link) || '/';
  event.waitUntil(self.clients.openWindow(link));
});
