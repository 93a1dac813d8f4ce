// attaudit report: token-pair attribution heatmap with layer/head selectors, example toggles.
// Reads the JSON twin embedded in #attaudit-data; no network access.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("attaudit-data").textContent);
  var SVGNS = "http://www.w3.org/2000/svg";
  var PUOR = ["#b35806", "#f1a340", "#fee0b6", "#f7f7f7", "#d8daeb", "#998ec3", "#542788"];

  function hex(c) { return [1, 3, 5].map(function (i) { return parseInt(c.substr(i, 2), 16); }); }
  function diverging(t) {
    var pos = Math.min(1, Math.max(0, (t + 1) / 2)) * (PUOR.length - 1);
    var i = Math.min(Math.floor(pos), PUOR.length - 2), f = pos - i;
    var a = hex(PUOR[i]), b = hex(PUOR[i + 1]);
    return "rgb(" + [0, 1, 2].map(function (k) { return Math.round(a[k] + (b[k] - a[k]) * f); }).join(",") + ")";
  }
  // three decimals, or three significant digits for small scores (0.000 would hide them)
  function fmt(v) { return (v !== 0 && Math.abs(v) < 0.01) ? v.toPrecision(3) : v.toFixed(3); }
  function el(name, attrs, text) {
    var e = document.createElementNS(SVGNS, name);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined) { e.textContent = text; }
    return e;
  }

  function drawHeatmap() {
    var root = document.getElementById("attr-heatmap");
    if (!root) { return; }
    var att = data.stages.attribution;
    var ex = att.examples[+document.getElementById("sel-example").value];
    var layer = +document.getElementById("sel-layer").value;
    var headSel = document.getElementById("sel-head").value;
    var m = headSel === "sum" ? ex.scores_head_summed[layer] : ex.scores[layer][+headSel];
    var T = ex.tokens.length, cell = Math.max(9, Math.min(30, Math.floor(560 / T)));
    var left = 90, top = 90, span = 0;
    m.forEach(function (row) { row.forEach(function (v) { span = Math.max(span, Math.abs(v)); }); });
    span = span || 1;
    var w = left + T * cell + 10, h = top + T * cell + 10;
    var svg = el("svg", {viewBox: "0 0 " + w + " " + h, width: w, height: h, "class": "plot",
                         role: "img", "aria-label": "attribution heatmap"});
    for (var i = 0; i < T; i++) {
      svg.appendChild(el("text", {x: left - 4, y: top + i * cell + cell * 0.7, "class": "ax",
                                  "text-anchor": "end"}, ex.tokens[i]));
      var cx = left + i * cell + cell * 0.7;
      svg.appendChild(el("text", {x: cx, y: top - 4, "class": "ax",
                                  transform: "rotate(-60 " + cx + " " + (top - 4) + ")"}, ex.tokens[i]));
      for (var j = 0; j < T; j++) {
        var v = m[i][j];
        var r = el("rect", {x: left + j * cell, y: top + i * cell, width: cell - 1, height: cell - 1,
                            fill: diverging(v / span), "class": "cell"});
        r.appendChild(el("title", {}, ex.tokens[i] + " \u2192 " + ex.tokens[j] + ": " + fmt(v)));
        svg.appendChild(r);
      }
    }
    root.replaceChildren(svg);
    var list = document.getElementById("attr-top");
    list.replaceChildren();
    ex.top_connections.filter(function (c) { return c.layer === layer; }).forEach(function (c) {
      var li = document.createElement("li");
      var who = c.head === null ? "all heads" : "head " + c.head;
      li.textContent = c.src_token + " \u2192 " + c.dst_token + " (" + who + "): " + fmt(c.score);
      list.appendChild(li);
    });
  }

  function toggleExamples(group, index) {
    document.querySelectorAll('.per-example[data-group="' + group + '"]').forEach(function (e) {
      e.hidden = +e.getAttribute("data-index") !== index;
    });
  }

  document.querySelectorAll("select[data-group]").forEach(function (sel) {
    sel.addEventListener("change", function () { toggleExamples(sel.getAttribute("data-group"), +sel.value); });
    toggleExamples(sel.getAttribute("data-group"), +sel.value);
  });
  ["sel-example", "sel-layer", "sel-head"].forEach(function (id) {
    var s = document.getElementById(id);
    if (s) { s.addEventListener("change", drawHeatmap); }
  });
  drawHeatmap();
  document.body.setAttribute("data-ready", "1");
})();
