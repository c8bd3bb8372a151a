// Resumable uploads in chunks, with a progress bar, for Jiaoyun's forms. No build step; load
// it with <script src="/static/upload.js" defer></script> (same origin, as the CSP requires).
//
// Markup contract (the form works without JavaScript: it then posts the file itself):
//
//   <form method="post" enctype="multipart/form-data" action="…">
//     <input type="hidden" name="csrf" value="{{ ctx.csrf }}">
//     <label for="file">…</label>
//     <input type="file" id="file" name="file"
//            data-chunked-upload="upload_id"      the name of the hidden input to fill
//            data-csrf="{{ ctx.csrf }}"           the session's CSRF token (sent as X-CSRF-Token)
//            data-api="/api/v1/uploads"           optional, the upload API
//            data-msg-uploading="正在上传 {percent}%（{done} / {total}）"
//            data-msg-resuming="…" data-msg-retrying="…" data-msg-checking="…"
//            data-msg-done="上传完成：{name}" data-msg-failed="上传失败：{reason}">
//     <input type="hidden" name="upload_id">
//     <progress data-upload-progress max="100" value="0" hidden></progress>   optional
//     <span data-upload-status aria-live="polite"></span>                       optional
//     <button type="submit">…</button>
//   </form>
//
// When a file is chosen the script disables the form's submit buttons, creates an upload
// (POST /api/v1/uploads), sends the chunks (PUT …/chunks/{i}, three at a time, each retried
// up to five times with a growing pause), completes it (POST …/complete; polling GET …/{id}
// while a large file is put together), then puts the upload's id into the hidden input,
// removes the file input's name (so the form does not send the file a second time) and
// enables the submit buttons again. An upload interrupted by a reload or a lost connection
// resumes when the same file is chosen again: its id is remembered in localStorage under
// the file's name, size and modification time, and GET …/{id} says which chunks arrived.
// The progress bar and the status line are created after the input when the page has none.
// Events on the input: "jy:uploaded" (detail: the upload) and "jy:upload-failed".
(function () {
  "use strict";
  var RETRIES = 5, PARALLEL = 3, POLL_MS = 1500;

  function fmt(text, args) {
    return String(text).replace(/\{(\w+)\}/g, function (m, k) {
      return Object.prototype.hasOwnProperty.call(args, k) ? args[k] : m;
    });
  }
  function human(n) {
    var units = ["B", "KB", "MB", "GB", "TB"], i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    return (i === 0 ? String(n) : n.toFixed(1)) + " " + units[i];
  }
  function sleep(ms) { return new Promise(function (r) { setTimeout(r, ms); }); }
  function remembered(file) { return "jy-upload:" + file.name + ":" + file.size + ":" + file.lastModified; }
  function store(op, key, value) {
    try {
      if (op === "get") return window.localStorage.getItem(key);
      if (op === "set") window.localStorage.setItem(key, value);
      if (op === "del") window.localStorage.removeItem(key);
    } catch (e) { /* private mode: no resuming after a reload */ }
    return null;
  }

  // One request; resolves with {status, json} (status 0: the network failed).
  function request(method, url, csrf, body, onProgress) {
    return new Promise(function (resolve) {
      var x = new XMLHttpRequest();
      x.open(method, url, true);
      x.setRequestHeader("Accept", "application/json");
      if (csrf) x.setRequestHeader("X-CSRF-Token", csrf);
      if (typeof body === "string") x.setRequestHeader("Content-Type", "application/json");
      else if (body) x.setRequestHeader("Content-Type", "application/octet-stream");
      if (onProgress && x.upload) {
        x.upload.onprogress = function (e) { if (e.lengthComputable) onProgress(e.loaded); };
      }
      x.onload = function () {
        var json = null;
        try { json = x.responseText ? JSON.parse(x.responseText) : null; } catch (e) { json = null; }
        resolve({ status: x.status, json: json });
      };
      x.onerror = x.ontimeout = x.onabort = function () { resolve({ status: 0, json: null }); };
      x.send(body || null);
    });
  }
  function reason(r) {
    if (r.json && r.json.error && r.json.error.message) return r.json.error.message;
    return r.status ? "HTTP " + r.status : "network error";
  }
  function code(r) { return r.json && r.json.error ? r.json.error.code : ""; }

  function setup(input) {
    var form = input.form;
    var hidden = form && form.querySelector('input[name="' + input.getAttribute("data-chunked-upload") + '"]');
    if (!hidden || !window.XMLHttpRequest || !window.Blob || !Blob.prototype.slice) return;
    var base = input.getAttribute("data-api") || "/api/v1/uploads";
    var csrf = input.getAttribute("data-csrf") || "";
    var fieldName = input.name;
    var bar = form.querySelector("[data-upload-progress]");
    if (!bar) {
      bar = document.createElement("progress");
      bar.max = 100; bar.value = 0; bar.hidden = true;
      bar.setAttribute("data-upload-progress", "");
      input.insertAdjacentElement("afterend", bar);
    }
    var status = form.querySelector("[data-upload-status]");
    if (!status) {
      status = document.createElement("span");
      status.setAttribute("data-upload-status", "");
      status.setAttribute("aria-live", "polite");
      bar.insertAdjacentElement("afterend", status);
    }
    var busy = false, run = 0;
    function msg(name, fallback) { return input.getAttribute("data-msg-" + name) || fallback; }
    if (!bar.getAttribute("aria-label")) bar.setAttribute("aria-label", msg("progress", "Upload progress"));
    function show(text) { status.textContent = text; }
    function submits(disabled) {
      form.querySelectorAll('button[type="submit"], button:not([type]), input[type="submit"]')
        .forEach(function (b) { b.disabled = disabled; });
    }
    form.addEventListener("submit", function (e) { if (busy) e.preventDefault(); });

    input.addEventListener("change", function () {
      var file = input.files && input.files[0];
      var mine = ++run;
      hidden.value = "";
      if (fieldName) input.name = fieldName;
      if (!file) { bar.hidden = true; show(""); return; }
      busy = true; submits(true);
      bar.hidden = false; bar.value = 0;
      upload(file, function () { return mine === run; }).then(function (view) {
        if (mine !== run) return;
        hidden.value = view.id;
        input.removeAttribute("name");
        store("del", remembered(file));
        bar.value = 100;
        show(fmt(msg("done", "Uploaded: {name}"), { name: file.name }));
        busy = false; submits(false);
        input.dispatchEvent(new CustomEvent("jy:uploaded", { bubbles: true, detail: view }));
      }, function (err) {
        if (mine !== run) return;
        show(fmt(msg("failed", "Upload failed: {reason}"), { reason: err.message }));
        busy = false; submits(false);
        input.dispatchEvent(new CustomEvent("jy:upload-failed", { bubbles: true, detail: err.message }));
      });
    });

    async function upload(file, current) {
      var key = remembered(file), view = null, saved = store("get", key);
      if (saved) {
        var s = await request("GET", base + "/" + encodeURIComponent(saved), csrf);
        if (s.status === 200 && s.json && s.json.size === file.size) {
          if (s.json.state === "complete") return s.json;
          if (s.json.state === "assembling") return finish(s.json.id, current);
          if (s.json.state === "open") { view = s.json; show(msg("resuming", "Resuming the upload…")); }
        }
      }
      if (!view) {
        var c = await request("POST", base, csrf, JSON.stringify({ file_name: file.name, size: file.size }));
        if (c.status !== 201 || !c.json) throw new Error(reason(c));
        view = c.json;
        store("set", key, view.id);
      }
      var done = null;
      for (var round = 0; round < 3; round++) {
        await send(file, view, current);
        show(msg("checking", "Checking the file…"));
        done = await request("POST", base + "/" + view.id + "/complete", csrf);
        if (done.status === 200 && done.json) return done.json;
        if (done.status === 202) return finish(view.id, current);
        if (done.status !== 409 || code(done) !== "files.chunks_missing") break;
        var again = await request("GET", base + "/" + view.id, csrf);
        if (again.status !== 200 || !again.json) { done = again; break; }
        view = again.json;
      }
      throw new Error(reason(done));
    }

    // Sends the chunks the server does not have yet, PARALLEL at a time.
    async function send(file, view, current) {
      var have = {}, doneBytes = 0, inflight = {};
      view.received.forEach(function (i) { have[i] = true; });
      var queue = [];
      for (var i = 0; i < view.chunks; i++) {
        if (have[i]) doneBytes += Math.min(view.chunk_size, file.size - i * view.chunk_size);
        else queue.push(i);
      }
      function paint() {
        var sent = doneBytes;
        Object.keys(inflight).forEach(function (k) { sent += inflight[k]; });
        var pct = file.size ? Math.min(100, Math.floor(sent * 100 / file.size)) : 100;
        bar.value = pct;
        show(fmt(msg("uploading", "Uploading {percent}% ({done} of {total})"),
          { percent: pct, done: human(sent), total: human(file.size) }));
      }
      paint();
      async function sendOne(i) {
        var start = i * view.chunk_size, part = file.slice(start, Math.min(file.size, start + view.chunk_size));
        for (var attempt = 0; ; attempt++) {
          if (!current()) throw new Error("replaced by another file");
          var r = await request("PUT", base + "/" + view.id + "/chunks/" + i, csrf, part,
            function (loaded) { inflight[i] = loaded; paint(); });
          delete inflight[i];
          if (r.status === 200) { doneBytes += part.size; paint(); return; }
          var transient = r.status === 0 || r.status >= 500 || r.status === 408 || r.status === 429;
          if (!transient || attempt + 1 >= RETRIES) throw new Error(reason(r));
          show(msg("retrying", "Connection lost, trying again…"));
          await sleep(1000 * Math.pow(2, attempt));
        }
      }
      async function worker() {
        while (queue.length) await sendOne(queue.shift());
      }
      var workers = [];
      for (var w = 0; w < PARALLEL; w++) workers.push(worker());
      await Promise.all(workers);
    }

    // Waits while a large file is put together on the server.
    async function finish(id, current) {
      for (var tries = 0; ; tries++) {
        if (!current()) throw new Error("replaced by another file");
        var s = await request("GET", base + "/" + encodeURIComponent(id), csrf);
        if (s.status === 200 && s.json) {
          if (s.json.state === "complete") return s.json;
          if (s.json.state === "refused" && s.json.error) throw new Error(s.json.error.message);
          if (s.json.state !== "assembling") {
            var c = await request("POST", base + "/" + id + "/complete", csrf);
            if (c.status === 200 && c.json) return c.json;
            if (c.status !== 202) throw new Error(reason(c));
          }
        } else if (s.status !== 0 && s.status < 500) {
          throw new Error(reason(s));
        }
        await sleep(POLL_MS);
      }
    }
  }

  document.querySelectorAll('input[type="file"][data-chunked-upload]').forEach(setup);
})();
