// The mobile web app on every page: registers the service worker, forgets offline copies at
// logout, and sends forms marked data-offline="queue" (a reply to a message) even when the
// network is gone: the form is kept on the device and sent as soon as the server answers
// again; its client_key makes a second sending of the same message harmless.
'use strict';
(function () {
  if ('serviceWorker' in navigator) {
    navigator.serviceWorker.register('/sw.js').catch(function () {});
  }
  document.querySelectorAll('form[action="/logout"]').forEach(function (form) {
    form.addEventListener('submit', function () {
      try { localStorage.removeItem(KEY); } catch (e) { /* storage unavailable */ }
      if (navigator.serviceWorker && navigator.serviceWorker.controller) {
        navigator.serviceWorker.controller.postMessage('logout');
      }
    });
  });

  var KEY = 'jy-offline-queue';
  var zh = document.documentElement.lang !== 'en';
  function queued() {
    try { return JSON.parse(localStorage.getItem(KEY) || '[]'); } catch (e) { return []; }
  }
  function save(q) {
    try { localStorage.setItem(KEY, JSON.stringify(q)); } catch (e) { /* storage full */ }
    banner(q.length);
  }
  function banner(n) {
    var el = document.getElementById('offline-queue');
    if (!n) { if (el) el.remove(); return; }
    if (!el) {
      el = document.createElement('p');
      el.id = 'offline-queue';
      el.className = 'notice';
      el.setAttribute('role', 'status');
      var main = document.getElementById('main');
      if (main) main.insertBefore(el, main.firstChild);
    }
    el.textContent = zh
      ? '网络不可用：' + n + ' 条待发送，网络恢复后自动发送。'
      : 'Offline: ' + n + ' waiting, sent as soon as the network returns.';
  }
  function key() {
    return (self.crypto && crypto.randomUUID) ? crypto.randomUUID()
      : Date.now().toString(36) + Math.random().toString(36).slice(2);
  }
  var flushing = false;
  function flush() {
    var q = queued();
    if (!q.length || flushing) return;
    flushing = true;
    var rest = [];
    var sent = 0;
    q.reduce(function (p, item) {
      return p.then(function () {
        return fetch(item.url, { method: 'POST', body: new URLSearchParams(item.body), credentials: 'same-origin' })
          .then(function (r) { if (r.status >= 500) rest.push(item); else sent += 1; })
          .catch(function () { rest.push(item); });
      });
    }, Promise.resolve()).then(function () {
      flushing = false;
      save(rest);
      // What was sent belongs on the page being read.
      if (sent && q.some(function (i) { return i.url === location.pathname; })) location.reload();
    });
  }
  document.querySelectorAll('form[data-offline="queue"]').forEach(function (form) {
    form.addEventListener('submit', function (event) {
      // Files cannot wait in the offline queue: a form with files chosen is sent as it is.
      var withFiles = Array.prototype.some.call(form.querySelectorAll('input[type="file"]'),
        function (i) { return i.files && i.files.length > 0; });
      if (withFiles) return;
      event.preventDefault();
      var k = form.querySelector('input[name="client_key"]');
      if (k && !k.value) k.value = key();
      var params = new URLSearchParams();
      new FormData(form).forEach(function (v, k) { if (typeof v === 'string') params.append(k, v); });
      var body = params.toString();
      fetch(form.action, { method: 'POST', body: new URLSearchParams(body), credentials: 'same-origin' })
        .then(function (r) {
          if (r.status >= 500) throw new Error('server');
          location.href = r.url;
        })
        .catch(function () {
          var q = queued();
          q.push({ url: new URL(form.action, location.href).pathname, body: body });
          save(q);
          form.reset();
          if (k) k.value = '';
        });
    });
  });
  // Web Push on this device (the notification settings page): the browser subscribes with the
  // platform's public key and the subscription is saved as one more address of the person.
  var push = document.getElementById('push-subscribe');
  function bytes(b64) {
    var s = atob(b64.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - b64.length % 4) % 4));
    var a = new Uint8Array(s.length);
    for (var i = 0; i < s.length; i++) a[i] = s.charCodeAt(i);
    return a;
  }
  if (push && 'PushManager' in window && navigator.serviceWorker) {
    push.hidden = false;
    push.addEventListener('click', function () {
      Notification.requestPermission().then(function (p) {
        if (p !== 'granted') throw new Error('denied');
        return navigator.serviceWorker.ready;
      }).then(function (reg) {
        return reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: bytes(push.dataset.key) });
      }).then(function (sub) {
        document.getElementById('push-address').value = JSON.stringify(sub);
        document.getElementById('push-form').submit();
      }).catch(function () { push.textContent = push.dataset.failed; });
    });
  }
  banner(queued().length);
  flush();
  window.addEventListener('online', flush);
  setInterval(flush, 10000);
})();
