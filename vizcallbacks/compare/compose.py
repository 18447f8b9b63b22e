"""Composition, in the parent, from the files the runs wrote: movie frames (a header, one
titled panel per run side by side, the held-out accuracy strip underneath, all on the
panels' palette of 224 colours) written as PNGs with their manifest and streamed into the
movie writers; then the verdict and summary.png.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..framefiles import FRAMES_DIR, MANIFEST_NAME, ManifestWriter, partial_path, read_png, write_frame
from ..render import fit_text, font, make_palette
from .schedule import RUNS_DIR

__all__ = ["Composer", "Verdict", "write_movie", "make_verdict", "write_summary_png"]

# Composition: sizes in pixels.
_MARGIN = 12
_PANEL_GAP = 14
_HEADER_H = 46
_TITLE_H = 40
_STRIP_H = 250
_STRIP_GAP = 6
_CROP_MARGIN = 4
# Target colours for the runs' curves; each becomes the nearest colour of the panels'
# palette, so every frame stays on that one palette and the GIF is exact.
_RUN_TARGETS = ((80, 20, 140), (245, 125, 20), (30, 160, 50), (215, 40, 40), (150, 150, 150),
                (190, 60, 120))


def _grey_lut(palette: np.ndarray) -> np.ndarray:
    """RGB of the palette grey nearest to each of the 256 L values: text is drawn in L
    (antialiased) and lands on the palette's greys."""
    greys = np.flatnonzero((palette[:, 0] == palette[:, 1]) & (palette[:, 1] == palette[:, 2]))
    levels = palette[greys, 0].astype(np.int64)
    nearest = np.abs(np.arange(256)[:, None] - levels[None, :]).argmin(axis=1)
    return palette[greys[nearest]]


def _run_colours(palette: np.ndarray, count: int) -> list[tuple[int, int, int]]:
    colours = []
    for i in range(count):
        target = np.array(_RUN_TARGETS[i % len(_RUN_TARGETS)], dtype=np.int64)
        nearest = int(((palette.astype(np.int64) - target) ** 2).sum(axis=1).argmin())
        colours.append(tuple(int(c) for c in palette[nearest]))
    return colours


def _nice_ticks(low: float, high: float, count: int = 5, *, integer: bool = False) -> list[float]:
    from matplotlib.ticker import MaxNLocator

    return [float(t) for t in MaxNLocator(nbins=count, integer=integer).tick_values(low, high) if low - 1e-9 <= t <= high + 1e-9]


_AXIS_LABELS = {"examples": "examples seen", "steps": "updates (steps)", "time": "training time (s)"}
_POINT_WORDS = {"examples": "examples seen", "steps": "updates", "time": "of training"}


def _format_point(align: str, value: float) -> str:
    if align == "time":
        return f"{value:.1f} s"
    return f"{int(round(value)):,}"


class _Strip:
    """Held-out accuracy against the alignment key, for every run so far, with a cursor
    at the current point; drawn with PIL on the palette's colours. The axes, ticks and
    labels are drawn once; each frame adds the lines."""

    def __init__(self, width: int, *, align: str, x_max: float, y_range: tuple[float, float],
                 names: Sequence[str], colours: Sequence[tuple[int, int, int]], heldout_size: int):
        from PIL import Image, ImageDraw

        self.width, self.height, self.align = width, _STRIP_H, align
        self.names, self.colours = list(names), list(colours)
        self.left, self.right = 64, width - 190
        self.top, self.bottom = 40, _STRIP_H - 44
        self.x_max = x_max if x_max > 0 else 1.0
        self.y_low, self.y_high = y_range
        base = Image.new("L", (width, _STRIP_H), 255)
        draw = ImageDraw.Draw(base)
        small = font(11)
        draw.text((self.left, 4), f"held-out accuracy ({heldout_size} test images) against "
                  f"{_AXIS_LABELS[align]}", fill=0, font=font(13, bold=True))
        for y in _nice_ticks(self.y_low, self.y_high):
            py = self.y_px(y)
            draw.line([(self.left, py), (self.right, py)], fill=225)
            draw.text((self.left - 6, py), f"{y:.2f}", fill=60, font=small, anchor="rm")
        for x in _nice_ticks(0, self.x_max, 6, integer=align != "time"):
            px = self.x_px(x)
            draw.line([(px, self.top), (px, self.bottom)], fill=235)
            draw.text((px, self.bottom + 6), _format_point(align, x).replace(" s", ""), fill=60,
                      font=small, anchor="mt")
        draw.rectangle([self.left, self.top, self.right, self.bottom], outline=120)
        draw.text(((self.left + self.right) // 2, self.bottom + 24), _AXIS_LABELS[align], fill=40,
                  font=font(12), anchor="mt")
        self.base = base

    def x_px(self, x: float) -> int:
        return round(self.left + (self.right - self.left) * min(max(x / self.x_max, 0.0), 1.0))

    def y_px(self, y: float) -> int:
        span = max(self.y_high - self.y_low, 1e-9)
        return round(self.bottom - (self.bottom - self.top) * min(max((y - self.y_low) / span, 0.0), 1.0))

    def text_layer(self, point: float, current: Sequence[float | None]):
        """The strip's L layer for one frame: base, cursor and legend values."""
        from PIL import ImageDraw

        layer = self.base.copy()
        draw = ImageDraw.Draw(layer)
        px = self.x_px(point)
        for y in range(self.top, self.bottom, 6):  # dashed cursor
            draw.line([(px, y), (px, min(y + 3, self.bottom))], fill=90)
        draw.text((px, self.top - 2), _format_point(self.align, point), fill=30, font=font(11), anchor="mb")
        legend = font(12)
        for i, (name, value) in enumerate(zip(self.names, current)):
            text = f"{name}: " + ("—" if value is None else f"{value:.3f}")
            draw.text((self.right + 34, self.top + 6 + i * 20), text, fill=0, font=legend)
        return layer

    def draw_lines(self, draw, offset_y: int, curves: Sequence[Sequence[tuple[float, float]]]) -> None:
        for i, (curve, colour) in enumerate(zip(curves, self.colours)):
            y = offset_y + self.top + 6 + i * 20
            draw.rectangle([self.right + 12, y + 3, self.right + 28, y + 11], fill=colour)
            pixels = [(self.x_px(x), offset_y + self.y_px(acc)) for x, acc in curve if acc is not None]
            if len(pixels) > 1:
                draw.line(pixels, fill=colour, width=2)
            for px, py in pixels:
                draw.rectangle([px - 2, py - 2, px + 2, py + 2], fill=colour)


def _panel_title(record: Mapping, done: bool) -> str:
    accuracy = record["heldout_accuracy"]
    text = (f"{record['step']:,} updates · epoch {record['epoch']} · held-out acc "
            + ("NaN" if accuracy is None else f"{accuracy:.3f}"))
    return text + (" · done" if done else "")


class Composer:
    """Movie frames from the runs' panels and figures: a header, one titled panel per
    run side by side, and the accuracy strip underneath.

    >>> composer = Composer(out_dir, runs, records, align="examples", header=("title", "details"),
    ...                     cmap="inferno", heldout_size=1000, x_max=29696)
    >>> frame, figures = composer.frame(512, {"bs32": 1, "bs128": 1})

    Args:
        out_dir: the comparison's folder, holding `runs/<name>/`.
        runs: what each run returned (its `run.json`), smallest batch first.
        records: each run's manifest lines, by run name.
        align: what each frame holds equal: "examples", "steps" or "time".
        header: the frame's title line and its line of details.
        cmap: the colormap the panels were drawn with: the frames use its palette.
        heldout_size: how many test images the held-out figures come from, for the strip.
        x_max: the strip's last point on its x axis.
    """

    def __init__(self, out_dir: Path, runs: Sequence[dict], records: Mapping[str, list[dict]], *,
                 align: str, header: tuple[str, str], cmap: str, heldout_size: int, x_max: float):
        self.out_dir, self.runs, self.records, self.align, self.header = out_dir, runs, records, align, header
        self.palette = make_palette(cmap)
        self.lut = _grey_lut(self.palette)
        self.colours = _run_colours(self.palette, len(runs))
        first = [self._panel(run["name"], 0) for run in runs]
        # The panels are drawn without a stamp: drop their empty top band.
        self.crop_top = max(0, min(int(np.argmax((panel != 255).any(axis=(1, 2)))) for panel in first)
                            - _CROP_MARGIN)
        self.panel_h = first[0].shape[0] - self.crop_top
        self.panel_w = first[0].shape[1]
        width = 2 * _MARGIN + len(runs) * self.panel_w + (len(runs) - 1) * _PANEL_GAP
        self.width = width + width % 2
        self.panel_top = _MARGIN + _HEADER_H + _TITLE_H
        self.panel_left = [_MARGIN + i * (self.panel_w + _PANEL_GAP) for i in range(len(runs))]
        self.strip_top = self.panel_top + self.panel_h + _STRIP_GAP
        height = self.strip_top + _STRIP_H + _MARGIN
        self.height = height + height % 2
        accuracies = [r["heldout_accuracy"] for run in records.values() for r in run
                      if r["heldout_accuracy"] is not None] or [0.0, 1.0]
        y_low = max(0.0, math.floor((min(accuracies) - 0.02) * 20) / 20)
        y_high = min(1.0, math.ceil((max(accuracies) + 0.02) * 20) / 20)
        self.strip = _Strip(self.width, align=align, x_max=x_max, y_range=(y_low, y_high),
                            names=[f"batch {run['batch_size']}" for run in runs], colours=self.colours,
                            heldout_size=heldout_size)
        self._key = {"examples": "examples_seen", "steps": "step", "time": "time_s"}[align]

    def _panel(self, name: str, index: int) -> np.ndarray:
        return read_png(self.out_dir / RUNS_DIR / name / self.records[name][index]["file"], argument="runs")

    def layout(self) -> dict:
        """Where each run's panel sits in a frame, for readers of the movie."""
        return {"frame_size": [self.height, self.width], "panel_crop_top": self.crop_top,
                "panels": {run["name"]: [self.panel_top, left, self.panel_h, self.panel_w]
                           for run, left in zip(self.runs, self.panel_left)}}

    def frame(self, point: float, shown: Mapping[str, int]) -> tuple[np.ndarray, dict]:
        """One movie frame.

        Args:
            point: the frame's point on the alignment axis (examples, updates or seconds).
            shown: which record of each run the frame shows, by run name (see `frame_plan`).

        Returns:
            The frame (an RGB uint8 array on the palette), and the figures of the records
            shown, by run name, for the movie's manifest.
        """
        from PIL import Image, ImageDraw

        text = Image.new("L", (self.width, self.height), 255)
        draw = ImageDraw.Draw(text)
        draw.text((_MARGIN, _MARGIN), f"After {_format_point(self.align, point)} {_POINT_WORDS[self.align]}"
                  f"   ·   {self.header[0]}", fill=0, font=font(17, bold=True))
        draw.text((_MARGIN, _MARGIN + 24), fit_text(draw, self.header[1], font(12), self.width - 2 * _MARGIN),
                  fill=70, font=font(12))
        figures, current, curves = {}, [], []
        for run, left in zip(self.runs, self.panel_left):
            name = run["name"]
            record = self.records[name][shown[name]]
            done = record["final"] and record[self._key] < point
            top = _MARGIN + _HEADER_H
            draw.text((left + 22, top), f"batch {run['batch_size']}", fill=0, font=font(15, bold=True))
            draw.text((left, top + 20), _panel_title(record, done), fill=30, font=font(12))
            figures[name] = {key: record[key] for key in ("index", "file", "point", "step", "examples_seen",
                                                           "epoch", "time_s", "heldout_accuracy",
                                                           "heldout_loss", "train_accuracy", "train_loss")}
            current.append(record["heldout_accuracy"])
            curves.append([(r[self._key], r["heldout_accuracy"]) for r in self.records[name][:shown[name] + 1]])
        strip_text = self.strip.text_layer(point, current)
        text.paste(strip_text, (0, self.strip_top))
        frame = self.lut[np.asarray(text)]
        for run, left in zip(self.runs, self.panel_left):
            name = run["name"]
            panel = self._panel(name, shown[name])
            frame[self.panel_top:self.panel_top + self.panel_h, left:left + self.panel_w] = panel[self.crop_top:]
        image = Image.fromarray(frame)
        draw = ImageDraw.Draw(image)
        for left, colour in zip(self.panel_left, self.colours):
            top = _MARGIN + _HEADER_H
            draw.rectangle([left, top + 3, left + 15, top + 15], fill=colour)
        self.strip.draw_lines(draw, self.strip_top, curves)
        return np.asarray(image), figures


def write_movie(out_dir: Path, composer: Composer, plan, *, formats, fps, overwrite, progress) -> list:
    """The movie's frames as PNGs in `out_dir/frames/`, each with its manifest line, streamed
    into every movie format.

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

    from ..movie import writer_for

    frames_dir = out_dir / FRAMES_DIR
    frames_dir.mkdir(parents=True, exist_ok=True)
    writers = [writer_for(out_dir / f"movie.{fmt}", fps=fps, overwrite=overwrite,
                          **({"palette": composer.palette} if fmt == "gif" else {})) for fmt in formats]
    try:
        with ManifestWriter(out_dir / MANIFEST_NAME, append=False) as manifest:
            for index, (point, shown) in enumerate(tqdm(plan, desc="movie", unit="frame", file=sys.stderr,
                                                        disable=not progress)):
                frame, figures = composer.frame(point, shown)
                write_frame(frame, frames_dir / f"frame-{index:04d}.png", manifest,
                            {"index": index, "align": composer.align, "point": point, "runs": figures})
                for writer in writers:
                    writer.grab_frame(frame)
    except BaseException:
        for writer in writers:
            writer.abort()
        raise
    return [movie for movie in (writer.finish() for writer in writers) if movie is not None]


# ---- verdict and summary ----------------------------------------------------------------------

@dataclass(frozen=True)
class Verdict:
    """Whether the smallest batch was ahead of the largest on held-out accuracy after
    the same number of examples: at the end, and at how many of the aligned points.

    Args:
        smaller_batch_ahead: the smallest batch's final held-out accuracy is the higher.
        examples_seen: the examples every run had seen at the end.
        accuracies: each run's final held-out accuracy, by run name (None: diverged).
        points_ahead: at how many points after the first the smallest batch was ahead
            (examples and time alignment; else None).
        points_compared: how many points were compared (else None).
        text: all of it in a sentence.
    """

    smaller_batch_ahead: bool
    examples_seen: int
    accuracies: dict
    points_ahead: int | None
    points_compared: int | None
    text: str


def make_verdict(runs: Sequence[dict], records: Mapping[str, list[dict]], align: str) -> Verdict:
    """The comparison's verdict from the runs' records.

    Args:
        runs: what each run returned, smallest batch first.
        records: each run's manifest lines, by run name.
        align: what each point held equal: "examples", "steps" or "time".

    Returns:
        The `Verdict`.
    """
    small, large = runs[0], runs[-1]
    finals = {run["name"]: records[run["name"]][-1] for run in runs}
    accuracies = {run["name"]: finals[run["name"]]["heldout_accuracy"] for run in runs}
    examples_seen = min(final["examples_seen"] for final in finals.values())
    small_acc, large_acc = accuracies[small["name"]], accuracies[large["name"]]
    ahead = small_acc is not None and (large_acc is None or small_acc > large_acc)
    points_ahead = points_compared = None
    if align in ("examples", "time"):
        pairs = list(zip(records[small["name"]], records[large["name"]]))[1:]  # point 0: same weights
        points_compared = len(pairs)
        points_ahead = sum(1 for a, b in pairs if a["heldout_accuracy"] is not None and (
            b["heldout_accuracy"] is None or a["heldout_accuracy"] > b["heldout_accuracy"]))

    def figure(run):
        final = finals[run["name"]]
        acc = accuracies[run["name"]]
        return f"batch {run['batch_size']} {'NaN' if acc is None else f'{acc:.3f}'} ({final['step']:,} updates)"

    text = (f"At {examples_seen:,} examples seen, held-out accuracy: " + ", ".join(figure(r) for r in runs)
            + f". The smaller batch ({small['batch_size']}) was {'ahead of' if ahead else 'not ahead of'} "
            f"the larger ({large['batch_size']})")
    if points_compared:
        text += f"; ahead at {points_ahead} of {points_compared} points of equal examples seen"
    return Verdict(bool(ahead), int(examples_seen), accuracies, points_ahead, points_compared, text + ".")


def write_summary_png(path: Path, runs: Sequence[dict], records: Mapping[str, list[dict]],
                      colours: Sequence[tuple[int, int, int]], title: str) -> None:
    """Three plots of the final curves: held-out accuracy against examples seen and against
    updates, and held-out loss; written atomically.

    Args:
        path: the PNG to write.
        runs: what each run returned, smallest batch first.
        records: each run's manifest lines, by run name.
        colours: each run's colour (RGB 0..255), as in the movie.
        title: the figure's title; several lines allowed.
    """
    from matplotlib.figure import Figure

    figure = Figure(figsize=(16, 4.8), dpi=100, layout="constrained")
    axes = figure.subplots(1, 3)
    for run, colour in zip(runs, colours):
        rows = [{key: np.nan if value is None else value for key, value in r.items()}
                for r in records[run["name"]]]  # a diverged run's figures are null
        rgb = tuple(c / 255 for c in colour)
        label = f"batch {run['batch_size']}"
        examples = [r["examples_seen"] for r in rows]
        axes[0].plot(examples, [r["heldout_accuracy"] for r in rows], "o-", ms=3, color=rgb, label=label)
        axes[0].plot(examples, [r["train_accuracy"] for r in rows], ":", color=rgb)
        trained = [r for r in rows if r["step"] > 0]  # a log axis has no 0
        axes[1].plot([r["step"] for r in trained], [r["heldout_accuracy"] for r in trained], "o-", ms=3,
                     color=rgb, label=label)
        axes[2].plot(examples, [r["heldout_loss"] for r in rows], "o-", ms=3, color=rgb, label=label)
    axes[0].set(xlabel="examples seen", ylabel="accuracy",
                title="held-out accuracy (solid), training running accuracy (dotted)")
    axes[1].set(xlabel="updates (log scale)", ylabel="held-out accuracy", xscale="log",
                title="held-out accuracy against updates")
    axes[2].set(xlabel="examples seen", ylabel="held-out loss", title="held-out loss")
    for ax in axes:
        ax.grid(True, alpha=0.3)
        ax.legend(loc="best", fontsize=9)
    import textwrap

    figure.suptitle("\n".join(textwrap.fill(line, 190) for line in title.splitlines()), fontsize=11)
    partial = partial_path(path)
    figure.savefig(partial, format="png")
    os.replace(partial, path)
