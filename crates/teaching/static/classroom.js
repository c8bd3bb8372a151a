// The classroom view: the step's countdown (from data-seconds; red when time is up) and a
// button that shows the slide full screen. Without JavaScript the page works the same,
// without them.
(function () {
  "use strict";
  var timer = document.getElementById("timer");
  if (timer) {
    var left = parseInt(timer.getAttribute("data-seconds"), 10) || 0;
    var show = function () {
      var s = Math.abs(left);
      var text = (left < 0 ? "-" : "") + Math.floor(s / 60) + ":" + ("0" + (s % 60)).slice(-2);
      timer.textContent = text;
      timer.classList.toggle("over", left < 0);
    };
    show();
    setInterval(function () { left -= 1; show(); }, 1000);
  }
  var full = document.getElementById("fullscreen");
  var stage = document.getElementById("stage");
  if (full && stage && stage.requestFullscreen) {
    full.hidden = false;
    full.addEventListener("click", function () {
      if (document.fullscreenElement) { document.exitFullscreen(); } else { stage.requestFullscreen(); }
    });
  }
})();
