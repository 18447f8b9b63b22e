// The learning-dynamics panels (issue 19): template.py puts this in page.html after page.js.
// They are drawn once from the run's data ("dynamics", read from dynamics.json by dynamics.py);
// their cursors follow the frame page.js shows (its "frameshown" event), and a click or a drag
// on a panel asks page.js to show the nearest frame ("showframe").
(function () {
  "use strict";
  var SVG = "http://www.w3.org/2000/svg";
  var data = JSON.parse(document.getElementById("run-data").textContent);
  var dyn = data.dynamics;
  var section = document.getElementById("dynamics");
  if (!dyn || !section || !dyn.steps.length) { return; }
  section.hidden = false;
  var viewer = document.getElementById("viewer");
  var steps = dyn.steps, count = steps.length;
  // viridis, from dark (0) to yellow (1), and a colour per layer for the dead fractions' lines
  var VIRIDIS = [[68, 1, 84], [71, 45, 123], [59, 82, 139], [44, 114, 142], [33, 145, 140],
                 [40, 174, 128], [94, 201, 98], [173, 220, 48], [253, 231, 37]];
  var LINES = ["#2563eb", "#dc2626", "#059669", "#9333ea", "#d97706", "#0891b2", "#db2777", "#4b5563"];
  var cursors = [];

  function el(tag, attrs, parent, ns) {
    var node = ns ? document.createElementNS(ns, tag) : document.createElement(tag);
    for (var key in attrs) { node.setAttribute(key, attrs[key]); }
    if (parent) { parent.appendChild(node); }
    return node;
  }
  function text(tag, attrs, parent, words) { var node = el(tag, attrs, parent); node.textContent = words; return node; }
  function percent(value) { return value === null ? "–" : Math.round(value * 100) + "%"; }
  function viridis(value) {
    var at = Math.max(0, Math.min(1, value)) * (VIRIDIS.length - 1), low = Math.floor(at);
    var high = Math.min(low + 1, VIRIDIS.length - 1), t = at - low;
    return VIRIDIS[low].map(function (c, k) { return Math.round(c + (VIRIDIS[high][k] - c) * t); });
  }

  // ---- frames and columns: one column per analysed step ---------------------------------------
  function frameStep(i) {
    var entry = data.timeline[i], rec = data.runs[0].records[entry.picks[0]];
    return rec.step !== undefined && rec.step !== null ? rec.step : null;
  }
  function columnOf(i) {  // the last step analysed at or before the frame's
    var step = frameStep(i);
    if (step === null) { return Math.min(i, count - 1); }
    var column = 0;
    for (var c = 0; c < count; c++) { if (steps[c] <= step) { column = c; } }
    return column;
  }
  function frameOf(column) {  // the frame nearest to a column's step
    var best = 0, last = data.timeline.length - 1;
    for (var i = 0; i <= last; i++) {
      var step = frameStep(i);
      if (step === null) { return Math.min(column, last); }
      if (Math.abs(step - steps[column]) < Math.abs(frameStep(best) - steps[column])) { best = i; }
    }
    return best;
  }

  // ---- a panel: title, the current step, a plot with a cursor that takes clicks ---------------
  function panel(key, title, note) {
    var box = el("div", {"class": "card dyn-panel", "data-panel": key}, section);
    var heading = text("h2", {}, box, title);
    var value = el("span", {"class": "value"}, heading);
    var body = el("div", {"class": "dyn-body"}, box);
    var labels = el("div", {"class": "dyn-labels"}, body);
    var plot = el("div", {"class": "dyn-plot"}, body);
    var cursor = el("div", {"class": "dyn-cursor", "id": "dyn-cursor-" + key}, plot);
    if (note) { text("div", {"class": "dyn-note"}, box, note); }
    var dragging = false;
    function jump(event) {
      var rect = plot.getBoundingClientRect();
      var column = Math.max(0, Math.min(count - 1, Math.floor((event.clientX - rect.left) / rect.width * count)));
      viewer.dispatchEvent(new CustomEvent("showframe", {detail: frameOf(column)}));
    }
    plot.addEventListener("pointerdown", function (event) { dragging = true; plot.setPointerCapture(event.pointerId); jump(event); });
    plot.addEventListener("pointermove", function (event) { if (dragging) { jump(event); } });
    plot.addEventListener("pointerup", function () { dragging = false; });
    plot.addEventListener("pointercancel", function () { dragging = false; });
    var shown = {box: box, value: value, labels: labels, plot: plot, cursor: cursor, onMove: null};
    cursors.push(shown);
    return shown;
  }

  function cellCanvas(parent, width, height, colourAt) {  // one pixel a cell, scaled by CSS
    var canvas = el("canvas", {width: width, height: height}, parent);
    var context = canvas.getContext("2d"), image = context.createImageData(width, height);
    for (var y = 0; y < height; y++) {
      for (var x = 0; x < width; x++) {
        var rgb = colourAt(x, y), at = (y * width + x) * 4;
        image.data[at] = rgb[0]; image.data[at + 1] = rgb[1]; image.data[at + 2] = rgb[2]; image.data[at + 3] = 255;
      }
    }
    context.putImageData(image, 0, 0);
    return canvas;
  }

  // ---- layer x time: linear CKA ----------------------------------------------------------------
  (function () {
    var cka = dyn.cka, final = cka.kind === "final";
    var shown = panel("cka", final ? "Layer similarity to the final state" : "Layer change from frame to frame (live)",
      final ? "Linear CKA of each layer's activations with those at the end (1: settled). A network that " +
              "converges bottom up turns yellow from the top row down."
            : "Linear CKA of each layer's activations with the previous frame's (1: unchanged); the map to " +
              "the final state comes when the run ends.");
    // The colours span the values shown, from a tenth below the lowest to 1: CKA of a layer
    // with a state of its own run rarely falls far, and a 0..1 scale would show one colour.
    var known = [].concat.apply([], cka.values).filter(function (value) { return value !== null; });
    var low = Math.min(0.9, Math.floor(Math.min.apply(null, known.concat([1])) * 10) / 10);
    text("div", {"class": "dyn-note"}, shown.box, "Colour: " + low.toFixed(1) + " (dark) to 1 (yellow).");
    var names = cka.layers.map(function (name) { return text("div", {}, shown.labels, name); });
    var canvas = cellCanvas(shown.plot, count, cka.layers.length, function (x, y) {
      var value = cka.values[y][x];
      return value === null ? [238, 240, 243] : viridis((value - low) / (1 - low));
    });
    canvas.setAttribute("class", "dyn-map");
    canvas.style.height = (cka.layers.length * 18) + "px";
    shown.onMove = function (column) {
      names.forEach(function (label, layer) {
        var value = cka.values[layer][column];
        label.textContent = cka.layers[layer] + " " + (value === null ? "–" : value.toFixed(2));
      });
    };
  })();

  // ---- examples x time: right or wrong ---------------------------------------------------------
  if (dyn.raster) {
    (function () {
      var raster = dyn.raster;
      var note = raster.examples + " tracked training examples, one a row, sorted by the step each was first " +
                 "learned (never learned: bottom); green right, red wrong.";
      if (dyn.unforgettable_fraction !== null) { note += " Unforgettable so far: " + percent(dyn.unforgettable_fraction) + "."; }
      if (raster.noisy_rows.length) { note += " Marked at the right: the " + raster.noisy_rows.length + " with a flipped label."; }
      var shown = panel("raster", "Examples learned and forgotten", note);
      el("img", {"class": "dyn-raster", "src": raster.src, "alt": "right/wrong raster of the tracked examples"}, shown.plot);
      if (raster.noisy_rows.length) {
        var marked = {};
        raster.noisy_rows.forEach(function (row) { marked[row] = true; });
        var marks = cellCanvas(shown.box.querySelector(".dyn-body"), 1, Math.max(1, raster.examples), function (x, y) {
          return marked[y] ? [147, 51, 234] : [255, 255, 255];
        });
        marks.setAttribute("class", "dyn-noisy");
        marks.setAttribute("title", "examples with a flipped label");
      }
    })();
  }

  // ---- dead fraction per layer over time -----------------------------------------------------
  (function () {
    var dead = dyn.dead;
    var shown = panel("dead", "Dead units per layer",
      "The fraction of each layer's units that output zero (ReLU) or saturate (sigmoid, tanh) on every probe input.");
    // The scale: 0 to the tenth above the highest fraction (at least 10%), said at the top left.
    var highest = Math.max.apply(null, [].concat.apply([], dead.values).filter(function (v) { return v !== null; }).concat([0]));
    var top = Math.max(0.1, Math.ceil(highest * 10) / 10);
    text("div", {"class": "dyn-scale"}, shown.plot, percent(top));
    var svg = el("svg", {"class": "dyn-lines", viewBox: "0 0 " + count + " 100", preserveAspectRatio: "none"}, shown.plot, SVG);
    [0, 50, 100].forEach(function (y) {
      el("line", {x1: 0, x2: count, y1: y, y2: y, stroke: "#eef0f3", "vector-effect": "non-scaling-stroke"}, svg, SVG);
    });
    var legend = dead.layers.map(function (name, layer) {
      var colour = LINES[layer % LINES.length], d = "", pen = "M";
      dead.values[layer].forEach(function (value, x) {
        if (value === null) { pen = "M"; return; }
        d += pen + (x + 0.5) + " " + (100 - value / top * 100).toFixed(2) + " "; pen = "L";
      });
      el("path", {d: d, fill: "none", stroke: colour, "stroke-width": 1.8, "vector-effect": "non-scaling-stroke"}, svg, SVG);
      return text("div", {"style": "color:" + colour}, shown.labels, name);
    });
    shown.onMove = function (column) {
      legend.forEach(function (label, layer) { label.textContent = dead.layers[layer] + " " + percent(dead.values[layer][column]); });
    };
  })();

  function move(index) {
    var column = columnOf(index);
    cursors.forEach(function (shown) {
      shown.cursor.style.left = ((column + 0.5) / count * 100) + "%";
      shown.cursor.setAttribute("data-column", String(column));
      shown.value.textContent = "step " + steps[column].toLocaleString("en-US");
      if (shown.onMove) { shown.onMove(column); }
    });
  }
  viewer.addEventListener("frameshown", function (event) { move(event.detail); });
  move(Number(viewer.getAttribute("data-index")) || 0);
})();
