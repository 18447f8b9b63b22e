"""Measure what the speed issue asks of vizcallbacks, each figure against a reference
measured in the same run, and print (and optionally write as markdown) one table.

    .venv/bin/python scripts/benchmark.py                  # about 5 minutes on 2 cores
    .venv/bin/python scripts/benchmark.py --quick          # fewer repeats, under 2 minutes
    .venv/bin/python scripts/benchmark.py --markdown table.md
    .venv/bin/python scripts/benchmark.py --no-record      # callbacks without the activation store
    .venv/bin/python scripts/benchmark.py --dynamics       # only: a fit with record=Dynamics(...) vs plain

What is measured (the default CNN on Fashion-MNIST, the notes' 7 images and channels
1, 5, 10, 20, batch 64):

* per frame: the callback's per-frame path (probe forward pass, render, PNG write and
  manifest line, done in this thread one after the other) against the notes' naive
  plot_conv, written out below as `naive_plot_conv` (a new matplotlib figure, the
  activation model rebuilt and one predict per image, savefig);
* training overhead: `model.fit` of 300 batches with `PlotConvCallback` (PNG frames and
  manifest, the default) every 10 and every 50 batches, against the same fit without it
  (same batches in the same order, same initial weights and optimizer state, the train
  function traced beforehand); with GIF and MP4 streamed as well, and (full mode) over
  one whole epoch, for information;
* stitching: `stitch()` to MP4 and GIF against the bare ffmpeg binary of imageio-ffmpeg
  on the same PNG files (MP4: same codec, crf and preset; GIF: ffmpeg's two-pass
  palettegen/paletteuse with its defaults);
* memory: peak RSS (VmHWM of a fresh subprocess; ffmpeg, its child, is not counted) of
  stitching 2,000 frames against 200, and the RSS growth of a fit that makes 500 frames.

Timings are noisy on a shared machine: references and candidates are interleaved and
repeated. Frame and stitching speeds compare best (minimum) times; fit times compare
each fit with the fit without callback of the same round, and take the median of those
ratios (the ratio of the best runs is printed beside). How busy other processes kept the
CPUs is measured too, and a warning says when that makes a figure unreliable. Frame
counts and order (manifest against files) are checked in every run that writes frames.
Linux only (CPU and memory figures are read from /proc). The exit status is 1 when a
target is missed.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("MPLBACKEND", "Agg")

import numpy as np  # noqa: E402

from vizcallbacks.framefiles import (FRAME_GLOB, FRAMES_DIR, MANIFEST_NAME, PARTIAL_GLOB,  # noqa: E402
                                     ManifestWriter, read_manifest)
from vizcallbacks.render import DEFAULT_CHANNELS as NOTES_CHANNELS  # noqa: E402
from vizcallbacks.apps.train import NOTES_IMAGE_INDICES  # noqa: E402

REPO = Path(__file__).resolve().parents[1]

BATCH_SIZE = 64
FIT_BATCHES = 300
GROWTH_FRAMES = 500
GROWTH_EARLY_FRAMES = 20
STITCH_SMALL, STITCH_LARGE = 200, 2000
FPS = 10


@dataclass
class Row:
    figure: str
    measured: str
    reference: str
    ratio: str
    target: str
    met: bool | None  # None: informational

    @property
    def verdict(self) -> str:
        return "info" if self.met is None else ("yes" if self.met else "NO")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def rss_mb() -> float:
    """Resident set size of this process now, in MB (Linux)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("VmRSS not found in /proc/self/status (the benchmark needs Linux).")


class Stopwatch:
    """Wall time of a block, and how busy the other processes kept the CPUs meanwhile
    (`foreign`: their CPU seconds per wall second per core, from /proc/stat, less this
    process and its children), to tell a quiet measurement from a disturbed one."""

    def __enter__(self):
        self._start = (time.perf_counter(), _busy_cpu_s(), _own_cpu_s())
        return self

    def __exit__(self, *exc_info):
        wall0, busy0, own0 = self._start
        self.wall = time.perf_counter() - wall0
        self.cpu = _own_cpu_s() - own0  # this process's CPU seconds: what another's load disturbs least
        foreign = (_busy_cpu_s() - busy0) - self.cpu
        self.foreign = max(0.0, foreign) / (self.wall * len(os.sched_getaffinity(0)))


def _busy_cpu_s() -> float:
    with open("/proc/stat") as stat:
        fields = [int(v) for v in stat.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _own_cpu_s() -> float:
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def describe(times: list[float]) -> str:
    return f"best {min(times):.3f} s, median {statistics.median(times):.3f} s, n={len(times)}"


# ---- the reference: the notes' plot_conv, as written there ----------------------------

def naive_plot_conv(model, test_images, out_path, *, epoch=0, batch=0, accuracy=0.0):
    """The notes' plot_conv: a new figure of (7+4-1) x (layers+1) axes, the activation
    model rebuilt, one predict per image, imshow inferno per cell, suptitle, savefig.
    `test_images` are (N, 28, 28) floats. Only `verbose=0` differs (the notes' "2")."""
    import keras
    import matplotlib.pyplot as plt

    plt.ioff()
    img_indices = NOTES_IMAGE_INDICES
    convolution_indices = NOTES_CHANNELS
    f, axarr = plt.subplots(len(img_indices) + len(convolution_indices) - 1, len(model.layers) + 1)
    for ax in axarr:
        for plot in ax:
            plot.grid(False)
            plot.axis("off")
    f.set_figheight(len(img_indices) + len(convolution_indices) - 1)
    f.set_figwidth(len(model.layers) + 1)

    layer_outputs = [layer.output for layer in model.layers]
    activation_model = keras.models.Model(inputs=model.inputs[0], outputs=layer_outputs)

    def draw_plot(plot, img):
        plot.imshow(img, cmap="inferno")

    for ax, img_index in enumerate(img_indices):
        ax_index = ax if ax == 0 else (ax + len(convolution_indices) - 1)
        draw_plot(axarr[ax_index, 0], test_images[img_index])
        prediction = activation_model.predict(test_images[img_index].reshape(1, 28, 28, 1), verbose=0)
        for layer_index, _ in enumerate(model.layers):
            if len(prediction[layer_index].shape) == 4:
                for convolution_index_index, convolution_index in enumerate(
                        convolution_indices[:(len(convolution_indices) if ax == 0 else 1)]):
                    draw_plot(axarr[ax_index + convolution_index_index, layer_index + 1],
                              prediction[layer_index][0, :, :, convolution_index])
            else:
                img = np.tile(prediction[layer_index][0], (len(prediction[layer_index][0]), 1))
                draw_plot(axarr[ax_index, layer_index + 1], img)

    f.suptitle(f"Epoch: {epoch:02d}, batch: {batch:04d}, accuracy: {accuracy:06.3f}", fontsize=14)
    f.savefig(out_path)
    plt.close("all")


# ---- checks: no frame dropped or reordered ------------------------------------------

def check_frames(frames_dir: Path, *, expected: int | None = None, shape=None) -> int:
    """Every PNG in `frames_dir` is listed once in its manifest, in name order and in
    training order (step), and has the frame size. Returns the frame count."""
    from PIL import Image

    records = [record for _, record in read_manifest(frames_dir / MANIFEST_NAME)]
    listed = [r["file"] for r in records]
    files = sorted(p.name for p in frames_dir.glob(FRAME_GLOB))
    problems = []
    if listed != files:
        problems.append(f"the manifest lists {len(listed)} files and the folder holds {len(files)}, "
                        "or their order differs")
    steps = [r["step"] for r in records]
    if steps != sorted(steps) or len(set(steps)) != len(steps):
        problems.append("manifest steps are not strictly increasing")
    if expected is not None and len(records) != expected:
        problems.append(f"{len(records)} frames, expected {expected}")
    if leftovers := list(frames_dir.glob(PARTIAL_GLOB)):
        problems.append(f"{len(leftovers)} partial files left")
    if shape is not None:
        for name in (files[0], files[len(files) // 2], files[-1]) if files else ():
            with Image.open(frames_dir / name) as image:
                if (image.height, image.width) != tuple(shape[:2]):
                    problems.append(f"{name} is {image.size}, expected {shape[1]}x{shape[0]}")
    if problems:
        raise AssertionError(f"frames in {frames_dir}: " + "; ".join(problems))
    return len(records)


# ---- the set-up shared by the measurements ---------------------------------------------

class Bench:
    def __init__(self, work: Path, *, quick: bool, record: bool = True):
        import keras

        from vizcallbacks.demos.datasets import load_dataset
        from vizcallbacks.demos.models import default_cnn

        self.work = work
        self.quick = quick
        self.record = record  # the callback's activation store (frames_dir/store/), on by default
        (x_train, y_train), (x_test, y_test), self.class_names = load_dataset("fashion_mnist")
        self.x_train = (x_train[..., None] / np.float32(255)).astype(np.float32)
        self.y_train = y_train.astype(np.int64)
        self.x_test = (x_test[..., None] / np.float32(255)).astype(np.float32)
        self.y_test = y_test
        self.model = default_cnn(seed=0)
        self.model.optimizer.build(self.model.trainable_variables)
        self.initial_weights = self.model.get_weights()
        self.initial_optimizer = [v.numpy() for v in self.model.optimizer.variables]
        self.keras = keras
        self.runs = 0
        self.frame_checks = []
        self.warnings: list[str] = []
        self.batch_ms: dict[int, float] = {}  # batches in a fit -> ms per batch without callback

    def reset_model(self):
        """Same initial weights and optimizer state for every fit; the traced train
        function is kept, so only the first fit pays for tracing."""
        self.model.set_weights(self.initial_weights)
        for variable, value in zip(self.model.optimizer.variables, self.initial_optimizer):
            variable.assign(value)

    def callback(self, frames_dir: Path, every: int, **options):
        from vizcallbacks.callback import PlotConvCallback

        from vizcallbacks.render.style import FrameStyle

        idx = list(NOTES_IMAGE_INDICES)
        options.setdefault("record", self.record)
        return PlotConvCallback(
            self.x_test[idx], labels=self.y_test[idx], style=FrameStyle(class_names=self.class_names),
            frames_dir=frames_dir, every_n_batches=every, batch_size=BATCH_SIZE, **options)

    def dynamics(self):
        """The learning dynamics as `train --dynamics` measures them: 512 tracked examples."""
        from vizcallbacks import Dynamics

        return Dynamics(self.x_train, self.y_train)

    def batches(self, count: int, batch_size: int):
        """The first `count` batches of the training set, in order, as a tf.data pipeline
        with autotuning off. With numpy arrays, Keras's pipeline autotunes, and the same
        fit then takes either about 3.8 s or 5.2 s, at random, on a 2-core machine: noise
        larger than what is measured. Every fit reads the same pipeline, so the
        comparison stays like for like."""
        import tensorflow as tf

        options = tf.data.Options()
        options.autotune.enabled = False
        x = self.x_train[:count * batch_size]
        y = self.y_train[:count * batch_size]
        return tf.data.Dataset.from_tensor_slices((x, y)).batch(batch_size).prefetch(2).with_options(options)

    def fit(self, batches: int, callbacks=(), *, batch_size=BATCH_SIZE) -> Stopwatch:
        self.reset_model()
        data = self.batches(batches, batch_size)
        with Stopwatch() as watch:
            self.model.fit(data, epochs=1, shuffle=False, verbose=0, callbacks=list(callbacks))
        return watch

    def fresh_dir(self, name: str) -> Path:
        self.runs += 1
        path = self.work / f"{self.runs:03d}-{name}"
        path.mkdir(parents=True)
        return path


# ---- 1. per frame ------------------------------------------------------------------

def measure_frame(bench: Bench) -> tuple[list[Row], dict]:
    from vizcallbacks.framefiles import FrameRecord
    from vizcallbacks.plotter import ConvPlotter
    from vizcallbacks.render import Stamp
    from vizcallbacks.render.style import FrameStyle
    from vizcallbacks.sinks import ManifestSink, PngSink

    images = bench.x_test[list(NOTES_IMAGE_INDICES)]
    labels = bench.y_test[list(NOTES_IMAGE_INDICES)]
    plotter = ConvPlotter(bench.model, images, labels=labels,
                          style=FrameStyle(class_names=bench.class_names, channels=NOTES_CHANNELS))
    frames_dir = bench.fresh_dir("frame-ours")
    sinks = [PngSink(frames_dir), ManifestSink(frames_dir / MANIFEST_NAME, frames_dir=frames_dir)]
    for sink in sinks:
        sink.open()
    naive_dir = bench.fresh_dir("frame-naive")
    naive_images = bench.x_test[..., 0]

    pieces = {"probe": [], "render": [], "write": []}
    ours, naive = [], []
    frame_index = 0

    def our_frame():
        nonlocal frame_index
        t0 = time.perf_counter()
        activations = plotter.capture()
        t1 = time.perf_counter()
        stamp = Stamp(epoch=1, batch=frame_index, accuracy=0.5 + frame_index / 1e4, loss=0.4)
        frame = plotter.render(activations, stamp)
        t2 = time.perf_counter()
        record = FrameRecord(epoch=1, batch=frame_index, step=frame_index + 1,
                             examples_seen=(frame_index + 1) * BATCH_SIZE, accuracy=0.5, loss=0.4,
                             time_s=0.0, wall_time=time.time())
        for sink in sinks:  # the PNG, then its manifest line
            sink.send(frame, record)
        t3 = time.perf_counter()
        pieces["probe"].append(t1 - t0)
        pieces["render"].append(t2 - t1)
        pieces["write"].append(t3 - t2)
        frame_index += 1
        return t3 - t0, frame

    # Warm-up: the first figure loads matplotlib's fonts, the first probe call traces.
    naive_plot_conv(bench.model, naive_images, naive_dir / "warmup.png")
    _, first = our_frame()
    rounds, naive_per_round, ours_per_round = (2, 1, 20) if bench.quick else (4, 1, 30)
    for round_index in range(rounds):
        for i in range(naive_per_round):
            t0 = time.perf_counter()
            naive_plot_conv(bench.model, naive_images, naive_dir / f"plot-00-{round_index:02d}{i:02d}.png",
                            epoch=0, batch=round_index)
            naive.append(time.perf_counter() - t0)
        for _ in range(ours_per_round):
            ours.append(our_frame()[0])
    for sink in sinks:
        sink.finish()

    # The PNG holds exactly the rendered frame, and nothing was dropped or reordered.
    from PIL import Image

    with Image.open(frames_dir / "plot-01-0000.png") as image:
        if not np.array_equal(np.asarray(image.convert("RGB")), first):
            raise AssertionError("the PNG written differs from the frame rendered")
    count = check_frames(frames_dir, expected=frame_index, shape=first.shape)
    bench.frame_checks.append(f"per-frame run: {count} frames")

    ratio_best = min(naive) / min(ours)
    ratio_median = statistics.median(naive) / statistics.median(ours)
    details = {
        "naive": describe(naive), "ours": describe(ours),
        **{name: f"median {statistics.median(t) * 1e3:.1f} ms" for name, t in pieces.items()},
        "frame_size": f"{first.shape[1]}x{first.shape[0]}",
    }
    row = Row("Per frame: probe + render + PNG + manifest line",
              f"{min(ours) * 1e3:.1f} ms (median {statistics.median(ours) * 1e3:.1f})",
              f"naive plot_conv {min(naive):.2f} s (median {statistics.median(naive):.2f})",
              f"{ratio_best:.0f}x faster (median {ratio_median:.0f}x)", ">= 50x faster",
              ratio_best >= 50)
    return [row], details


# ---- 2. training overhead ---------------------------------------------------------------

@dataclass(frozen=True)
class FitConfig:
    name: str
    every: int | None = None  # None: no callback
    movies: bool = False
    repeats: int = 1
    dynamics: bool = False  # record=Dynamics(...): 512 tracked training examples


def compare_fits(bench: Bench, batches: int, configs: list[FitConfig]) -> dict[str, list[Stopwatch]]:
    """Fits of `batches` batches for each configuration, interleaved: round after round,
    the order rotated so that none always runs first or last. Checks every run's frames."""
    runs: dict[str, list[Stopwatch]] = {config.name: [] for config in configs}
    for repeat in range(max(config.repeats for config in configs)):
        due = [config for config in configs if config.repeats > repeat]
        shift = repeat % len(due)
        for config in due[shift:] + due[:shift]:
            if config.every is None:
                runs[config.name].append(bench.fit(batches))
                continue
            run_dir = bench.fresh_dir(f"fit{batches}-every{config.every}{'-movies' if config.movies else ''}")
            frames_dir = run_dir / FRAMES_DIR
            movie_paths = [run_dir / "movie.gif", run_dir / "movie.mp4"] if config.movies else None
            record = {"record": bench.dynamics()} if config.dynamics else {}
            with bench.callback(frames_dir, config.every, movie_path=movie_paths, **record) as callback:
                runs[config.name].append(bench.fit(batches, [callback]))
            # batch 0, every n-th, and the last batch as the final frame
            expected = len(range(0, batches, config.every)) + ((batches - 1) % config.every != 0)
            count = check_frames(frames_dir, expected=expected)
            if movie_paths:
                from vizcallbacks.movie import inspect_movie

                for path in movie_paths:
                    movie = inspect_movie(path)
                    if movie.frame_count != expected:
                        raise AssertionError(f"{path}: {movie.frame_count} frames, expected {expected}")
            bench.frame_checks.append(f"fit of {batches} batches, {config.name}: {count} frames")
        log(f"  {batches} batches, round {repeat + 1}: " + ", ".join(
            f"{config.name} {runs[config.name][-1].wall:.2f} s (others {runs[config.name][-1].foreign:.0%})"
            for config in due))
    return runs


def overhead_rows(bench: Bench, batches: int, runs: dict[str, list[Stopwatch]],
                  targets: dict[str, float | None]) -> tuple[list[Row], dict]:
    """The ratio is the median, over rounds, of each run's time over the time of the
    fit without callback in the same round: fits side by side in time share the
    machine's state, and the median shrugs off the odd slow or fast run. The ratio of
    the best (fastest) runs is shown beside it."""
    times = {name: [run.wall for run in found] for name, found in runs.items()}
    base = min(times["none"])
    bench.batch_ms.setdefault(batches, statistics.median(times["none"]) / batches * 1e3)
    rows = []
    for name, target in targets.items():
        paired = statistics.median(t / t_none for t, t_none in zip(times[name], times["none"]))
        rows.append(Row(f"Fit {batches} batches, {name}",
                        f"{statistics.median(times[name]):.2f} s (best {min(times[name]):.2f})",
                        f"no callback {statistics.median(times['none']):.2f} s (best {base:.2f})",
                        f"{paired:.3f} (best vs best {min(times[name]) / base:.3f})",
                        "informational" if target is None else f"<= {target:.2f}",
                        None if target is None else paired <= target))
    details = {f"{batches} batches, {name}": describe(t) + "; other processes kept the CPUs "
               f"{max(run.foreign for run in runs[name]):.0%} busy at most" for name, t in times.items()}
    disturbed = [name for name, found in runs.items() if max(run.foreign for run in found) > 0.05]
    if disturbed:
        bench.warnings.append(
            f"other processes used more than 5% of the CPUs during fits of {batches} batches "
            f"({', '.join(disturbed)}); those ratios are unreliable, re-measure on an idle machine")
    return rows, details


def measure_training(bench: Bench) -> tuple[list[Row], dict]:
    # Warm-up: trace the train function, and run the callback once (imports, fonts).
    bench.fit(FIT_BATCHES)
    with bench.callback(bench.fresh_dir("fit-warmup"), 10) as callback:
        bench.fit(30, [callback])

    repeats = 3 if bench.quick else 6
    every_10, every_50 = "frame every 10 (PNG + manifest)", "frame every 50 (PNG + manifest)"
    movies = "every 10, PNG + GIF + MP4 streamed"
    runs = compare_fits(bench, FIT_BATCHES, [
        FitConfig("none", repeats=repeats), FitConfig(every_10, 10, repeats=repeats),
        FitConfig(every_50, 50, repeats=repeats),
        FitConfig(movies, 10, movies=True, repeats=max(1, repeats // 2))])
    rows, details = overhead_rows(bench, FIT_BATCHES, runs,
                                  {every_10: 1.15, every_50: 1.05, movies: None})
    if not bench.quick:
        # One epoch of Fashion-MNIST, as the notes train: the per-fit costs (the probe's
        # tracing, the last frame) weigh less than in 300 batches. For information.
        epoch = math.ceil(len(bench.x_train) / BATCH_SIZE)
        runs = compare_fits(bench, epoch, [FitConfig("none", repeats=2), FitConfig(every_10, 10, repeats=2),
                                           FitConfig(every_50, 50, repeats=2)])
        epoch_rows, epoch_details = overhead_rows(bench, epoch, runs, {every_10: None, every_50: None})
        rows += epoch_rows
        details.update(epoch_details)
    return rows, details


def measure_dynamics(bench: Bench) -> tuple[list[Row], dict]:
    """A fit with a frame every 50 batches and the learning dynamics on (512 tracked
    examples classified at every frame, CKA and dead units on 64) against the plain fit,
    and against the same callback without dynamics."""
    bench.fit(FIT_BATCHES)
    with bench.callback(bench.fresh_dir("fit-warmup"), 10, record=bench.dynamics()) as callback:
        bench.fit(30, [callback])
    repeats = 3 if bench.quick else 6
    every_50, dynamics = "frame every 50 (PNG + manifest + store)", "frame every 50, dynamics on"
    runs = compare_fits(bench, FIT_BATCHES, [FitConfig("none", repeats=repeats), FitConfig(every_50, 50, repeats=repeats),
                                             FitConfig(dynamics, 50, repeats=repeats, dynamics=True)])
    rows, details = overhead_rows(bench, FIT_BATCHES, runs, {every_50: None, dynamics: 1.10})
    rows += cpu_rows(FIT_BATCHES, runs, (every_50, dynamics))
    if not bench.quick:
        epoch = math.ceil(len(bench.x_train) / BATCH_SIZE)
        runs = compare_fits(bench, epoch, [FitConfig("none", repeats=2), FitConfig(every_50, 50, repeats=2),
                                           FitConfig(dynamics, 50, repeats=2, dynamics=True)])
        epoch_rows, epoch_details = overhead_rows(bench, epoch, runs, {every_50: None, dynamics: 1.10})
        rows += epoch_rows + cpu_rows(epoch, runs, (every_50, dynamics))
        details.update(epoch_details)
    return rows, details


def cpu_rows(batches: int, runs: dict[str, list[Stopwatch]], names) -> list[Row]:
    """The same fits' CPU time (this process's, both threads) over the plain fit's, paired by
    round: on a machine other processes keep busy, a steadier figure than wall time."""
    rows = []
    for name in names:
        ratio = statistics.median(run.cpu / plain.cpu for run, plain in zip(runs[name], runs["none"]))
        rows.append(Row(f"Fit {batches} batches, {name}: CPU time",
                        f"{statistics.median(run.cpu for run in runs[name]):.2f} CPU s",
                        f"no callback {statistics.median(run.cpu for run in runs['none']):.2f} CPU s",
                        f"{ratio:.3f}", "informational", None))
    return rows


# ---- 3. memory growth of the callback -----------------------------------------------------

def measure_growth(bench: Bench) -> tuple[list[Row], dict, Path]:
    """A fit that makes a frame every batch, 500 frames, small batches to keep it quick."""
    keras = bench.keras
    samples = {}

    class SampleRss(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch + 1 in (GROWTH_EARLY_FRAMES, GROWTH_FRAMES):
                samples[batch + 1] = rss_mb()

    run_dir = bench.fresh_dir("growth")
    frames_dir = run_dir / FRAMES_DIR
    start = time.perf_counter()
    with bench.callback(frames_dir, 1) as callback:
        bench.fit(GROWTH_FRAMES, [callback, SampleRss()], batch_size=8)
    samples["after fit"] = rss_mb()
    elapsed = time.perf_counter() - start
    count = check_frames(frames_dir, expected=GROWTH_FRAMES)
    bench.frame_checks.append(f"growth fit: {count} frames")
    growth = max(samples[GROWTH_FRAMES], samples["after fit"]) - samples[GROWTH_EARLY_FRAMES]
    early = samples[GROWTH_EARLY_FRAMES]
    row = Row(f"Callback RSS growth over {GROWTH_FRAMES} frames (every batch)", f"{growth:+.1f} MB",
              f"RSS after {GROWTH_EARLY_FRAMES} frames {early:.0f} MB", f"{growth:+.1f} MB", "< 50 MB",
              growth < 50)
    details = {"rss_mb": {str(k): round(v, 1) for k, v in samples.items()}, "fit_s": round(elapsed, 1)}
    return [row], details, frames_dir


# ---- 4. stitching ----------------------------------------------------------------------

def ffmpeg_exe() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def run_ffmpeg(*args: str) -> None:
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", *args], check=True)


def bare_mp4(pattern: str, out: Path) -> None:
    from vizcallbacks.movie import Mp4Writer

    defaults = Mp4Writer.__init__.__kwdefaults__
    run_ffmpeg("-framerate", str(FPS), "-i", pattern, "-c:v", "libx264",
               "-preset", defaults["preset"], "-crf", str(defaults["crf"]), "-pix_fmt", "yuv420p",
               str(out))


def bare_gif(pattern: str, out: Path) -> None:
    palette = out.with_suffix(".palette.png")
    run_ffmpeg("-framerate", str(FPS), "-i", pattern, "-vf", "palettegen", str(palette))
    run_ffmpeg("-framerate", str(FPS), "-i", pattern, "-i", str(palette), "-lavfi", "paletteuse", str(out))


def frames_folder(source: Path, target: Path, count: int) -> tuple[Path, str]:
    """`count` frames as plot-%05d.png in `target`, hard links to the source frames
    (repeated in order when there are fewer), with a manifest in the same order."""
    files = sorted(source.glob(FRAME_GLOB))
    target.mkdir(parents=True)
    with ManifestWriter(target / MANIFEST_NAME, append=False) as manifest:
        for index in range(count):
            path = target / f"plot-{index:05d}.png"
            os.link(files[index % len(files)], path)
            manifest.write({"step": index}, file=path)
    return target, str(target / "plot-%05d.png")


def measure_stitch_speed(bench: Bench, frames_dir: Path) -> tuple[list[Row], dict]:
    from vizcallbacks.movie import stitch

    count = 200 if bench.quick else GROWTH_FRAMES
    folder, pattern = frames_folder(frames_dir, bench.work / "stitch-speed", count)
    out = bench.fresh_dir("stitch-out")
    runs: dict[str, list[Stopwatch]] = {"ours mp4": [], "ffmpeg mp4": [], "ours gif": [], "ffmpeg gif": []}
    sizes = {}
    repeats = 2 if bench.quick else 3
    jobs = {
        "ours mp4": lambda: stitch(folder, out / "ours.mp4", fps=FPS, overwrite=True),
        "ffmpeg mp4": lambda: bare_mp4(pattern, out / "ffmpeg.mp4"),
        "ours gif": lambda: stitch(folder, out / "ours.gif", fps=FPS, overwrite=True),
        "ffmpeg gif": lambda: bare_gif(pattern, out / "ffmpeg.gif"),
    }
    for repeat in range(repeats):
        order = list(jobs) if repeat % 2 == 0 else list(reversed(jobs))
        for name in order:
            with Stopwatch() as watch:
                jobs[name]()
            runs[name].append(watch)
        log(f"  stitch repeat {repeat + 1}/{repeats}: " + ", ".join(
            f"{n} {runs[n][-1].wall:.2f} s (others {runs[n][-1].foreign:.0%})" for n in jobs))
    times = {name: [run.wall for run in found] for name, found in runs.items()}
    disturbed = [name for name, found in runs.items() if min(found, key=lambda run: run.wall).foreign > 0.05]
    if disturbed:
        bench.warnings.append(
            f"other processes used more than 5% of the CPUs during the best run of: {', '.join(disturbed)}; "
            "the stitching speeds are unreliable, re-measure on an idle machine")
    from vizcallbacks.movie import inspect_movie

    for name in ("ours.mp4", "ffmpeg.mp4", "ours.gif", "ffmpeg.gif"):
        movie = inspect_movie(out / name)
        if movie.frame_count < count:
            raise AssertionError(f"{name}: {movie.frame_count} frames, expected {count}")
        sizes[name] = (out / name).stat().st_size

    def fps(name):
        return count / min(times[name])

    mp4_ratio = fps("ours mp4") / fps("ffmpeg mp4")
    gif_speed = fps("ours gif") / fps("ffmpeg gif")
    gif_size = sizes["ours.gif"] / sizes["ffmpeg.gif"]
    rows = [
        Row(f"Stitch MP4 ({count} PNG frames): frames per second",
            f"{fps('ours mp4'):.0f} fps", f"bare ffmpeg {fps('ffmpeg mp4'):.0f} fps",
            f"{mp4_ratio:.2f}", ">= 0.80", mp4_ratio >= 0.8),
        Row(f"Stitch GIF ({count} PNG frames): file size",
            f"{sizes['ours.gif'] / 1e6:.2f} MB",
            f"ffmpeg palettegen+paletteuse {sizes['ffmpeg.gif'] / 1e6:.2f} MB",
            f"{gif_size:.2f}", "<= 1.00", gif_size <= 1.0),
        Row(f"Stitch GIF ({count} PNG frames): frames per second",
            f"{fps('ours gif'):.0f} fps", f"ffmpeg two passes {fps('ffmpeg gif'):.0f} fps",
            f"{gif_speed:.2f}", ">= 1.00", gif_speed >= 1.0),
    ]
    details = {name: describe(t) for name, t in times.items()}
    details["sizes_bytes"] = sizes
    return rows, details


# Peak RSS is read as VmHWM, the high-water mark of this process's own memory: on Linux
# ru_maxrss of a child started by vfork/exec (as subprocess does) also counts the
# parent's RSS at the exec, here a gigabyte of TensorFlow. ffmpeg, a child of the
# measured process, is not counted in VmHWM; its ru_maxrss is printed beside.
_PEAK_SCRIPT = """
import resource, sys
from vizcallbacks.movie import stitch
movie = stitch(sys.argv[1], sys.argv[2], fps={fps}, overwrite=True)
with open("/proc/self/status") as status:
    peak_kb = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
child_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(movie.frame_count, peak_kb, child_kb)
"""


def peak_stitch_rss(folder: Path, out: Path) -> tuple[int, float, float]:
    result = subprocess.run([sys.executable, "-c", _PEAK_SCRIPT.format(fps=FPS), str(folder), str(out)],
                            check=True, capture_output=True, text=True, cwd=REPO)
    frames, peak_kb, child_kb = result.stdout.split()
    return int(frames), int(peak_kb) / 1024, int(child_kb) / 1024


def measure_stitch_memory(bench: Bench, frames_dir: Path) -> tuple[list[Row], dict]:
    small, _ = frames_folder(frames_dir, bench.work / "stitch-200", STITCH_SMALL)
    large, _ = frames_folder(frames_dir, bench.work / "stitch-2000", STITCH_LARGE)
    out = bench.fresh_dir("stitch-memory")
    rows, details = [], {}
    for suffix in (("gif",) if bench.quick else ("gif", "mp4")):
        peaks = {}
        for label, folder, count in (("small", small, STITCH_SMALL), ("large", large, STITCH_LARGE)):
            frames, peak, child = peak_stitch_rss(folder, out / f"{label}.{suffix}")
            if frames != count:
                raise AssertionError(f"stitch {folder}: {frames} frames, expected {count}")
            peaks[label] = peak
            details[f"{suffix} {count} frames"] = f"peak RSS {peak:.1f} MB (ffmpeg child {child:.1f} MB)"
        ratio = peaks["large"] / peaks["small"]
        rows.append(Row(f"Stitch {suffix.upper()} peak RSS, {STITCH_LARGE} frames vs {STITCH_SMALL}",
                        f"{peaks['large']:.1f} MB", f"{STITCH_SMALL} frames {peaks['small']:.1f} MB",
                        f"{ratio:.2f}", "<= 1.20", ratio <= 1.2))
    return rows, details


# ---- the report -----------------------------------------------------------------------

def table(rows: list[Row]) -> list[str]:
    header = ["Figure", "Measured", "Reference", "Ratio", "Target", "Met"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        lines.append("| " + " | ".join([row.figure, row.measured, row.reference, row.ratio, row.target,
                                        row.verdict]) + " |")
    return lines


def machine() -> list[str]:
    import imageio_ffmpeg
    import keras
    import matplotlib
    import PIL
    import tensorflow as tf

    cpu = "unknown CPU"
    with open("/proc/cpuinfo") as info:
        for line in info:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    version = subprocess.run([ffmpeg_exe(), "-version"], capture_output=True, text=True).stdout.split("\n")[0]
    version = version.split(" Copyright")[0]
    load = os.getloadavg()
    return [
        f"- CPU: {cpu}, {len(os.sched_getaffinity(0))} cores usable ({os.cpu_count()} online)",
        f"- Python {platform.python_version()}, TensorFlow {tf.__version__}, Keras {keras.__version__}, "
        f"NumPy {np.__version__}, Pillow {PIL.__version__}, matplotlib {matplotlib.__version__}",
        f"- ffmpeg (imageio-ffmpeg {imageio_ffmpeg.__version__}): {version}",
        f"- Load average at the end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}",
    ]


def run_all(work: Path, *, quick: bool, record: bool = True,
            dynamics: bool = False) -> tuple[list[Row], dict, list[str], list[str]]:
    log("setting up (Fashion-MNIST, default CNN)...")
    bench = Bench(work, quick=quick, record=record)
    details = {}
    if dynamics:
        log("training overhead of the learning dynamics...")
        rows, details["dynamics"] = measure_dynamics(bench)
        notes = [f"a batch of {BATCH_SIZE} took {bench.batch_ms[FIT_BATCHES]:.1f} ms (median, without callback)"]
        return rows, details, notes, bench.warnings
    log("training overhead (the first fits also warm up the model for the frames)...")
    training_rows, details["training"] = measure_training(bench)
    log("per frame...")
    frame_rows, details["per frame"] = measure_frame(bench)
    log("callback memory growth...")
    growth_rows, details["growth"], frames_dir = measure_growth(bench)
    log("stitching speed...")
    stitch_rows, details["stitch speed"] = measure_stitch_speed(bench, frames_dir)
    log("stitching memory...")
    memory_rows, details["stitch memory"] = measure_stitch_memory(bench, frames_dir)
    checks = Row("Frames: count and order, manifest vs files", f"{len(bench.frame_checks)} runs checked",
                 "-", "-", "all pass", True)
    details["frame checks"] = bench.frame_checks
    rows = frame_rows + training_rows + stitch_rows + memory_rows + growth_rows + [checks]
    notes = [f"a batch of {BATCH_SIZE} took {bench.batch_ms[FIT_BATCHES]:.1f} ms (median, without callback)"]
    return rows, details, notes, bench.warnings


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats and frames (about half the time)")
    parser.add_argument("--no-record", action="store_true", help="callbacks built with record=False (no "
                        "activation store), to compare with the default")
    parser.add_argument("--dynamics", action="store_true", help="only the training overhead of the learning "
                        "dynamics (record=Dynamics(...)), a frame every 50 batches, against the plain fit")
    parser.add_argument("--markdown", metavar="PATH", help="also write the table as markdown to PATH")
    parser.add_argument("--work-dir", metavar="DIR", help="keep frames and movies in DIR (default: a "
                        "temporary folder, removed at the end)")
    args = parser.parse_args(argv)
    if args.work_dir:
        work = Path(args.work_dir)
        if work.exists() and any(work.iterdir()):
            parser.error(f"--work-dir {work} is not empty")
        work.mkdir(parents=True, exist_ok=True)
    else:
        work = Path(tempfile.mkdtemp(prefix="vizcallbacks-bench-"))
    try:
        with Stopwatch() as whole:
            rows, details, notes, warnings = run_all(work, quick=args.quick, record=not args.no_record,
                                                     dynamics=args.dynamics)
    finally:
        if not args.work_dir:
            shutil.rmtree(work, ignore_errors=True)

    if whole.foreign > 0.1:
        warnings.append("the machine was busy; timings are to be re-measured on an idle machine")
    lines = table(rows)
    lines += ["", f"Mode: {'--quick' if args.quick else 'full'}, activation store "
              f"{'off (--no-record)' if args.no_record else 'on'}; total {whole.wall:.0f} s; other "
              f"processes kept the CPUs {whole.foreign:.0%} busy on average meanwhile; "
              + "; ".join(notes) + ".", ""]
    lines += machine()
    lines += [f"- WARNING: {warning}" for warning in warnings]
    print("\n".join(lines))
    print("\nDetails:")
    print(json.dumps(details, indent=1, default=str))
    if args.markdown:
        Path(args.markdown).write_text("\n".join(lines) + "\n")
    return 0 if all(row.met is not False for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
