"""Composition, in the parent, from the files the runs wrote: movie frames (a header, one
titled panel per configuration, from the first seed's run, the held-out accuracy strip
underneath with each configuration's mean over the seeds and its min-max band, all on the
panels' palette of 224 colours and the configurations' own, `run_colours`) sent through a
`FramePipeline` to the sinks, as the callback's frames are (PNGs, their manifest, the
movies streamed); then summary.png.
"""

from __future__ import annotations

import functools
import math
import os
import sys
import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from ...render.curves import CurveStrip, grey_lut
from ...render.run_colours import run_rgb, with_run_colours
from ...framefiles import FRAMES_DIR, MANIFEST_NAME, RUNS_DIR, partial_path, read_png
from ...render import fit_text, font, make_palette
from .stats import Runs, Spread, config_curves, spread

__all__ = ["Composer", "write_movie", "write_summary_png", "ALIGN_KEYS"]

# Composition: sizes in pixels.
_MARGIN = 12
_PANEL_GAP = 14
_HEADER_H = 46
_TITLE_H = 40
_STRIP_GAP = 6
_CROP_MARGIN = 4
_PANELS_PER_ROW = 4

#: The record's key that each alignment holds equal.
ALIGN_KEYS = {"examples": "examples_seen", "steps": "step", "time": "time_s"}
_AXIS_LABELS = {"examples": "examples seen", "steps": "updates (steps)", "time": "training time (s)"}
_POINT_WORDS = {"examples": "examples seen", "steps": "updates", "time": "of training"}
_RECORD_KEYS = ("index", "file", "point", "step", "examples_seen", "epoch", "time_s", "heldout_accuracy",
                "heldout_loss", "train_accuracy", "train_loss")


def _format_point(align: str, value: float) -> str:
    if align == "time":
        return f"{value:.1f} s"
    return f"{int(round(value)):,}"


def _panel_title(record: Mapping, done: bool) -> str:
    accuracy = record["heldout_accuracy"]
    text = (f"{record['step']:,} updates · epoch {record['epoch']} · held-out acc "
            + ("NaN" if accuracy is None else f"{accuracy:.3f}"))
    return text + (" · done" if done else "")


def _legend(label: str, figure: Spread, seeds: int) -> str:
    if figure.mean is None:
        return f"{label}: —"
    if seeds == 1:
        return f"{label}: {figure.mean:.3f}"
    return f"{label}: {figure.mean:.3f} [{figure.low:.3f}–{figure.high:.3f}]"


class Composer:
    """Movie frames from the runs' panels and figures: a header, one titled panel per
    configuration (the first seed's run), at most four a row, and the accuracy strip
    underneath: each configuration's mean over the seeds, with its min-max band when
    there are several.

    >>> composer = Composer(out_dir, runs, header=("title", "details"), cmap="inferno",
    ...                     heldout_size=1000, x_max=29696)
    >>> frame, figures = composer.frame(512, {"bs32": 1, "bs128": 1})

    Args:
        out_dir: the comparison's folder, holding `runs/<name>/`.
        runs: the runs, their configurations, seeds and records (`stats.Runs`).
        header: the frame's title line and its line of details.
        cmap: the colormap the panels were drawn with: the frames use its palette.
        heldout_size: how many test images the held-out figures come from, for the strip.
        x_max: the strip's last point on its x axis.
    """

    def __init__(self, out_dir: Path, runs: Runs, *, header: tuple[str, str], cmap: str, heldout_size: int,
                 x_max: float):
        self.out_dir, self.runs, self.align, self.header = out_dir, runs, runs.align, header
        self.shown = {config: runs.names[config, runs.seeds[0]] for config in runs.configs}
        # The panels' colours and each configuration's own (`run_colours`), the same on the page.
        self.palette = with_run_colours(make_palette(cmap))
        self.lut = grey_lut(self.palette)
        self.colours = [run_rgb(position) for position in range(len(runs.configs))]
        first = [self._panel(name, 0) for name in self.shown.values()]
        # The panels are drawn without a stamp: drop their empty top band.
        self.crop_top = max(0, min(int(np.argmax((panel != 255).any(axis=(1, 2)))) for panel in first)
                            - _CROP_MARGIN)
        self.panel_h = first[0].shape[0] - self.crop_top
        self.panel_w = first[0].shape[1]
        columns = min(len(runs.configs), _PANELS_PER_ROW)
        rows = math.ceil(len(runs.configs) / columns)
        width = 2 * _MARGIN + columns * self.panel_w + (columns - 1) * _PANEL_GAP
        self.width = width + width % 2
        row_h = _TITLE_H + self.panel_h + _STRIP_GAP
        self.places = {config: (_MARGIN + _HEADER_H + (i // columns) * row_h,
                                _MARGIN + (i % columns) * (self.panel_w + _PANEL_GAP))
                       for i, config in enumerate(runs.configs)}  # each title's top, left
        self.strip_top = _MARGIN + _HEADER_H + rows * row_h
        self._key = ALIGN_KEYS[self.align]
        self.curves = config_curves(runs, self._key)
        accuracies = [value for curve in self.curves.values() for _, figure in curve
                      for value in (figure.low, figure.high) if value is not None] or [0.0, 1.0]
        y_low = max(0.0, math.floor((min(accuracies) - 0.02) * 20) / 20)
        y_high = min(1.0, math.ceil((max(accuracies) + 0.02) * 20) / 20)
        self.strip = CurveStrip(
            self.width, title=f"held-out accuracy ({heldout_size} test images) against {_AXIS_LABELS[self.align]}"
            + ("" if len(runs.seeds) == 1 else f": mean of {len(runs.seeds)} seeds, band min–max"),
            x_label=_AXIS_LABELS[self.align], x_range=(0, x_max), y_range=(y_low, y_high),
            names=[runs.labels[c] for c in runs.configs], colours=self.colours,
            x_format=lambda x: _format_point(self.align, x).replace(" s", ""), integer_ticks=self.align != "time",
            legend_width=190 if len(runs.seeds) == 1 else 300)
        height = self.strip_top + self.strip.height + _MARGIN
        self.height = height + height % 2

    def _panel(self, name: str, index: int) -> np.ndarray:
        return read_png(self.out_dir / RUNS_DIR / name / self.runs.records[name][index]["file"], argument="runs")

    def layout(self) -> dict:
        """Where each configuration's panel (its first seed's run) sits in a frame, by run
        name, for readers of the movie."""
        return {"frame_size": [self.height, self.width], "panel_crop_top": self.crop_top,
                "panels": {self.shown[config]: [top + _TITLE_H, left, self.panel_h, self.panel_w]
                           for config, (top, left) in self.places.items()}}

    # long: one frame, drawn in order
    def frame(self, point: float, shown: Mapping[str, int]) -> tuple[np.ndarray, dict]:
        """One movie frame.

        Args:
            point: the frame's point on the alignment axis (examples, updates or seconds).
            shown: which record of each run the frame shows, by run name (see `frame_plan`).

        Returns:
            The frame (an RGB uint8 array on the palette), and for the movie's manifest:
            "runs", the figures of the records shown, by run name (the first seed's runs),
            and with several seeds "seeds", each configuration's held-out accuracy over them
            (mean, min, max: the strip's curve and band), by the name of the run its panel shows.
        """
        from PIL import Image, ImageDraw

        runs = self.runs
        text = Image.new("L", (self.width, self.height), 255)
        draw = ImageDraw.Draw(text)
        draw.text((_MARGIN, _MARGIN), f"After {_format_point(self.align, point)} {_POINT_WORDS[self.align]}"
                  f"   ·   {self.header[0]}", fill=0, font=font(17, bold=True))
        draw.text((_MARGIN, _MARGIN + 24), fit_text(draw, self.header[1], font(12), self.width - 2 * _MARGIN),
                  fill=70, font=font(12))
        figures, legend, curves, bands, over_seeds = {}, [], [], [], {}
        for config in runs.configs:
            name = self.shown[config]
            record = runs.records[name][shown[name]]
            done = record["final"] and record[self._key] < point
            top, left = self.places[config]
            draw.text((left + 22, top), runs.labels[config], fill=0, font=font(15, bold=True))
            draw.text((left, top + 20), _panel_title(record, done), fill=30, font=font(12))
            figures[name] = {key: record[key] for key in _RECORD_KEYS}
            now = spread([runs.records[run][shown[run]]["heldout_accuracy"] for run in runs.runs_of(config)])
            over_seeds[name] = now.as_json()
            legend.append(_legend(runs.labels[config], now, len(runs.seeds)))
            so_far = self.curves[config][:shown[name] + 1]
            curves.append([(x, figure.mean) for x, figure in so_far])
            bands.append([(x, figure.low, figure.high) for x, figure in so_far])
        text.paste(self.strip.text_layer(point, legend, cursor_text=_format_point(self.align, point)),
                   (0, self.strip_top))
        frame = self.lut[np.asarray(text)]
        for config, (top, left) in self.places.items():
            name = self.shown[config]
            panel = self._panel(name, shown[name])
            frame[top + _TITLE_H:top + _TITLE_H + self.panel_h, left:left + self.panel_w] = panel[self.crop_top:]
        if len(runs.seeds) > 1:
            self.strip.fill_bands(frame, self.strip_top, bands)
        image = Image.fromarray(frame)
        draw = ImageDraw.Draw(image)
        for (top, left), colour in zip(self.places.values(), self.colours):
            draw.rectangle([left, top + 3, left + 15, top + 15], fill=colour)
        self.strip.draw_lines(draw, self.strip_top, curves)
        extra = {} if len(runs.seeds) == 1 else {"seeds": over_seeds}
        return np.asarray(image), {"runs": figures, **extra}


def write_movie(out_dir: Path, composer: Composer, plan, *, formats, fps, overwrite, progress) -> list:
    """The movie's frames, each sent through a `FramePipeline` to the sinks: a PNG in
    `out_dir/frames/`, its manifest line, and every movie format, streamed.

    Args:
        out_dir: the comparison's folder.
        composer: makes the frames.
        plan: (point, {run: record index}) per frame (see `frame_plan`).
        formats: movie formats, e.g. ("gif", "mp4"): `out_dir/movie.<format>` each.
        fps: the movies' frames per second.
        overwrite: replace movies that are there.
        progress: show a progress bar on stderr.

    Returns:
        The finished movies (`vizcallbacks.movie.Movie`).
    """
    from tqdm import tqdm

    from ...movie import writer_for
    from ...pipeline import FramePipeline
    from ...sinks.movie import MovieSink
    from ...sinks import frame_sinks

    writers = [writer_for(out_dir / f"movie.{fmt}", fps=fps, overwrite=overwrite,
                          **({"palette": composer.palette} if fmt == "gif" else {})) for fmt in formats]
    sinks = frame_sinks(out_dir / FRAMES_DIR, out_dir / MANIFEST_NAME, append=False, movie_writers=writers)
    pipeline = FramePipeline(functools.partial(_movie_frame, composer), sinks, background=False)
    try:
        for index, (point, shown) in enumerate(tqdm(plan, desc="movie", unit="frame", file=sys.stderr,
                                                    disable=not progress)):
            pipeline.submit((index, point, shown))
    except BaseException:
        for sink in sinks:  # what was begun is not kept: no movie of part of the frames
            sink.abort()
        raise
    pipeline.close()
    return [sink.movie for sink in sinks if isinstance(sink, MovieSink) and sink.movie is not None]


def _movie_frame(composer: Composer, job) -> tuple:
    """The movie's frame `index` at `point`, and its record (see `Composer.frame`)."""
    from ...sinks.base import NamedRecord

    index, point, shown = job
    frame, figures = composer.frame(point, shown)
    return frame, NamedRecord(f"frame-{index:04d}.png", {"index": index, "align": composer.align, "point": point,
                                                         **figures}, step=index)


def _nan(value):
    return np.nan if value is None else value


def _mean_records(runs: Runs, config: str) -> list[dict]:
    """A configuration's records with each figure the mean over its seeds (None: NaN),
    and "<figure>_min", "<figure>_max" for the held-out figures."""
    by_seed = [runs.records[name] for name in runs.runs_of(config)]
    rows = []
    for i in range(min(len(records) for records in by_seed)):
        row = {"examples_seen": by_seed[0][i]["examples_seen"], "step": by_seed[0][i]["step"]}
        for key in ("heldout_accuracy", "heldout_loss", "train_accuracy", "train_loss"):
            figure = spread([records[i][key] for records in by_seed])
            row[key], row[f"{key}_min"], row[f"{key}_max"] = _nan(figure.mean), _nan(figure.low), _nan(figure.high)
        rows.append(row)
    return rows


def write_summary_png(path: Path, runs: Runs, points: Sequence[dict], colours: Sequence[tuple[int, int, int]],
                      title: str) -> None:
    """The final curves: held-out accuracy against examples seen and against updates, and
    held-out loss; with several seeds each is the mean with a min-max band, and a fourth
    plot says at each point in how many seeds the order of the configurations held.
    Written atomically.

    Args:
        path: the PNG to write.
        runs: the runs, their configurations, seeds and records.
        points: the figures per movie point (see `stats.point_stats`).
        colours: each configuration's colour (RGB 0..255), as in the movie.
        title: the figure's title; several lines allowed.
    """
    from matplotlib.figure import Figure

    several = len(runs.seeds) > 1
    figure = Figure(figsize=(21 if several else 16, 4.8), dpi=100, layout="constrained")
    axes = figure.subplots(1, 4 if several else 3)
    for config, colour in zip(runs.configs, colours):
        rows = _mean_records(runs, config)
        rgb = tuple(c / 255 for c in colour)
        label = runs.labels[config]
        examples = [r["examples_seen"] for r in rows]
        trained = [r for r in rows if r["step"] > 0]  # a log axis has no 0
        axes[0].plot(examples, [r["heldout_accuracy"] for r in rows], "o-", ms=3, color=rgb, label=label)
        axes[0].plot(examples, [r["train_accuracy"] for r in rows], ":", color=rgb)
        axes[1].plot([r["step"] for r in trained], [r["heldout_accuracy"] for r in trained], "o-", ms=3,
                     color=rgb, label=label)
        axes[2].plot(examples, [r["heldout_loss"] for r in rows], "o-", ms=3, color=rgb, label=label)
        if several:
            for ax, x, shown, key in ((axes[0], examples, rows, "heldout_accuracy"),
                                      (axes[1], [r["step"] for r in trained], trained, "heldout_accuracy"),
                                      (axes[2], examples, rows, "heldout_loss")):
                ax.fill_between(x, [r[f"{key}_min"] for r in shown], [r[f"{key}_max"] for r in shown],
                                color=rgb, alpha=0.18, linewidth=0)
    what = "" if not several else f"\nmean of {len(runs.seeds)} seeds, band min–max"
    axes[0].set(xlabel="examples seen", ylabel="accuracy",
                title=f"held-out accuracy (solid), training running accuracy (dotted){what}")
    axes[1].set(xlabel="updates (log scale)", ylabel="held-out accuracy", xscale="log",
                title="held-out accuracy against updates")
    axes[2].set(xlabel="examples seen", ylabel="held-out loss", title="held-out loss")
    if several:
        _plot_order_held(axes[3], runs, points)
    for ax in axes:
        ax.grid(True, alpha=0.3)
        ax.legend(loc="best", fontsize=9)
    figure.suptitle("\n".join(textwrap.fill(line, 250 if several else 190) for line in title.splitlines()),
                    fontsize=11)
    partial = partial_path(path)
    figure.savefig(partial, format="png")
    os.replace(partial, path)


def _plot_order_held(ax, runs: Runs, points: Sequence[dict]) -> None:
    """In how many seeds the first configuration was ahead of the last, and the whole order
    of the mean held, at each point."""
    first, last = runs.configs[0], runs.configs[-1]
    x = [p["point"] for p in points]
    ax.plot(x, [p["ahead"][f"{first}>{last}"] for p in points], "o-", ms=3, color="black",
            label=f"{runs.labels[first]} ahead of {runs.labels[last]}")
    if len(runs.configs) > 2:
        ax.plot(x, [p["seeds_in_order"] for p in points], "s--", ms=3, color="tab:red",
                label="the whole order of the means")
    ax.set(xlabel=_AXIS_LABELS[runs.align], ylabel="seeds", ylim=(-0.2, len(runs.seeds) + 0.2),
           yticks=range(len(runs.seeds) + 1), title="seeds in which the order held, per point")
