"""What the learning-dynamics literature's claims look like through vizcallbacks (issue 19),
measured on this machine, printed as one table per claim (the README's "Learning dynamics").

    .venv/bin/python scripts/dynamics_study.py            # about 8 CPU-minutes on 2 cores
    .venv/bin/python scripts/dynamics_study.py --quick    # 150 batches a run, for a smoke test

Protocol (ours; each table names the paper's next to it): the default CNN (adam 1e-3,
batch 64), the demo's one epoch (938 batches), a frame every 20 batches, 512 tracked
training examples (seed 0) classified at every frame, CKA and dead units on 64 of them.
1. unforgettable fraction after the demo's epoch, MNIST and Fashion-MNIST (seed 0);
2. the first step each layer's linear CKA to its final state reaches 0.9, Fashion-MNIST,
   seeds 0, 1, 2;
3. MNIST with 20% of the training labels flipped: the flipped tracked examples against the
   clean ones (first learned step, forgetting events);
4. dead ReLU fraction, Fashion-MNIST, SGD at 0.1 (inside lr-find's suggested range 0.073 to
   0.22) against 2.0 (past its divergence point, 0.93), 300 batches.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("MPLBACKEND", "Agg")

import numpy as np  # noqa: E402

from vizcallbacks import Dynamics, PlotConvCallback, read_dynamics  # noqa: E402
from vizcallbacks.callback import StopAfterSteps  # noqa: E402
from vizcallbacks.apps.train import Training, train_movie  # noqa: E402

MNIST_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"


def demo_run(work: Path, dataset: str, *, seed: int = 0, label_noise: float = 0.0, max_steps=None) -> dict:
    """The demo (train_movie) with dynamics on, no movies; its dynamics.json."""
    out = work / f"{dataset}-seed{seed}-noise{label_noise}"
    started = time.perf_counter()
    train_movie(dataset=dataset, out_dir=out, formats=(), data_dir=MNIST_DIR if dataset == "mnist" else None,
                training=Training(seed=seed, dynamics=True, label_noise=label_noise, max_steps=max_steps, verbose=0))
    print(f"  ({dataset}, seed {seed}, label noise {label_noise}: {time.perf_counter() - started:.0f} s)",
          file=sys.stderr)
    return read_dynamics(out)


def sgd_run(work: Path, learning_rate: float, *, steps: int) -> dict:
    """The default CNN on Fashion-MNIST with SGD at `learning_rate`, `steps` batches."""
    from vizcallbacks.demos.catalog import demo_for
    from vizcallbacks.demos.models import default_cnn

    data = demo_for("fashion_mnist").load(None)
    model = default_cnn(seed=0, optimizer="sgd", learning_rate=learning_rate)
    out = work / f"sgd-{learning_rate}"
    callback = PlotConvCallback(data.x_test[:3], labels=data.y_test[:3], frames_dir=out, every_n_batches=20,
                                record=Dynamics(data.x_train, data.y_train))
    with callback:
        model.fit(data.x_train, data.y_train, batch_size=64, epochs=1, verbose=0,
                  callbacks=[callback, StopAfterSteps(steps)])
    return read_dynamics(out)


def first_reach(dynamics: dict, threshold: float = 0.9) -> dict:
    """Per layer, the first step its CKA to the final state reaches `threshold`."""
    return {name: next((step for step, value in zip(dynamics["steps"], layer["cka_to_final"])
                        if value is not None and value >= threshold), None)
            for name, layer in dynamics["layers"].items()}


def noise_figures(dynamics: dict) -> dict:
    """Flipped against clean tracked training examples: mean first-learned step (never
    learned counts as one frame after the last), never-learned share, mean forgetting events
    (of all; of those learned, since one never learned cannot be forgotten)."""
    never = dynamics["steps"][-1] + (dynamics["steps"][-1] - dynamics["steps"][-2])
    tracked = [e for e in dynamics["examples"] if "noisy" in e][:512]
    rows = {}
    for flag, name in ((True, "flipped"), (False, "clean")):
        chosen = [e for e in tracked if e["noisy"] is flag]
        rows[name] = (len(chosen),
                      np.mean([never if e["first_learned_step"] is None else e["first_learned_step"] for e in chosen]),
                      np.mean([e["first_learned_step"] is None for e in chosen]),
                      np.mean([e["forgetting_events"] for e in chosen]),
                      np.mean([e["forgetting_events"] for e in chosen if e["first_learned_step"] is not None]))
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="150 batches a run instead of one epoch")
    parser.add_argument("--work-dir", default=None, help="keep the runs here (default: a temporary folder)")
    args = parser.parse_args(argv)
    work = Path(args.work_dir or tempfile.mkdtemp(prefix="vizcallbacks-dynamics-"))
    steps = 150 if args.quick else None
    started = time.process_time()

    print("1. Unforgettable fraction after the demo's epoch (Toneva et al.: MNIST 91.7%, 200 epochs, 5 seeds)")
    fashion = [demo_run(work, "fashion_mnist", seed=seed, max_steps=steps) for seed in (0, 1, 2)]
    mnist = demo_run(work, "mnist", max_steps=steps)
    for name, dynamics in (("MNIST", mnist), ("Fashion-MNIST", fashion[0])):
        print(f"   {name:14s} {dynamics['unforgettable_fraction']:.1%} of 512 tracked "
              f"(+ 7 shown), {dynamics['steps'][-1]} batches")

    print("2. First step each layer's CKA to its final state reaches 0.9 / 0.99 (Raghu et al.: bottom up)")
    reaches = [(first_reach(dynamics), first_reach(dynamics, 0.99)) for dynamics in fashion]
    for layer in reaches[0][0]:
        print(f"   {layer:8s} " + "  ".join(f"seed {seed}: {low[layer]} / {high[layer]}"
                                         for seed, (low, high) in enumerate(reaches)))

    print("3. MNIST, 20% of training labels flipped (Toneva et al.: noisy examples among the most forgotten)")
    for name, (count, first, never, events, learned_events) in noise_figures(demo_run(work, "mnist", label_noise=0.2,
                                                                       max_steps=steps)).items():
        print(f"   {name:8s} {count:3d} tracked: first learned at step {first:.0f} (mean), never learned "
              f"{never:.0%}, forgetting events {events:.2f} (mean; {learned_events:.2f} among the learned)")

    sgd_steps = 150 if args.quick else 300
    print(f"4. Dead ReLU fraction at the end, SGD, Fashion-MNIST, {sgd_steps} batches (CS231n: 'as much as 40%')")
    for learning_rate in (0.1, 2.0):
        dynamics = sgd_run(work, learning_rate, steps=sgd_steps)
        dead = {name: layer["dead_fraction"][-1] for name, layer in dynamics["layers"].items()
                if layer["dead_fraction"][-1] is not None}
        print(f"   lr {learning_rate:<4} " + ", ".join(f"{name} {value:.1%}" for name, value in dead.items()))
    print(f"(CPU time in this process: {time.process_time() - started:.0f} s; runs in {work})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
