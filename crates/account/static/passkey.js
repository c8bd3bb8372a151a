// Passkeys (WebAuthn) for Jiaoyun's pages. A button with data-passkey="register", "second"
// or "login" runs the ceremony: POST {begin} for the options, ask the browser's authenticator,
// POST {finish} with its answer, then follow the redirect. Errors go to #passkey-status.
(function () {
  "use strict";
  if (!window.PublicKeyCredential) {
    document.querySelectorAll("[data-passkey]").forEach(function (b) { b.hidden = true; });
    return;
  }
  function b64u(buf) {
    var s = "", bytes = new Uint8Array(buf);
    for (var i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function bytes(s) {
    s = s.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) s += "=";
    return Uint8Array.from(atob(s), function (c) { return c.charCodeAt(0); });
  }
  async function post(url, body) {
    var r = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "content-type": "application/json", "accept": "application/json" },
      body: JSON.stringify(body)
    });
    var j = await r.json().catch(function () { return {}; });
    if (!r.ok) throw new Error(j.error || j.message || String(r.status));
    return j;
  }
  function creation(o) {
    var p = o.publicKey;
    p.challenge = bytes(p.challenge);
    p.user.id = bytes(p.user.id);
    (p.excludeCredentials || []).forEach(function (c) { c.id = bytes(c.id); });
    // A discoverable credential, so that it can also log in without a password.
    p.authenticatorSelection = Object.assign({}, p.authenticatorSelection,
      { residentKey: "required", requireResidentKey: true, userVerification: "required" });
    return { publicKey: p };
  }
  function request(o) {
    var p = o.publicKey;
    p.challenge = bytes(p.challenge);
    (p.allowCredentials || []).forEach(function (c) { c.id = bytes(c.id); });
    return { publicKey: p };
  }
  function attestation(c) {
    return {
      id: c.id, rawId: b64u(c.rawId), type: c.type, extensions: c.getClientExtensionResults(),
      response: {
        attestationObject: b64u(c.response.attestationObject),
        clientDataJSON: b64u(c.response.clientDataJSON)
      }
    };
  }
  function assertion(c) {
    return {
      id: c.id, rawId: b64u(c.rawId), type: c.type, extensions: c.getClientExtensionResults(),
      response: {
        authenticatorData: b64u(c.response.authenticatorData),
        clientDataJSON: b64u(c.response.clientDataJSON),
        signature: b64u(c.response.signature),
        userHandle: c.response.userHandle ? b64u(c.response.userHandle) : null
      }
    };
  }
  async function run(button) {
    var kind = button.dataset.passkey, csrf = button.dataset.csrf;
    var begun = await post(button.dataset.begin, { csrf: csrf });
    var body = { csrf: csrf, token: begun.token };
    if (kind === "register") {
      var name = document.getElementById("passkey-name");
      body.name = name ? name.value : "";
      body.credential = attestation(await navigator.credentials.create(creation(begun.options)));
    } else {
      body.next = button.dataset.next || "/";
      body.credential = assertion(await navigator.credentials.get(request(begun.options)));
    }
    var done = await post(button.dataset.finish, body);
    window.location.assign(done.redirect || "/");
  }
  document.querySelectorAll("[data-passkey]").forEach(function (button) {
    button.addEventListener("click", function () {
      var status = document.getElementById("passkey-status");
      button.disabled = true;
      if (status) status.textContent = "";
      run(button).catch(function (e) {
        button.disabled = false;
        if (status) status.textContent = e && e.name === "NotAllowedError" ? (button.dataset.cancelled || e.message) : e.message;
      });
    });
  });
})();
