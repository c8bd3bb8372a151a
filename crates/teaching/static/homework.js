// A student's work. A test's answers are saved as they are given: each question's fields are
// sent when they change; an answer that cannot be sent (the network is down, the server away)
// waits in the phone's storage, stays on the page through a reload, and is sent when the
// connection is back. The server's clock decides: after the end it refuses, and the page says
// so. Leaving a test's page is reported. A flipped task's micro-lesson reports the furthest
// second watched. A countdown runs from the server's remaining seconds. Without this script
// the forms still save and hand in.
(function () {
  "use strict";
  var en = document.documentElement.lang === "en";
  var words = {
    saved: en ? "All answers saved." : "答案已全部保存。",
    saving: en ? "Saving…" : "正在保存……",
    waiting: en ? "Offline: {n} answer(s) kept on this device, sent when the connection is back." : "网络断开：{n} 个答案保存在本机，联网后自动提交。",
    refused: en ? "Not saved: " : "未保存：",
  };

  // The micro-lesson.
  var video = document.querySelector("video[data-watched]");
  if (video) {
    var url = video.getAttribute("data-watched");
    var csrf = video.getAttribute("data-csrf");
    var furthest = 0, sent = -1;
    var send = function (force) {
      if (!force && furthest <= sent) return;
      sent = furthest;
      var body = new URLSearchParams();
      body.set("csrf", csrf);
      body.set("seconds", String(Math.floor(furthest)));
      body.set("duration", String(Math.floor(video.duration || 0)));
      fetch(url, { method: "POST", body: body, credentials: "same-origin", keepalive: true }).catch(function () {});
    };
    video.addEventListener("timeupdate", function () {
      if (video.currentTime > furthest) furthest = video.currentTime;
      if (furthest - sent >= 10) send();
    });
    video.addEventListener("pause", function () { send(); });
    video.addEventListener("ended", function () { furthest = video.duration || furthest; send(); });
    video.addEventListener("play", function () { if (sent < 0) send(true); });
  }

  // Countdowns from the server's seconds.
  document.querySelectorAll("[data-remaining]").forEach(function (clock) {
    var end = Date.now() + Number(clock.getAttribute("data-remaining")) * 1000;
    var tick = function () {
      var left = Math.max(0, Math.round((end - Date.now()) / 1000));
      var m = Math.floor(left / 60), s = left % 60;
      clock.textContent = m + ":" + (s < 10 ? "0" : "") + s;
      if (left === 0) clock.classList.add("over"); else setTimeout(tick, 1000);
    };
    tick();
  });

  // A test's answers.
  var form = document.querySelector("form[data-autosave]");
  if (!form) return;
  var saveUrl = form.getAttribute("data-autosave");
  var key = form.getAttribute("data-key");
  var token = form.querySelector("input[name=csrf]").value;
  var state = document.getElementById("save-state");
  var pending = {};
  try { pending = JSON.parse(localStorage.getItem(key) || "{}") || {}; } catch (e) { pending = {}; }
  var refused = {};

  function keep() {
    try { localStorage.setItem(key, JSON.stringify(pending)); } catch (e) { /* storage full: the page still holds them */ }
  }
  function show() {
    var n = Object.keys(pending).length;
    var bad = Object.keys(refused).map(function (p) { return refused[p]; });
    if (bad.length) state.textContent = words.refused + bad[0];
    else if (n) state.textContent = words.waiting.replace("{n}", n);
    else state.textContent = words.saved;
    state.classList.toggle("error", bad.length > 0 || (n > 0 && !navigator.onLine));
  }
  // A question's fields as pairs.
  function fieldsOf(section) {
    var pos = section.getAttribute("data-position");
    var prefix = "a" + pos + ".";
    var out = [];
    section.querySelectorAll("input, select, textarea").forEach(function (el) {
      if (!el.name || el.name.indexOf(prefix) !== 0) return;
      if ((el.type === "checkbox" || el.type === "radio") && !el.checked) return;
      out.push([el.name, el.value]);
    });
    return out;
  }
  // Puts kept answers back into the page (after a reload while offline).
  function restore(pos, pairs) {
    var section = form.querySelector("section[data-position='" + pos + "']");
    if (!section) return;
    var prefix = "a" + pos + ".";
    var texts = pairs.filter(function (p) { return /\.(text|pair|order)$/.test(p[0]); });
    var counts = {};
    section.querySelectorAll("input, select, textarea").forEach(function (el) {
      if (!el.name || el.name.indexOf(prefix) !== 0 || el.type === "hidden") return;
      if (el.type === "checkbox" || el.type === "radio") {
        el.checked = pairs.some(function (p) { return p[0] === el.name && p[1] === el.value; });
      } else {
        var i = counts[el.name] || 0;
        var same = texts.filter(function (p) { return p[0] === el.name; });
        if (same[i]) el.value = same[i][1];
        counts[el.name] = i + 1;
      }
    });
  }
  var sending = false;
  function flush() {
    if (sending) return;
    var positions = Object.keys(pending);
    if (!positions.length) { show(); return; }
    sending = true;
    state.textContent = words.saving;
    var pos = positions[0];
    var body = new URLSearchParams();
    body.set("csrf", token);
    body.set("position", pos);
    pending[pos].forEach(function (p) { body.append(p[0], p[1]); });
    var sentPairs = JSON.stringify(pending[pos]);
    // A request that hangs gives up after ten seconds, so one never holds the others back.
    var abort = window.AbortController ? new AbortController() : null;
    var timer = abort ? setTimeout(function () { abort.abort(); }, 10000) : null;
    fetch(saveUrl, {
      method: "POST", body: body, credentials: "same-origin", redirect: "manual",
      signal: abort ? abort.signal : undefined,
    })
      .then(function (r) {
        clearTimeout(timer);
        var unchanged = JSON.stringify(pending[pos]) === sentPairs;
        if (r.status === 204) {
          // Saved (an edit made meanwhile stays to be sent).
          if (unchanged) delete pending[pos];
          delete refused[pos];
          keep();
          sending = false;
          flush();
        } else if (r.status === 409 || r.status === 422) {
          return r.text().then(function (t) {
            refused[pos] = t;
            if (unchanged) delete pending[pos];
            keep();
            sending = false;
            show();
          });
        } else {
          // Anything else (signed out: a redirect to the login; the server's error) keeps the
          // answer on the phone to be sent again.
          throw new Error("status " + r.status);
        }
      })
      .catch(function () {
        clearTimeout(timer);
        sending = false;
        show();
      });
  }
  Object.keys(pending).forEach(function (pos) { restore(pos, pending[pos]); });
  form.querySelectorAll("section[data-position]").forEach(function (section) {
    var record = function () {
      pending[section.getAttribute("data-position")] = fieldsOf(section);
      keep();
      flush();
    };
    section.addEventListener("change", record);
    section.addEventListener("input", function (ev) {
      if (ev.target.tagName === "TEXTAREA" || ev.target.type === "text" || !ev.target.type) {
        clearTimeout(section._timer);
        section._timer = setTimeout(record, 800);
      }
    });
  });
  window.addEventListener("online", flush);
  setInterval(flush, 3000);
  flush();

  // Leaving the page (another app, another tab) is reported once per time.
  var leftUrl = form.getAttribute("data-left");
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState !== "hidden") return;
    var body = new URLSearchParams();
    body.set("csrf", token);
    if (navigator.sendBeacon) navigator.sendBeacon(leftUrl, body);
  });
  // Handing in sends what waits first (the form posts every answer as well).
  form.addEventListener("submit", function () { keep(); });
})();
