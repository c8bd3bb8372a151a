// The teacher's pen on a photo of paper work: strokes drawn on the SVG over the photo, kept in
// the form's hidden field as JSON in coordinates from 0 to 1000 across and down. Without this
// script the photo and the strokes already drawn still show; marks are given in the form.
(function () {
  "use strict";
  var lang = document.documentElement.lang === "en" ? 1 : 0;
  var words = { undo: ["撤销一笔", "Undo stroke"], clear: ["清除批注", "Clear pen"] };
  function setup(box) {
    var svg = box.querySelector("svg.strokes");
    var field = box.querySelector("input[type=hidden]");
    if (!svg || !field) return;
    var strokes;
    try { strokes = JSON.parse(field.value || "[]"); } catch (e) { strokes = []; }
    var NS = "http://www.w3.org/2000/svg";
    var current = null, line = null;
    box.classList.add("drawing");
    // The strokes as the form holds them (a page back with errors keeps the unsaved ones).
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    strokes.forEach(function (s) {
      var l = document.createElementNS(NS, "polyline");
      l.setAttribute("points", s.map(function (p) { return p[0] + "," + p[1]; }).join(" "));
      svg.appendChild(l);
    });
    function save() { field.value = JSON.stringify(strokes); }
    function point(ev) {
      var r = svg.getBoundingClientRect();
      var x = Math.round(((ev.clientX - r.left) / r.width) * 1000);
      var y = Math.round(((ev.clientY - r.top) / r.height) * 1000);
      return [Math.max(0, Math.min(1000, x)), Math.max(0, Math.min(1000, y))];
    }
    function draw() {
      line.setAttribute("points", current.map(function (p) { return p[0] + "," + p[1]; }).join(" "));
    }
    svg.addEventListener("pointerdown", function (ev) {
      ev.preventDefault();
      svg.setPointerCapture(ev.pointerId);
      current = [point(ev)];
      line = document.createElementNS(NS, "polyline");
      svg.appendChild(line);
      draw();
    });
    svg.addEventListener("pointermove", function (ev) {
      if (!current) return;
      var p = point(ev), last = current[current.length - 1];
      if (Math.abs(p[0] - last[0]) + Math.abs(p[1] - last[1]) < 3) return;
      current.push(p);
      draw();
    });
    function end() {
      if (!current) return;
      if (current.length === 1) current.push(current[0]);
      strokes.push(current);
      current = null;
      save();
    }
    svg.addEventListener("pointerup", end);
    svg.addEventListener("pointercancel", end);
    var tools = document.createElement("div");
    tools.className = "pen-tools";
    function button(label, act) {
      var b = document.createElement("button");
      b.type = "button";
      b.className = "secondary";
      b.textContent = label;
      b.addEventListener("click", act);
      tools.appendChild(b);
    }
    button(words.undo[lang], function () {
      strokes.pop();
      var lines = svg.querySelectorAll("polyline");
      if (lines.length) svg.removeChild(lines[lines.length - 1]);
      save();
    });
    button(words.clear[lang], function () {
      strokes = [];
      while (svg.firstChild) svg.removeChild(svg.firstChild);
      save();
    });
    box.parentNode.insertBefore(tools, box.nextSibling);
  }
  document.querySelectorAll(".pen").forEach(setup);
})();
