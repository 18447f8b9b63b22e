"""A page that plays a run: one self-contained `index.html` next to the frames.

It opens from the file system (no server, no network): the frame, a scrubber over all
frames, play/pause, the arrow keys, and the loss and accuracy curves with a cursor that
follows the frame; a click (or a drag) on the curves jumps to the nearest frame.

The page holds the manifest as JSON and draws the curves itself; it refers to the frames
by their paths relative to the page, so it stays small (a run of 1,000 frames is a page
of a few hundred kilobytes instead of tens of megabytes) and is written in milliseconds.
Keep the page with its frames: move or copy the run's folder as a whole.

Its data is a list of runs sharing one timeline: a single run is a list of one; the
folder that `compare` writes (a manifest in ``runs/<name>/`` per run and one
saying which record of each run every movie frame shows) is shown as one panel per run,
side by side, all moving together.
"""

from __future__ import annotations

import html
import json
import math
import os
import urllib.parse
import warnings
from pathlib import Path

from ...checks import check_path
from ...framefiles import MANIFEST_NAME, RUNS_DIR, read_manifest, write_atomically

__all__ = ["write_page", "write_page_at_end", "PAGE_NAME"]

PAGE_NAME = "index.html"
# Marks a page this module wrote, which it may replace; any other index.html is kept.
_GENERATOR = "vizcallbacks write_page"
# Curve colours of the runs, in order (colour-blind friendly, readable on white).
_RUN_COLOURS = ("#2563eb", "#dc2626", "#059669", "#9333ea", "#d97706", "#0891b2", "#db2777", "#4b5563")
# What each x-axis key is called on the page.
_X_LABELS = {"step": "step (batches trained)", "examples_seen": "examples seen", "time_s": "seconds of training"}
# compare's alignments and the record key each holds equal across runs.
_ALIGN_KEYS = {"examples": "examples_seen", "steps": "step", "time": "time_s"}
# The two charts: the first key a run's records have is drawn (compare's runs record
# held-out figures, a callback's run the training batch's).
_METRICS = ((("heldout_loss", "held-out loss"), ("loss", "loss")),
            (("heldout_accuracy", "held-out accuracy"), ("accuracy", "accuracy")))


def write_page(run_dir, *, manifest=None, out_path=None) -> Path:
    """Write a page that plays the run in `run_dir` and return its path.

    The page (`index.html` in `run_dir` unless `out_path` says otherwise) needs nothing
    but the frame files the manifest lists, found by their paths relative to the page:
    open it in any browser, from the file system. It shows the frame with its epoch,
    batch, step, loss and accuracy; a scrubber; play/pause (Space); Left/Right step one
    frame, Home/End go to the first/last; the loss and accuracy curves, whose cursor
    follows the frame, jump to the nearest frame on a click or a drag.

    A folder written by `compare` (a manifest whose lines name a record of each run,
    and a manifest in each ``runs/<name>/``) gives one panel per run, side by side, moving
    together, with every run's curves in each chart.

    A page written before by this function is replaced; any other file at `out_path` is
    kept (FileExistsError).

    Args:
        run_dir: The run's folder: where `vizcallbacks train` or `compare` wrote it, or
            a callback's `frames_dir`.
        manifest: The run's manifest. Default: `run_dir / MANIFEST_NAME`.
        out_path: Where to write the page, ending in `.html`. Default: `run_dir/index.html`.

    Returns:
        The path of the page.

    Example:

    >>> page = write_page("output/fashion_mnist")
    >>> page
    PosixPath('output/fashion_mnist/index.html')
    >>> import webbrowser; webbrowser.open(page.resolve().as_uri())
    """
    run_dir = _check_run_dir(run_dir)
    manifest_path = _check_manifest(run_dir, manifest)
    out_path = _check_out_path(run_dir, out_path)
    entries = read_manifest(manifest_path, argument="manifest")
    if not entries:
        raise ValueError(
            f"manifest: {str(manifest_path)!r} lists no frames, so there is nothing to play. Pass the "
            "manifest of a run that made at least one frame."
        )
    if all(isinstance(record.get("runs"), dict) for _, record in entries):
        data = _compare_data(run_dir, manifest_path, entries, out_path.parent)
    else:
        data = _single_run_data(run_dir, manifest_path, entries, out_path.parent)
    _warn_missing_frames(data, out_path.parent)
    write_atomically(out_path, _render(data).encode("utf-8"))
    return out_path


def write_page_at_end(run_dir) -> Path | None:
    """`write_page(run_dir)` as `train` and `compare` call it once their files are written:
    a file at `run_dir/index.html` that `write_page` did not write is kept, with a warning,
    rather than failing a run that is done.

    >>> write_page_at_end("output/fashion_mnist")
    PosixPath('output/fashion_mnist/index.html')

    Args:
        run_dir: the finished run's folder (see `write_page`).

    Returns:
        The page's path, or None when another file is where it would go.
    """
    try:
        return write_page(run_dir)
    except FileExistsError as error:
        warnings.warn(f"{error} The run's page was not written; write it elsewhere with "
                      f"`vizcallbacks view {run_dir} --out OTHER.html`.", stacklevel=2)
        return None


# ---- checks -----------------------------------------------------------------------------

def _check_run_dir(run_dir) -> Path:
    path = check_path(run_dir, "run_dir")
    if not path.is_dir():
        raise ValueError(
            f"run_dir must be the folder of a run (its frames and {MANIFEST_NAME}). Received: run_dir="
            f"{str(path)!r}, which {'is not a folder' if path.exists() else 'does not exist'}."
        )
    return path


def _check_manifest(run_dir: Path, manifest) -> Path:
    if manifest is None:
        path = run_dir / MANIFEST_NAME
        if not path.is_file():
            raise ValueError(
                f"run_dir: {str(run_dir)!r} has no {MANIFEST_NAME}. Pass the run's folder (where "
                f"{MANIFEST_NAME} is), or its manifest with manifest=."
            )
        return path
    path = check_path(manifest, "manifest")
    if not path.is_file():
        raise ValueError(
            f"manifest must be a run's {MANIFEST_NAME}. Received: manifest={str(path)!r}, which "
            f"{'is not a file' if path.exists() else 'does not exist'}."
        )
    return path


def _check_out_path(run_dir: Path, out_path) -> Path:
    if out_path is None:
        path = run_dir / PAGE_NAME
    else:
        path = check_path(out_path, "out_path")
    if path.suffix.lower() not in (".html", ".htm"):
        raise ValueError(f"out_path must end in .html. Received: out_path={str(path)!r}.")
    if not path.parent.is_dir():
        raise ValueError(f"out_path: folder {str(path.parent)!r} does not exist. Received: out_path={str(path)!r}.")
    if path.is_dir() or (path.exists() and not _written_here(path)):
        raise FileExistsError(
            f"out_path {str(path)!r} exists and is not a page that write_page wrote; it is kept. "
            "Choose another out_path, or move that file."
        )
    return path


def _written_here(path: Path) -> bool:
    try:
        with open(path, encoding="utf-8", errors="replace") as page:
            return _GENERATOR in page.read(2048)
    except OSError:
        return False


# ---- reading ------------------------------------------------------------------------------

def _files(path: Path, entries) -> list[str]:
    files = []
    for number, record in entries:
        if not isinstance(record.get("file"), str):
            raise ValueError(
                f"manifest: {str(path)!r} line {number} names no frame file (its 'file' is "
                f"{record.get('file')!r}). Each line needs the frame's path, relative to the manifest."
            )
        files.append(record["file"])
    return files


def _url(target: Path, page_dir: Path) -> str:
    """`target` as the page refers to it: relative to the page, or a file: URL when no
    relative path exists (another drive)."""
    try:
        relative = os.path.relpath(target, page_dir)
    except ValueError:
        return target.resolve().as_uri()
    return urllib.parse.quote(relative.replace(os.sep, "/"))


def _number(value):
    """JSON numbers for the page: finite floats and ints; anything else is null."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return value if math.isfinite(value) else None


_RECORD_KEYS = ("epoch", "batch", "step", "examples_seen", "time_s", "accuracy", "loss",
                "heldout_accuracy", "heldout_loss", "train_accuracy", "train_loss")


def _page_record(record: dict, src: str) -> dict:
    kept = {key: _number(record[key]) for key in _RECORD_KEYS if key in record}
    return {"src": src, "file": record["file"], "final": bool(record.get("final")), **kept}


def _metrics(records: list[dict]) -> list[dict]:
    chosen = []
    for choices in _METRICS:
        for key, label in choices:
            if any(record.get(key) is not None for record in records):
                chosen.append({"key": key, "label": label})
                break
        else:
            chosen.append({"key": choices[-1][0], "label": choices[-1][1]})
    return chosen


def _single_run_data(run_dir: Path, manifest_path: Path, entries, page_dir: Path) -> dict:
    files = _files(manifest_path, entries)
    records = [_page_record(record, _url(manifest_path.parent / file, page_dir))
               for (_, record), file in zip(entries, files, strict=True)]
    x_key = "step" if all(record.get("step") is not None for record in records) else None
    timeline = [{"x": record[x_key] if x_key else index, "picks": [index]}
                for index, record in enumerate(records)]
    return {
        "title": run_dir.resolve().name,
        "x": {"key": x_key or "index", "label": _X_LABELS.get(x_key, "frame")},
        "metrics": _metrics(records),
        "runs": [{"name": run_dir.resolve().name, "colour": _RUN_COLOURS[0], "records": records}],
        "timeline": timeline,
    }


def _compare_data(run_dir: Path, manifest_path: Path, entries, page_dir: Path) -> dict:
    names = list(entries[0][1]["runs"])
    runs = []
    for position, name in enumerate(names):
        run_manifest = run_dir / RUNS_DIR / name / MANIFEST_NAME
        if not run_manifest.is_file():
            raise ValueError(
                f"manifest: {str(manifest_path)!r} shows run {name!r}, but {str(run_manifest)!r} does not "
                f"exist. A compare folder holds {RUNS_DIR}/<name>/{MANIFEST_NAME} for each run."
            )
        run_entries = read_manifest(run_manifest, argument="manifest")
        files = _files(run_manifest, run_entries)
        records = [_page_record(record, _url(run_manifest.parent / file, page_dir))
                   for (_, record), file in zip(run_entries, files, strict=True)]
        runs.append({"name": name, "colour": _RUN_COLOURS[position % len(_RUN_COLOURS)], "records": records})
    align = entries[0][1].get("align")
    x_key = _ALIGN_KEYS.get(align, "step")
    timeline = []
    for number, line in entries:
        picks = []
        for name, run in zip(names, runs, strict=True):
            shown = line["runs"].get(name) or {}
            index = shown.get("index")
            if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(run["records"]):
                raise ValueError(
                    f"manifest: {str(manifest_path)!r} line {number} shows record {index!r} of run "
                    f"{name!r}, which has records 0..{len(run['records']) - 1}."
                )
            picks.append(index)
        point = _number(line.get("point"))
        timeline.append({"x": point if point is not None else runs[0]["records"][picks[0]].get(x_key),
                         "picks": picks})
    return {
        "title": run_dir.resolve().name,
        "x": {"key": x_key, "label": _X_LABELS[x_key]},
        "metrics": _metrics([record for run in runs for record in run["records"]]),
        "runs": runs,
        "timeline": timeline,
    }


def _warn_missing_frames(data: dict, page_dir: Path) -> None:
    missing = [record["src"] for run in data["runs"] for record in run["records"]
               if not (page_dir / urllib.parse.unquote(record["src"])).is_file()]
    if missing:
        warnings.warn(
            f"write_page: {len(missing)} of the frames the manifest lists are not on disk "
            f"({missing[0]}{', ...' if len(missing) > 1 else ''}); the page shows their curves "
            "but not their images.", stacklevel=3)


# ---- writing ------------------------------------------------------------------------------

def _render(data: dict) -> str:
    # In a <script> element only "</" can end it early; \u003c is the same string to JSON.
    payload = json.dumps(data, separators=(",", ":"), allow_nan=False).replace("<", "\\u003c")
    return (_TEMPLATE.replace("__GENERATOR__", _GENERATOR)
            .replace("__TITLE__", html.escape(data["title"]))
            .replace("__DATA__", payload))


_TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="generator" content="__GENERATOR__">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>__TITLE__ · vizcallbacks</title>
<style>
:root {
  --fg: #1f2933; --muted: #616e7c; --line: #e4e7eb; --grid: #eef0f3; --cursor: #e11d48;
  --card: #ffffff; --bg: #f5f7fa;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  color: var(--fg); background: var(--bg);
}
body { margin: 0; }
header { padding: 16px 24px 4px; display: flex; align-items: baseline; gap: 16px; flex-wrap: wrap; }
h1 { font-size: 19px; margin: 0; font-weight: 650; }
.sub { color: var(--muted); font-size: 13px; }
main { display: grid; grid-template-columns: minmax(0, 1fr) minmax(320px, 460px); gap: 18px;
       padding: 12px 24px 24px; align-items: start; }
@media (max-width: 960px) { main { grid-template-columns: minmax(0, 1fr); } }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 14px; }
#viewer { display: flex; gap: 14px; flex-wrap: wrap; justify-content: center; align-items: flex-start; }
figure { margin: 0; min-width: 0; }
figure img { display: block; max-width: 100%; max-height: calc(100vh - 230px); width: auto; height: auto;
             margin: 0 auto; background: var(--grid); }
figcaption { font-size: 13px; font-weight: 600; margin-bottom: 6px; display: flex; align-items: center; gap: 6px; }
.swatch { width: 11px; height: 11px; border-radius: 2px; display: inline-block; }
.info { font: 12.5px/1.5 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; color: var(--muted);
        margin-top: 6px; min-height: 1.5em; }
.missing { padding: 40px 20px; color: var(--muted); font-size: 13px; text-align: center; }
.controls { display: flex; align-items: center; gap: 12px; margin-top: 12px; }
.controls button { font: inherit; font-size: 14px; min-width: 84px; padding: 6px 12px; border-radius: 6px;
                   border: 1px solid #cbd2d9; background: #fff; cursor: pointer; }
.controls button:hover { background: #f0f4f8; }
#scrubber { flex: 1; min-width: 120px; accent-color: var(--cursor); }
#counter { font: 13px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; color: var(--muted);
           min-width: 7.5em; text-align: right; }
.controls select { font: inherit; font-size: 13px; padding: 4px; border-radius: 6px; border: 1px solid #cbd2d9; }
.charts { display: flex; flex-direction: column; gap: 12px; }
.chart h2 { font-size: 13px; margin: 0 0 2px; display: flex; justify-content: space-between; font-weight: 600; }
.chart h2 .value { font-weight: 400; color: var(--muted); font-family: ui-monospace, SFMono-Regular, Menlo, monospace; }
.chart svg { display: block; width: 100%; height: 180px; cursor: crosshair; touch-action: none; user-select: none; }
.chart svg text { font-size: 11px; fill: var(--muted); }
.help { font-size: 12px; color: var(--muted); margin-top: 2px; }
kbd { font: 11px ui-monospace, monospace; border: 1px solid #cbd2d9; border-bottom-width: 2px; border-radius: 4px;
      padding: 0 4px; background: #fff; }
</style>
</head>
<body>
<header><h1>__TITLE__</h1><span class="sub" id="summary"></span></header>
<main>
  <section class="card">
    <div id="viewer" data-index="0"></div>
    <div class="controls">
      <button id="play" type="button" aria-label="Play or pause">&#9654; Play</button>
      <input id="scrubber" type="range" min="0" max="0" value="0" step="1" aria-label="Frame">
      <span id="counter"></span>
      <select id="speed" aria-label="Frames per second">
        <option value="2">2 fps</option><option value="5">5 fps</option>
        <option value="10" selected>10 fps</option><option value="20">20 fps</option><option value="30">30 fps</option>
      </select>
    </div>
  </section>
  <section class="charts">
    <div id="charts" class="charts"></div>
    <div class="help"><kbd>&larr;</kbd> <kbd>&rarr;</kbd> one frame &nbsp; <kbd>Home</kbd> <kbd>End</kbd> first, last
      &nbsp; <kbd>Space</kbd> play/pause &nbsp; click or drag a chart to jump</div>
  </section>
</main>
<script type="application/json" id="run-data">__DATA__</script>
<script>
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
    });
    var yLow = ys.length ? Math.min.apply(null, ys) : 0, yHigh = ys.length ? Math.max.apply(null, ys) : 1;
    if (/accuracy/.test(metric.key)) {  // to the tenth around the values, within 0..1
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
        var d = "", pen = "M";
        run.records.forEach(function (rec, i) {
          var y = rec[metric.key], x = xOf(rec, i);
          if (y === null || y === undefined || x === null || x === undefined) { pen = "M"; return; }
          d += pen + chart.px(x).toFixed(2) + " " + chart.py(y).toFixed(2) + " "; pen = "L";
        });
        el("path", {d: d, fill: "none", stroke: run.colour, "stroke-width": 1.8, "stroke-linejoin": "round"}, svg, SVG);
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
        var rec = record(r, i), y = rec[metric.key];
        values[r].textContent = fmt(y);
        if (y === null || y === undefined) { dot.setAttribute("visibility", "hidden"); return; }
        dot.setAttribute("visibility", "visible");
        dot.setAttribute("cx", chart.px(xOf(rec, timeline[i].picks[r]))); dot.setAttribute("cy", chart.py(y));
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
</script>
</body>
</html>
"""
