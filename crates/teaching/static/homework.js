// A student's work: the micro-lesson's progress sent as the video plays (the furthest second
// watched), and a test's countdown from the server's remaining seconds. Everything else works
// without this script.
(function () {
  "use strict";
  var video = document.querySelector("video[data-watched]");
  if (video) {
    var url = video.getAttribute("data-watched");
    var csrf = video.getAttribute("data-csrf");
    var furthest = 0, sent = -1;
    function send(force) {
      if (!force && furthest <= sent) return;
      sent = furthest;
      var body = new URLSearchParams();
      body.set("csrf", csrf);
      body.set("seconds", String(Math.floor(furthest)));
      body.set("duration", String(Math.floor(video.duration || 0)));
      fetch(url, { method: "POST", body: body, credentials: "same-origin", keepalive: true });
    }
    video.addEventListener("timeupdate", function () {
      if (video.currentTime > furthest) furthest = video.currentTime;
      if (furthest - sent >= 10) send();
    });
    video.addEventListener("pause", send);
    video.addEventListener("ended", function () { furthest = video.duration || furthest; send(); });
    video.addEventListener("play", function () { if (sent < 0) send(true); });
  }
  var clock = document.querySelector("[data-remaining]");
  if (clock) {
    var end = Date.now() + Number(clock.getAttribute("data-remaining")) * 1000;
    var tick = function () {
      var left = Math.max(0, Math.round((end - Date.now()) / 1000));
      var m = Math.floor(left / 60), s = left % 60;
      clock.textContent = m + ":" + (s < 10 ? "0" : "") + s;
      if (left === 0) clock.classList.add("over"); else setTimeout(tick, 1000);
    };
    tick();
  }
})();
