// Draws the traffic timeline from the inline data block: one bar per
// interval (packets), bursts in another colour, and below the bars one
// lane per finding with its time span, coloured by severity. Strings are
// set with textContent only.
(function () {
  "use strict";
  var NS = "http://www.w3.org/2000/svg";
  var colours = { critical: "#8e1b1b", high: "#c2410c", medium: "#b58105", low: "#4b6b8a" };
  var data = JSON.parse(document.getElementById("chart-data").textContent);
  var box = document.getElementById("chart");
  function el(name, attrs, text) {
    var e = document.createElementNS(NS, name);
    for (var k in attrs) { e.setAttribute(k, String(attrs[k])); }
    if (text !== undefined) { e.textContent = text; }
    return e;
  }
  var iv = data.intervals;
  if (!iv.length) {
    var p = document.createElement("p");
    p.className = "note";
    p.textContent = "The capture holds no timed packets: nothing to chart.";
    box.appendChild(p);
    box.setAttribute("data-drawn", "0");
    return;
  }
  var lane = 14, fs = data.findings;
  var W = 1100, L = 56, R = 12, T = 12, BH = 180, AX = 24;
  var H = T + BH + AX + fs.length * lane + 6;
  var step = data.interval_ms;
  var t0 = iv[0].start, t1 = iv[iv.length - 1].start + step;
  var maxP = 1;
  iv.forEach(function (b) { if (b.packets > maxP) { maxP = b.packets; } });
  var x = function (t) { return L + (W - L - R) * (Math.min(Math.max(t, t0), t1) - t0) / (t1 - t0); };
  var y = function (n) { return T + BH * (1 - n / maxP); };
  var iso = function (t) { return new Date(t).toISOString().replace("T", " ").slice(0, 19); };
  var svg = el("svg", { viewBox: "0 0 " + W + " " + H, role: "img", "aria-label": "Packets per interval and the findings' time spans" });
  svg.appendChild(el("line", { "class": "axis", x1: L, y1: T + BH, x2: W - R, y2: T + BH }));
  svg.appendChild(el("line", { "class": "axis", x1: L, y1: T, x2: L, y2: T + BH }));
  svg.appendChild(el("text", { x: L - 6, y: T + 10, "text-anchor": "end" }, String(maxP)));
  svg.appendChild(el("text", { x: L - 6, y: T + BH, "text-anchor": "end" }, "0"));
  svg.appendChild(el("text", { x: L, y: T + BH + 16 }, iso(t0)));
  svg.appendChild(el("text", { x: W - R, y: T + BH + 16, "text-anchor": "end" }, iso(t1)));
  var bw = Math.max((W - L - R) / iv.length - 1, 1);
  iv.forEach(function (b) {
    var r = el("rect", { "class": b.burst ? "bar burst" : "bar", x: x(b.start), y: y(b.packets), width: bw, height: T + BH - y(b.packets) });
    r.appendChild(el("title", {}, iso(b.start) + ": " + b.packets + " packets, " + b.bytes + " bytes" + (b.burst ? " (burst)" : "")));
    svg.appendChild(r);
  });
  fs.forEach(function (f, i) {
    var top = T + BH + AX + i * lane;
    var a = x(f.start), b = Math.max(x(f.end), a + 3);
    var c = colours[f.severity] || colours.low;
    var g = el("g", { "class": "finding-span", "data-finding": f.index });
    g.appendChild(el("text", { x: L - 6, y: top + 10, "text-anchor": "end" }, "#" + f.index));
    g.appendChild(el("rect", { x: a, y: top + 2, width: b - a, height: lane - 4, rx: 2, fill: c }));
    g.appendChild(el("title", {}, f.label + ": " + iso(f.start) + " to " + iso(f.end)));
    svg.appendChild(g);
  });
  box.appendChild(svg);
  box.setAttribute("data-drawn", String(iv.length));
})();
