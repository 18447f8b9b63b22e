"""What the page shows, read from a run's manifests: its records, curves and timeline.

A single run is a list of one run; the folder that `compare` writes (a manifest in
``runs/<name>/`` per run, and one saying which record of each run every movie frame shows)
is a list of runs on one timeline. The curves are the figures of `figures.FIGURES` that
the records hold, one chart per `Figure.chart`.
"""

from __future__ import annotations

import math
import os
import urllib.parse
from pathlib import Path

from ...figures import FIGURE_KEYS, FIGURES, figure
from ...framefiles import MANIFEST_NAME, RUNS_DIR, read_manifest
from ...render.run_colours import run_colour

__all__ = ["page_data", "missing_frames", "page_url"]

# The figure compare's movie shows over seeds (its strip): the page shows the same.
_BAND_KEY = "heldout_accuracy"
# What each x-axis key is called on the page.
_X_LABELS = {"step": "step (batches trained)", "examples_seen": "examples seen", "time_s": "seconds of training"}
# compare's alignments and the record key each holds equal across runs.
_ALIGN_KEYS = {"examples": "examples_seen", "steps": "step", "time": "time_s"}
# What the page keeps of a record, besides its frame and whether it is the final one.
_RECORD_KEYS = ("epoch", "batch", "step", "examples_seen", "time_s", *FIGURE_KEYS)
# The chart every run has comes first; the others follow in the table's order.
_FIRST_CHART = "loss"


def page_data(run_dir: Path, manifest_path: Path, entries: list[tuple[int, dict]], page_dir: Path) -> dict:
    """The page's data for a run (or a comparison's folder of runs).

    Args:
        run_dir: the run's folder.
        manifest_path: its manifest.
        entries: the manifest's (line number, record) pairs (`read_manifest`), at least one.
        page_dir: the folder of the page, which the frames' paths are relative to.

    Returns:
        {"title", "x": {"key", "label"}, "metrics": [{"key", "label", "fraction"}],
        "runs": [{"name", "colour", "records"}], "timeline": [{"x", "picks"}]}; a comparison
        over several seeds gives each run "band": {"key", "points": [[x, mean, min, max]]},
        its configuration's figure over the seeds at each frame, as the movie's strip.

    Raises:
        ValueError: a line names no frame file; a comparison's run or record is missing.
    """
    if all(isinstance(record.get("runs"), dict) for _, record in entries):
        return _compare_data(run_dir, manifest_path, entries, page_dir)
    return _single_run_data(run_dir, manifest_path, entries, page_dir)


def missing_frames(data: dict, page_dir: Path) -> list[str]:
    """The frames `data` refers to that are not on disk.

    Args:
        data: the page's data (see `page_data`).
        page_dir: the folder of the page.

    Returns:
        Their paths as the page refers to them, in order.
    """
    return [record["src"] for run in data["runs"] for record in run["records"]
            if not (page_dir / urllib.parse.unquote(record["src"])).is_file()]


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


def page_url(target: Path, page_dir: Path) -> str:
    """`target` as the page refers to it (see `_url`), for the other files a page shows.

    Args:
        target: a file the page shows.
        page_dir: the folder of the page.
    """
    return _url(target, page_dir)


def _number(value):
    """JSON numbers for the page: finite floats and ints; anything else is null."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return value if math.isfinite(value) else None


def _page_record(record: dict, src: str) -> dict:
    kept = {key: _number(record[key]) for key in _RECORD_KEYS if key in record}
    return {"src": src, "file": record["file"], "final": bool(record.get("final")), **kept}


def _metrics(records: list[dict]) -> list[dict]:
    """One chart per `Figure.chart` that some record has a figure of: the first such figure
    in the table's order (a run's held-out loss, else its training loss); the loss's chart
    first, and alone when the records have no figure at all."""
    shown = {}
    for row in FIGURES:
        if row.chart is not None and row.chart not in shown \
                and any(record.get(row.key) is not None for record in records):
            shown[row.chart] = row
    if not shown:
        shown[_FIRST_CHART] = figure(_FIRST_CHART)
    charts = sorted(shown, key=lambda chart: chart != _FIRST_CHART)  # stable: the rest keep table order
    return [{"key": shown[chart].key, "label": shown[chart].label, "fraction": shown[chart].fraction}
            for chart in charts]


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
        "runs": [{"name": run_dir.resolve().name, "colour": run_colour(0), "records": records}],
        "timeline": timeline,
    }


def _compare_runs(run_dir: Path, manifest_path: Path, names: list[str], page_dir: Path) -> list[dict]:
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
        runs.append({"name": name, "colour": run_colour(position), "records": records})
    return runs


def _compare_data(run_dir: Path, manifest_path: Path, entries, page_dir: Path) -> dict:
    names = list(entries[0][1]["runs"])
    runs = _compare_runs(run_dir, manifest_path, names, page_dir)
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
    _add_bands(runs, names, entries, timeline)
    return {
        "title": run_dir.resolve().name,
        "x": {"key": x_key, "label": _X_LABELS[x_key]},
        "metrics": _metrics([record for run in runs for record in run["records"]]),
        "runs": runs,
        "timeline": timeline,
    }


def _add_bands(runs: list[dict], names: list[str], entries, timeline: list[dict]) -> None:
    """With several seeds (the movie's lines hold "seeds": each shown run's configuration
    over its seeds), each run's band: [x, mean, min, max] at each frame."""
    if not all(isinstance(line.get("seeds"), dict) for _, line in entries):
        return
    for name, run in zip(names, runs, strict=True):
        points = []
        for (_, line), point in zip(entries, timeline, strict=True):
            figure = line["seeds"].get(name) or {}
            points.append([point["x"], *(_number(figure.get(key)) for key in ("mean", "min", "max"))])
        run["band"] = {"key": _BAND_KEY, "points": points}
