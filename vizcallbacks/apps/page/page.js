// The page's behaviour: vizcallbacks/apps/page/template.py puts it in page.html, after the run's data.
(function () {
  "use strict";
  var SVG = "http://www.w3.org/2000/svg";
  var data = JSON.parse(document.getElementById("run-data").textContent);
  var runs = data.runs, timeline = data.timeline, metrics = data.metrics, xKey = data.x.key;
  var last = timeline.length - 1;
  var index = 0, timer = null;

  var viewer = document.getElementById("viewer");
  var scrubber = document.getElementById("scrubber");
  var playButton = document.getElementById("play");
  var counter = document.getElementById("counter");
  var speed = document.getElementById("speed");
  scrubber.max = String(last);

  function el(tag, attrs, parent, ns) {
    var node = ns ? document.createElementNS(ns, tag) : document.createElement(tag);
    for (var key in attrs) { node.setAttribute(key, attrs[key]); }
    if (parent) { parent.appendChild(node); }
    return node;
  }
  function record(run, i) { return runs[run].records[timeline[i].picks[run]]; }
  // compare over several seeds: a run's configuration over its seeds ([x, mean, min, max] per
  // frame) for the figure the movie's strip shows; that chart draws its mean and band.
  function bandOf(run, metric) { return run.band && run.band.key === metric.key ? run.band.points : null; }
  function xOf(rec, i) { return xKey === "index" ? i : rec[xKey]; }
  function fmt(value, digits) {
    if (value === null || value === undefined) { return "–"; }
    if (Number.isInteger(value)) { return value.toLocaleString("en-US"); }
    return value.toFixed(digits === undefined ? 4 : digits);
  }

  // ---- summary line -------------------------------------------------------------------
  (function () {
    var lastRec = runs[0].records[runs[0].records.length - 1];
    var parts = [timeline.length + (timeline.length === 1 ? " frame" : " frames")];
    if (runs.length > 1) { parts.push(runs.length + " runs"); }
    if (lastRec.epoch !== undefined && lastRec.epoch !== null) { parts.push(lastRec.epoch + (lastRec.epoch === 1 ? " epoch" : " epochs")); }
    if (lastRec.time_s !== undefined && lastRec.time_s !== null) { parts.push(fmt(lastRec.time_s, 1) + " s of training"); }
    document.getElementById("summary").textContent = parts.join(" · ");
  })();

  // ---- panels: one image per run, side by side ---------------------------------------------
  if (runs.length > 1) {
    viewer.style.display = "grid";
    viewer.style.gridTemplateColumns = "repeat(" + runs.length + ", minmax(0, 1fr))";
  }
  var panels = runs.map(function (run, r) {
    var figure = el("figure", {"class": "panel"}, viewer);
    if (runs.length > 1) {
      var caption = el("figcaption", {}, figure);
      el("span", {"class": "swatch", "style": "background:" + run.colour}, caption);
      caption.appendChild(document.createTextNode(run.name));
    }
    var img = el("img", {"alt": "frame of " + run.name, "data-run": String(r)}, figure);
    var missing = el("div", {"class": "missing", "hidden": ""}, figure);
    img.addEventListener("error", function () {
      missing.hidden = false; missing.textContent = "frame file not found: " + decodeURIComponent(img.getAttribute("src"));
    });
    img.addEventListener("load", function () { missing.hidden = true; });
    var info = el("div", {"class": "info"}, figure);
    return {img: img, info: info};
  });

  function describe(rec) {
    var parts = [];
    if (rec.epoch !== undefined) { parts.push("epoch " + fmt(rec.epoch)); }
    if (rec.batch !== undefined) { parts.push("batch " + fmt(rec.batch)); }
    if (rec.step !== undefined) { parts.push("step " + fmt(rec.step)); }
    if (rec.examples_seen !== undefined && rec.examples_seen !== null) { parts.push(fmt(rec.examples_seen) + " examples"); }
    metrics.forEach(function (m) { parts.push(m.label + " " + fmt(rec[m.key])); });
    if (rec.time_s !== undefined && rec.time_s !== null) { parts.push(fmt(rec.time_s, 1) + " s"); }
    if (rec.final) { parts.push("final"); }
    return parts.join(" · ");
  }

  // ---- charts ---------------------------------------------------------------------------
  function niceTicks(low, high, count) {
    var span = high - low;
    if (!(span > 0)) { return [low]; }
    var step = Math.pow(10, Math.floor(Math.log10(span / count)));
    var err = count / span * step;
    if (err <= 0.15) { step *= 10; } else if (err <= 0.35) { step *= 5; } else if (err <= 0.75) { step *= 2; }
    var ticks = [];
    for (var t = Math.ceil(low / step) * step; t <= high + step * 1e-9; t += step) { ticks.push(+t.toFixed(10)); }
    return ticks;
  }
  function tickLabel(value) {
    var size = Math.abs(value);
    if (size >= 1e6) { return +(value / 1e6).toFixed(2) + "M"; }
    if (size >= 1e4) { return +(value / 1e3).toFixed(1) + "k"; }
    return String(+value.toFixed(4));
  }

  var xs = timeline.map(function (entry) { return entry.x; });
  runs.forEach(function (run) {
    run.records.forEach(function (rec, i) { var x = xOf(rec, i); if (x !== null && x !== undefined) { xs.push(x); } });
  });
  var xLow = Math.min.apply(null, xs), xHigh = Math.max.apply(null, xs);
  if (!(xHigh > xLow)) { xLow -= 1; xHigh += 1; }

  function makeChart(metric) {
    var box = el("div", {"class": "card chart", "data-metric": metric.key}, document.getElementById("charts"));
    var title = el("h2", {}, box);
    title.appendChild(document.createTextNode(metric.label));
    var valueLabel = el("span", {"class": "value"}, title);
    var values = runs.map(function (run, r) {  // the current value of each run, in its colour
      if (r > 0) { valueLabel.appendChild(document.createTextNode(" / ")); }
      return el("span", runs.length > 1 ? {"style": "color:" + run.colour} : {}, valueLabel);
    });
    var svg = el("svg", {"id": "chart-" + metric.key, "role": "img", "aria-label": metric.label + " curve"}, box, SVG);
    var ys = [];
    runs.forEach(function (run) {
      run.records.forEach(function (rec) {
        if (rec[metric.key] !== null && rec[metric.key] !== undefined) { ys.push(rec[metric.key]); }
      });
      (bandOf(run, metric) || []).forEach(function (p) {
        p.slice(1).forEach(function (y) { if (y !== null) { ys.push(y); } });
      });
    });
    var yLow = ys.length ? Math.min.apply(null, ys) : 0, yHigh = ys.length ? Math.max.apply(null, ys) : 1;
    if (metric.fraction) {  // an accuracy: to the tenth around the values, within 0..1
      yLow = Math.max(0, Math.floor(yLow * 10) / 10);
      yHigh = Math.min(1, Math.ceil(yHigh * 10) / 10);
    } else {  // a margin around the values, not below 0 for a loss that never is
      var pad = (yHigh - yLow) * 0.06 || Math.abs(yHigh) * 0.1 || 1;
      yLow = yLow >= 0 ? Math.max(0, yLow - pad) : yLow - pad;
      yHigh += pad;
    }
    if (!(yHigh > yLow)) { yHigh = yLow + 1; }
    var margin = {left: 46, right: 14, top: 10, bottom: 30};
    var chart = {svg: svg, width: 0, height: 180};

    function plotWidth() { return chart.width - margin.left - margin.right; }
    chart.px = function (x) { return margin.left + (x - xLow) / (xHigh - xLow) * plotWidth(); };
    chart.py = function (y) {
      return margin.top + (1 - (y - yLow) / (yHigh - yLow)) * (chart.height - margin.top - margin.bottom);
    };
    chart.xAt = function (px) { return xLow + (px - margin.left) / plotWidth() * (xHigh - xLow); };

    chart.draw = function () {
      chart.width = Math.max(160, svg.getBoundingClientRect().width || box.clientWidth);
      while (svg.firstChild) { svg.removeChild(svg.firstChild); }
      svg.setAttribute("viewBox", "0 0 " + chart.width + " " + chart.height);
      var bottom = chart.height - margin.bottom;
      niceTicks(yLow, yHigh, 4).forEach(function (t) {
        var y = chart.py(t);
        el("line", {x1: margin.left, x2: chart.width - margin.right, y1: y, y2: y, stroke: "#eef0f3"}, svg, SVG);
        el("text", {x: margin.left - 6, y: y + 3.5, "text-anchor": "end"}, svg, SVG).textContent = tickLabel(t);
      });
      niceTicks(xLow, xHigh, 5).forEach(function (t) {
        var x = chart.px(t);
        el("line", {x1: x, x2: x, y1: margin.top, y2: bottom, stroke: "#eef0f3"}, svg, SVG);
        el("text", {x: x, y: bottom + 14, "text-anchor": "middle"}, svg, SVG).textContent = tickLabel(t);
      });
      if (runs.length === 1) {  // where each epoch after the first begins
        runs[0].records.forEach(function (rec, i) {
          var before = runs[0].records[i - 1];
          if (!before || rec.epoch === undefined || rec.epoch === before.epoch || xOf(rec, i) === null) { return; }
          var x = chart.px(xOf(rec, i));
          el("line", {x1: x, x2: x, y1: margin.top, y2: bottom, stroke: "#cbd2d9", "stroke-dasharray": "3 3"}, svg, SVG);
          el("text", {x: x + 3, y: margin.top + 9}, svg, SVG).textContent = "epoch " + rec.epoch;
        });
      }
      el("line", {x1: margin.left, x2: chart.width - margin.right, y1: bottom, y2: bottom, stroke: "#9aa5b1"}, svg, SVG);
      el("text", {x: chart.width - margin.right, y: chart.height - 3, "text-anchor": "end"}, svg, SVG).textContent = data.x.label;
      runs.forEach(function (run) {
        var band = bandOf(run, metric);
        var points = band ? band.map(function (p) { return [p[0], p[1]]; })
          : run.records.map(function (rec, i) { return [xOf(rec, i), rec[metric.key]]; });
        if (band) {  // min to max over the seeds, out along the top and back along the bottom
          var edge = band.filter(function (p) { return p[2] !== null && p[3] !== null; });
          var outline = edge.map(function (p) { return [p[0], p[3]]; }).concat(
            edge.slice().reverse().map(function (p) { return [p[0], p[2]]; }));
          el("path", {"class": "band", d: outline.map(function (p, k) {
            return (k ? "L" : "M") + chart.px(p[0]).toFixed(2) + " " + chart.py(p[1]).toFixed(2);
          }).join(" ") + " Z", fill: run.colour, "fill-opacity": 0.18, stroke: "none"}, svg, SVG);
        }
        var d = "", pen = "M";
        points.forEach(function (p) {
          var x = p[0], y = p[1];
          if (y === null || y === undefined || x === null || x === undefined) { pen = "M"; return; }
          d += pen + chart.px(x).toFixed(2) + " " + chart.py(y).toFixed(2) + " "; pen = "L";
        });
        el("path", {"class": band ? "curve mean" : "curve", d: d, fill: "none", stroke: run.colour,
                    "stroke-width": 1.8, "stroke-linejoin": "round"}, svg, SVG);
      });
      chart.cursor = el("line", {"class": "cursor", id: "cursor-" + metric.key, y1: margin.top, y2: bottom,
                                 stroke: "var(--cursor)", "stroke-width": 1.5}, svg, SVG);
      chart.dots = runs.map(function (run) {
        return el("circle", {r: 4, fill: run.colour, stroke: "#fff", "stroke-width": 1.5}, svg, SVG);
      });
      chart.move(index);
    };

    chart.move = function (i) {
      var x = chart.px(timeline[i].x);
      chart.cursor.setAttribute("x1", x); chart.cursor.setAttribute("x2", x);
      svg.setAttribute("data-index", String(i));
      chart.dots.forEach(function (dot, r) {
        var rec = record(r, i), band = bandOf(runs[r], metric);
        var y = band ? band[i][1] : rec[metric.key], x = band ? band[i][0] : xOf(rec, timeline[i].picks[r]);
        values[r].textContent = fmt(y);
        if (y === null || y === undefined) { dot.setAttribute("visibility", "hidden"); return; }
        dot.setAttribute("visibility", "visible");
        dot.setAttribute("cx", chart.px(x)); dot.setAttribute("cy", chart.py(y));
      });
    };

    function nearest(px) {
      var x = chart.xAt(px), best = 0;
      for (var i = 1; i <= last; i++) {
        if (Math.abs(timeline[i].x - x) < Math.abs(timeline[best].x - x)) { best = i; }
      }
      return best;
    }
    var dragging = false;
    function jump(event) { var rect = svg.getBoundingClientRect(); show(nearest(event.clientX - rect.left)); }
    svg.addEventListener("pointerdown", function (event) {
      dragging = true; pause(); svg.setPointerCapture(event.pointerId); jump(event);
    });
    svg.addEventListener("pointermove", function (event) { if (dragging) { jump(event); } });
    svg.addEventListener("pointerup", function () { dragging = false; });
    svg.addEventListener("pointercancel", function () { dragging = false; });
    return chart;
  }
  var charts = metrics.map(makeChart);

  // ---- the shared index -------------------------------------------------------------------
  var preloaded = {};
  function preload(i) {
    if (i > last) { return; }
    runs.forEach(function (run, r) {
      var src = record(r, i).src;
      if (!preloaded[src]) { preloaded[src] = true; new Image().src = src; }
    });
  }

  function show(i) {
    index = Math.max(0, Math.min(last, i));
    viewer.setAttribute("data-index", String(index));
    scrubber.value = String(index);
    counter.textContent = (index + 1) + " / " + timeline.length;
    panels.forEach(function (panel, r) {
      var rec = record(r, index);
      if (panel.img.getAttribute("src") !== rec.src) { panel.img.setAttribute("src", rec.src); }
      panel.img.setAttribute("data-file", rec.file);
      panel.info.textContent = describe(rec);
    });
    charts.forEach(function (chart) { chart.move(index); });
    for (var k = 1; k <= 3; k++) { preload(index + k); }
    viewer.dispatchEvent(new CustomEvent("frameshown", {detail: index}));  // for page_dynamics.js
  }

  function play() {
    if (timer !== null) { return; }
    if (index >= last) { show(0); }
    playButton.innerHTML = "&#10074;&#10074; Pause";
    timer = setInterval(function () {
      show(index + 1);
      if (index >= last) { pause(); }  // stopped on the last frame, not one tick after it
    }, 1000 / Number(speed.value));
  }
  function pause() {
    if (timer === null) { return; }
    clearInterval(timer); timer = null;
    playButton.innerHTML = "&#9654; Play";
  }
  playButton.addEventListener("click", function () { if (timer === null) { play(); } else { pause(); } });
  speed.addEventListener("change", function () { if (timer !== null) { pause(); play(); } });
  scrubber.addEventListener("input", function () { pause(); show(Number(scrubber.value)); });
  viewer.addEventListener("showframe", function (event) { pause(); show(event.detail); });  // a panel's click

  document.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey) { return; }
    var target = event.target;
    if (target === speed) { return; }
    if (target && target.tagName === "BUTTON" && (event.key === " " || event.key === "Enter")) { return; }
    var moves = {ArrowLeft: index - 1, ArrowRight: index + 1, Home: 0, End: last};
    if (event.key in moves) {
      event.preventDefault(); pause(); show(moves[event.key]);
    } else if (event.key === " ") {
      event.preventDefault(); if (timer === null) { play(); } else { pause(); }
    }
  });

  var resizeTimer = null;
  window.addEventListener("resize", function () {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(function () { charts.forEach(function (chart) { chart.draw(); }); }, 100);
  });
  charts.forEach(function (chart) { chart.draw(); });
  show(0);
})();
