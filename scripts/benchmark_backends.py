"""What the callback costs a fit on the Keras backend and the device this runs on.

    KERAS_BACKEND=jax   .venv/bin/python scripts/benchmark_backends.py          # one epoch, 3 rounds
    KERAS_BACKEND=torch .venv/bin/python scripts/benchmark_backends.py --check  # exit 1 on a missed target
    .venv/bin/python scripts/benchmark_backends.py --quick                      # a smoke test, not a measurement

The default CNN on real MNIST (the IDX files in --data; default $VIZCALLBACKS_DATA, else
../shared/data/mnist beside the checkout), batch 64, one epoch of 938 batches, frames as
PNG files and the manifest (the callback's default), the notes' 7 images. Three fits from
the same weights and optimizer state over the same batches: without the callback, with a
frame every 10 batches, with a frame every 50; repeated in interleaved rounds (the order
rotated each round), the median taken. Everything the callback does happens inside the
timed `fit`: its set-up in `on_train_begin`, the first pass's compilation, every frame,
and the wait at `on_train_end` for the last frames to be drawn and written.

Reported beside the ratios (each against the fit without callback of the same run):

- the training thread's share of one frame: the time spent inside the callback's hooks
  on the training thread during the epoch, per frame, the first pass's compilation
  excluded (it is set-up). The hooks are timed by a subclass that only wraps them;
- the one-time set-up per fit: `on_train_begin` plus the first pass's compilation (the
  first capturing hook less the median of the others);
- the end of the fit: `on_train_end` (the final frame, and waiting for the drawing thread).

Targets (--check): every 10 at most x1.10 the plain fit, every 50 at most x1.03, and on JAX
a training-thread share under 1 ms. A warm-up fit first traces the train step (for the full
and the last, partial, batch) and loads what a first frame loads, once per process.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("MPLBACKEND", "Agg")

import numpy as np  # noqa: E402

from vizcallbacks.framefiles import FRAME_GLOB, MANIFEST_NAME, read_manifest  # noqa: E402
from vizcallbacks.apps.train import NOTES_IMAGE_INDICES  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
BATCH_SIZE = 64
EPOCH_BATCHES = 938          # MNIST's 60,000 training images in batches of 64
EVERY = (10, 50)
TARGETS = {10: 1.10, 50: 1.03}
JAX_SHARE_TARGET_MS = 1.0


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def default_data_dir() -> Path:
    found = os.environ.get("VIZCALLBACKS_DATA")
    return Path(found) if found else REPO.parent / "shared" / "data" / "mnist"


# ---- the callback, its hooks timed ---------------------------------------------------

def timed_callback_class():
    """PlotConvCallback, unchanged, with the duration of every hook call made on the
    training thread (the one that calls `on_train_begin`) noted in `calls`."""
    from vizcallbacks import PlotConvCallback

    class TimedPlotConvCallback(PlotConvCallback):
        def on_train_begin(self, logs=None):
            self.calls = []  # (hook, batch, seconds)
            self._training_thread = threading.get_ident()
            self._timed("train_begin", None, super().on_train_begin, logs)

        def on_epoch_begin(self, epoch, logs=None):
            self._timed("epoch_begin", None, super().on_epoch_begin, epoch, logs)

        def on_train_batch_begin(self, batch, logs=None):
            self._timed("batch_begin", batch, super().on_train_batch_begin, batch, logs)

        def on_train_batch_end(self, batch, logs=None):
            self._timed("batch_end", batch, super().on_train_batch_end, batch, logs)

        def on_epoch_end(self, epoch, logs=None):
            self._timed("epoch_end", None, super().on_epoch_end, epoch, logs)

        def on_train_end(self, logs=None):
            self._timed("train_end", None, super().on_train_end, logs)

        def _timed(self, hook, batch, method, *args):
            started = time.perf_counter()
            try:
                method(*args)
            finally:
                if threading.get_ident() == self._training_thread:
                    self.calls.append((hook, batch, time.perf_counter() - started))

    return TimedPlotConvCallback


@dataclass
class HookTimes:
    """What one fit's callback cost the training thread, from its timed hooks."""

    begin_s: float
    compile_s: float
    share_s: float        # per frame, during the epoch
    end_s: float
    frames_in_epoch: int

    @property
    def setup_s(self) -> float:
        return self.begin_s + self.compile_s


def hook_times(calls, *, every: int, batches: int) -> HookTimes:
    """Splits the timed hook calls of one fit: set-up, per-frame share, end. A frame of
    batch b is captured at the begin hook of batch b + 1, or at the epoch's end for the
    last batch."""
    begin = sum(s for hook, _, s in calls if hook == "train_begin")
    end = sum(s for hook, _, s in calls if hook == "train_end")
    during = [(hook, batch, s) for hook, batch, s in calls if hook not in ("train_begin", "train_end")]
    capturing = [s for hook, batch, s in during
                 if (hook == "batch_begin" and batch > 0 and (batch - 1) % every == 0)
                 or (hook == "epoch_end" and (batches - 1) % every == 0)]
    compile_s = max(0.0, capturing[0] - statistics.median(capturing[1:])) if len(capturing) > 1 else 0.0
    share = (sum(s for _, _, s in during) - compile_s) / max(len(capturing), 1)
    return HookTimes(begin, compile_s, share, end, len(capturing))


# ---- the runs -------------------------------------------------------------------------

@dataclass
class Runs:
    seconds: dict = field(default_factory=lambda: {"plain": [], **{every: [] for every in EVERY}})
    hooks: dict = field(default_factory=lambda: {every: [] for every in EVERY})
    frames: dict = field(default_factory=dict)


class Bench:
    def __init__(self, data_dir: Path, batches: int, work: Path):
        import keras

        from vizcallbacks import load_dataset
        from vizcallbacks.demos.models import default_cnn

        (x_train, y_train), (x_test, y_test), self.class_names = load_dataset(
            "mnist", data_dir=data_dir, download=False)
        count = min(batches * BATCH_SIZE, len(x_train))
        self.x = (x_train[:count, ..., None] / np.float32(255)).astype(np.float32)
        self.y = y_train[:count].astype(np.int64)
        self.batches = -(-count // BATCH_SIZE)
        self.x_test = (x_test[..., None] / np.float32(255)).astype(np.float32)
        self.y_test = y_test
        self.work = work
        self.model = default_cnn(seed=0)
        self.model.optimizer.build(self.model.trainable_variables)
        self.initial = self.model.get_weights()
        self.initial_optimizer = [keras.ops.convert_to_numpy(v.value) for v in self.model.optimizer.variables]
        self.callback_class = timed_callback_class()
        self.runs = 0

    def reset(self):
        """The same weights and optimizer state before every fit."""
        self.model.set_weights(self.initial)
        for variable, value in zip(self.model.optimizer.variables, self.initial_optimizer):
            variable.assign(value)

    def callback(self, every: int):
        self.runs += 1
        from vizcallbacks import FrameStyle

        shown = list(NOTES_IMAGE_INDICES)
        return self.callback_class(  # the activation store on, as by default
            self.x_test[shown], labels=self.y_test[shown], style=FrameStyle(class_names=self.class_names),
            frames_dir=self.work / f"{self.runs:03d}-every{every}", every_n_batches=every, batch_size=BATCH_SIZE)

    def fit(self, x, y, callbacks=()) -> float:
        self.reset()
        started = time.perf_counter()
        self.model.fit(x, y, batch_size=BATCH_SIZE, epochs=1, shuffle=False, verbose=0,
                       callbacks=list(callbacks))
        return time.perf_counter() - started

    def warm_up(self):
        """Traces the train step for a full and a partial batch, and pays once what a first
        frame in a process pays (imports, fonts): neither belongs to any one fit."""
        sample = 5 * BATCH_SIZE + BATCH_SIZE // 2
        self.fit(self.x[:sample], self.y[:sample])
        self.fit(self.x[:sample], self.y[:sample], [self.callback(2)])

    def round(self, runs: Runs, round_index: int):
        configs = ["plain", *EVERY]
        shift = round_index % len(configs)
        for config in configs[shift:] + configs[:shift]:
            if config == "plain":
                runs.seconds["plain"].append(self.fit(self.x, self.y))
                continue
            callback = self.callback(config)
            runs.seconds[config].append(self.fit(self.x, self.y, [callback]))
            runs.hooks[config].append(hook_times(callback.calls, every=config, batches=self.batches))
            runs.frames[config] = check_frames(callback.frames_dir, every=config, batches=self.batches)
        log(f"  round {round_index + 1}: " + ", ".join(
            f"{name if name == 'plain' else f'every {name}'} {times[-1]:.2f} s"
            for name, times in runs.seconds.items()))


def check_frames(frames_dir: Path, *, every: int, batches: int) -> int:
    """The folder holds exactly the frames its manifest lists, as many as due."""
    listed = [record["file"] for _, record in read_manifest(frames_dir / MANIFEST_NAME)]
    files = sorted(path.name for path in frames_dir.glob(FRAME_GLOB))
    expected = len(range(0, batches, every)) + ((batches - 1) % every != 0)
    if listed != files or len(files) != expected:
        raise AssertionError(f"{frames_dir}: {len(files)} frame files, {len(listed)} listed, {expected} due")
    return len(files)


# ---- where it ran ---------------------------------------------------------------------

def environment(backend: str) -> dict[str, str]:
    """The device, the backend and the versions."""
    import keras

    found = {"backend": backend, "keras": keras.__version__, "numpy": np.__version__,
             "python": platform.python_version()}
    if backend == "jax":
        import jax
        import jaxlib

        device = jax.devices()[0]
        found.update(device=f"{device.platform}: {device.device_kind} (x{len(jax.devices())})",
                     jax=jax.__version__, jaxlib=jaxlib.__version__)
    elif backend == "torch":
        import torch

        cuda = torch.cuda.is_available()
        found.update(device=f"cuda: {torch.cuda.get_device_name(0)}" if cuda else f"cpu: {cpu_name()}",
                     torch=torch.__version__)
    elif backend == "tensorflow":
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        name = tf.config.experimental.get_device_details(gpus[0]).get("device_name", "GPU") if gpus else None
        found.update(device=f"gpu: {name}" if gpus else f"cpu: {cpu_name()}", tensorflow=tf.__version__)
    if not found.get("device", "").startswith(("cuda", "gpu")):
        found["device"] = f"{found.get('device', 'cpu')}, {os.cpu_count()} cores"
    return found


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


# ---- the table ------------------------------------------------------------------------

def table(runs: Runs, backend: str, batches: int) -> tuple[list[str], list[str]]:
    """The markdown table's lines, and the targets missed."""
    plain = statistics.median(runs.seconds["plain"])
    lines = [
        "| run | fit, median | x plain (paired) | target | frames | training thread per frame "
        "| set-up per fit | end of fit |",
        "|---|---|---|---|---|---|---|---|",
        f"| plain fit ({batches} batches) | {plain:.2f} s ({plain / batches * 1e3:.2f} ms a batch) "
        "| 1.000 | | | | | |",
    ]
    missed = []
    for every in EVERY:
        seconds = runs.seconds[every]
        ratio = statistics.median(seconds) / plain
        paired = statistics.median(s / p for s, p in zip(seconds, runs.seconds["plain"]))
        met = ratio <= TARGETS[every]
        if not met:
            missed.append(f"every {every}: x{ratio:.3f} > x{TARGETS[every]:.2f}")
        hooks = runs.hooks[every]
        share_ms = statistics.median(h.share_s for h in hooks) * 1e3
        if backend == "jax" and share_ms >= JAX_SHARE_TARGET_MS:
            missed.append(f"every {every}: training-thread share {share_ms:.2f} ms >= {JAX_SHARE_TARGET_MS} ms")
        setup = statistics.median(h.setup_s for h in hooks)
        begin = statistics.median(h.begin_s for h in hooks)
        end = statistics.median(h.end_s for h in hooks)
        lines.append(
            f"| frame every {every} | {statistics.median(seconds):.2f} s | **x{ratio:.3f}** ({paired:.3f}) "
            f"| <= x{TARGETS[every]:.2f}: {'yes' if met else 'NO'} | {runs.frames[every]} "
            f"| {share_ms:.2f} ms{' (target < 1 ms)' if backend == 'jax' else ''} "
            f"| {setup:.2f} s (on_train_begin {begin:.2f} s) | {end:.3f} s |")
    return lines, missed


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=default_data_dir(), metavar="DIR",
                        help="folder with MNIST's IDX files (default: $VIZCALLBACKS_DATA, else ../shared/data/mnist)")
    parser.add_argument("--batches", type=int, default=EPOCH_BATCHES, help="batches per fit (default: one epoch, 938)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds; the median is taken (default 3)")
    parser.add_argument("--quick", action="store_true", help="60 batches, one round: shows the table works, measures nothing")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--markdown", type=Path, metavar="PATH", help="also write the table and environment to PATH")
    parser.add_argument("--work-dir", type=Path, metavar="DIR", help="keep the frames in DIR (default: a temporary folder)")
    args = parser.parse_args(argv)
    if args.quick:
        args.batches, args.rounds = 60, 1
    import keras

    backend = keras.backend.backend()
    work = args.work_dir or Path(tempfile.mkdtemp(prefix="vizcallbacks-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        started = time.perf_counter()
        bench = Bench(args.data, args.batches, work)
        log(f"{backend}: warm-up...")
        bench.warm_up()
        runs = Runs()
        for round_index in range(args.rounds):
            bench.round(runs, round_index)
        lines, missed = table(runs, backend, bench.batches)
    finally:
        if args.work_dir is None:
            shutil.rmtree(work, ignore_errors=True)
    found = environment(backend)
    mode = "quick (a smoke test: these timings measure nothing)" if args.quick else "full"
    about = [f"- {key}: {value}" for key, value in found.items()] + [
        f"- {args.rounds} round(s) of {bench.batches} batches of {BATCH_SIZE}, mode {mode}, "
        f"{time.perf_counter() - started:.0f} s in all"]
    text = "\n".join(lines + [""] + about)
    print(text)
    if args.markdown:
        args.markdown.write_text(text + "\n")
    if missed:
        log("targets missed: " + "; ".join(missed))
    return 1 if args.check and missed else 0


if __name__ == "__main__":
    sys.exit(main())
