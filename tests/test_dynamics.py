"""Learning dynamics (issue 19): linear CKA, example forgetting and dead units, measured
live by the callback (`record=Dynamics(...)`), after the fact (`analyze`) and from the CLI."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from vizcallbacks import Dynamics, PlotConvCallback, Recording, linear_cka, open_run, read_dynamics
from vizcallbacks.analysis import centered_gram, cka_from_grams, forgetting, inactive_fraction, unit_kind
from vizcallbacks.analysis.files import RASTER_NAME
from vizcallbacks.analysis.noise import flip_labels
from vizcallbacks.analysis.offline import analyze_run
from vizcallbacks.analysis.tracker import RIGHT, WRONG, GramSnapshots
from vizcallbacks.apps.cli import main
from vizcallbacks.plotter import ConvPlotter

from conftest import MNIST_DIR, REPO, require


# ---- linear CKA ----------------------------------------------------------------------

def _golden_pair():
    np.random.seed(1337)
    x = np.random.randn(100, 10)
    return x, np.random.randn(100, 10) + x


@pytest.mark.once
def test_linear_cka_matches_the_golden_value_of_google_researchs_demo():
    x, y = _golden_pair()
    assert round(linear_cka(x, y), 5) == 0.55761


def _hsic_by_definition(x, y):
    """CKA with the centring matrix written out: tr(K H L H) / sqrt(tr(K H K H) tr(L H L H))."""
    n = len(x)
    centring = np.eye(n) - np.ones((n, n)) / n
    k, l_ = x @ x.T, y @ y.T
    hsic = lambda a, b: np.trace(a @ centring @ b @ centring)  # noqa: E731
    return hsic(k, l_) / np.sqrt(hsic(k, k) * hsic(l_, l_))


@pytest.mark.once
def test_linear_cka_feature_and_gram_forms_agree_with_an_independent_computation():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(30, 5))
    y = np.tanh(x @ rng.normal(size=(5, 8))) + 0.3 * rng.normal(size=(30, 8))
    wide = rng.normal(size=(30, 4, 4, 6))  # 96 features > 30 inputs: the Gram form
    expected = _hsic_by_definition(x, y)
    assert linear_cka(x, y) == pytest.approx(expected, rel=1e-9)
    assert cka_from_grams(centered_gram(x), centered_gram(y)) == pytest.approx(expected, rel=1e-9)
    assert linear_cka(x, wide) == pytest.approx(_hsic_by_definition(x, wide.reshape(30, -1)), rel=1e-9)


@pytest.mark.once
def test_linear_cka_is_invariant_to_rotation_isotropic_scaling_and_shift():
    x, y = _golden_pair()
    rotation, _ = np.linalg.qr(np.random.default_rng(1).normal(size=(10, 10)))
    base = linear_cka(x, y)
    assert linear_cka(x @ rotation, y) == pytest.approx(base, abs=1e-10)
    assert linear_cka(7.5 * x, y * 0.01) == pytest.approx(base, abs=1e-10)
    assert linear_cka(x + 3.0, y - 11.0) == pytest.approx(base, abs=1e-10)
    assert linear_cka(x, x) == pytest.approx(1.0)
    assert np.isnan(linear_cka(np.zeros((5, 3)), x[:5]))  # a dead layer: undefined, not 0 or 1


@pytest.mark.once
def test_linear_cka_says_what_is_wrong_with_its_input():
    with pytest.raises(ValueError, match="same inputs"):
        linear_cka(np.ones((4, 2)), np.ones((5, 2)))
    with pytest.raises(ValueError, match="at least 2 inputs"):
        linear_cka(np.ones(4), np.ones(4))


# ---- forgetting, units, bounded memory -----------------------------------------------

@pytest.mark.once
def test_forgetting_counts_are_exact_on_a_scripted_sequence():
    looks = np.array([  # one column per example, one row per look
        [0, 1, 0, 1, 0],
        [1, 1, 0, 0, 0],
        [0, 1, 1, 1, 0],
        [1, 1, 1, 0, 0],
        [1, 1, 1, 1, 0],
    ], dtype=bool)
    stats = forgetting(looks, steps=[0, 10, 20, 30, 40])
    assert stats.first_learned_step == (10, 0, 20, 0, None)
    assert stats.forgetting_events.tolist() == [1, 0, 0, 2, 0]
    # learned and never forgotten; never learned is not unforgettable (Toneva)
    assert stats.unforgettable.tolist() == [False, True, True, False, False]
    assert stats.unforgettable_fraction == pytest.approx(0.4)


@pytest.mark.once
def test_dead_and_saturated_fractions_and_the_unit_kind_read_from_the_layer(keras):
    relu = np.zeros((4, 3, 3, 8))
    relu[..., :2] = np.random.default_rng(0).random((4, 3, 3, 2))
    relu[0, 0, 0, 2] = 1e-6  # alive at one position of one input
    assert inactive_fraction(relu, "relu") == pytest.approx(5 / 8)
    sigmoid = np.array([[0.001, 0.5, 0.999], [0.998, 0.6, 0.0]])
    assert inactive_fraction(sigmoid, "sigmoid") == pytest.approx(2 / 3)
    layers = keras.layers
    assert unit_kind(layers.Conv2D(4, 3, activation="relu")) == "relu"
    assert unit_kind(layers.Dense(4, activation="tanh")) == "tanh"
    assert unit_kind(layers.ReLU()) == "relu"
    assert unit_kind(layers.Dense(4, activation="softmax")) is None
    assert unit_kind(layers.MaxPooling2D()) is None
    with pytest.raises(ValueError, match="kind must be one of"):
        inactive_fraction(relu, "gelu")


@pytest.mark.once
def test_snapshots_stay_within_their_bound_evenly_spaced_whatever_the_length():
    snapshots = GramSnapshots(capacity=4)
    for index in range(100):
        snapshots.add(index, {"layer": np.eye(2)})
        assert len(snapshots.kept) <= 4
    kept = sorted(snapshots.kept)
    assert kept[0] == 0 and len(set(np.diff(kept))) == 1


@pytest.mark.once
def test_flip_labels_flips_the_fraction_asked_always_to_another_class():
    labels = np.arange(1000) % 10
    noisy, flipped = flip_labels(labels, 0.25, seed=3)
    assert flipped.sum() == 250 and np.all(noisy[flipped] != labels[flipped])
    assert np.array_equal(noisy[~flipped], labels[~flipped])
    with pytest.raises(ValueError, match="label_noise"):
        flip_labels(labels, 1.0, seed=0)


@pytest.mark.once
def test_dynamics_options_are_checked_where_they_are_made(tiny_data):
    images, labels = tiny_data
    with pytest.raises(ValueError, match="same training examples"):
        Dynamics(images, labels[:5])
    with pytest.raises(ValueError, match="probe_examples"):
        Dynamics(images, labels, probe_examples=1)
    with pytest.raises(ValueError, match="needs frames_dir"):
        PlotConvCallback(images[:2], movie_path="x.gif", frames_dir=None, record=Dynamics(images, labels))
    with pytest.raises(TypeError, match="record must be"):
        Recording(layers="conv")
    assert len(Dynamics(images, labels, examples=500).tracked_indices()) == len(images)


# ---- a real fit ----------------------------------------------------------------------

def _fit_with_dynamics(model, data, frames_dir, monkeypatch, **options):
    images, labels = data
    seen = []
    render = ConvPlotter.render
    monkeypatch.setattr(ConvPlotter, "render", lambda self, activations, stamp, dynamics=None: (
        seen.append(dynamics), render(self, activations, stamp))[1])
    callback = PlotConvCallback(images[:3], labels=labels[:3], frames_dir=frames_dir, every_n_batches=2,
                                record=Dynamics(images, labels, examples=40, probe_examples=16, **options))
    model.fit(images, labels, batch_size=16, epochs=2, verbose=0, callbacks=[callback])
    assert not callback.faults
    return seen


def test_dynamics_json_is_consistent_after_a_real_fit(tiny_cnn, tiny_data, tmp_path, monkeypatch):
    frames_dir = tmp_path / "run"
    seen = _fit_with_dynamics(tiny_cnn, tiny_data, frames_dir, monkeypatch)
    dynamics = read_dynamics(frames_dir)
    steps = dynamics["steps"]
    assert set(dynamics) == {"steps", "layers", "examples", "unforgettable_fraction"}
    assert steps == open_run(frames_dir).steps and steps == sorted(set(steps))
    assert list(dynamics["layers"]) == ["conv", "pool", "flat", "out"]
    for name, layer in dynamics["layers"].items():
        assert set(layer) == {"cka_to_final", "cka_to_previous", "dead_fraction"}
        assert all(len(values) == len(steps) for values in layer.values())
        assert layer["cka_to_final"][-1] == 1.0 and layer["cka_to_previous"][0] is None
        assert all(0 <= value <= 1 for value in layer["cka_to_final"])
    assert all(value is not None for value in dynamics["layers"]["conv"]["dead_fraction"])  # relu
    assert all(value is None for value in dynamics["layers"]["out"]["dead_fraction"])  # softmax
    examples = dynamics["examples"]
    assert len(examples) == 40 + 3  # the tracked training examples, then the shown ones
    unforgettable = [e["first_learned_step"] is not None and e["forgetting_events"] == 0 for e in examples]
    assert dynamics["unforgettable_fraction"] == pytest.approx(np.mean(unforgettable), abs=1e-6)
    raster = np.asarray(Image.open(frames_dir / RASTER_NAME).convert("RGB"))
    assert raster.shape == (len(examples), len(steps), 3)
    colours = {tuple(pixel) for pixel in raster.reshape(-1, 3)}
    assert colours <= {RIGHT, WRONG}
    assert (frames_dir / "dynamics.png").is_file()
    # every frame was drawn with the dynamics so far: the shown rows' histories grow by one
    assert len(seen) == len(steps)
    assert [len(frame.row_correct[0]) for frame in seen] == list(range(1, len(steps) + 1))
    assert set(seen[-1].dead_fraction) == {"conv"} and seen[0].cka_to_previous["conv"] is None


def test_analyze_computes_a_recorded_runs_dynamics_after_the_fact(tiny_cnn, tiny_data, tmp_path, capsys):
    images, labels = tiny_data
    frames_dir = tmp_path / "run"
    callback = PlotConvCallback(images[:4], labels=labels[:4], frames_dir=frames_dir, every_n_batches=2)
    tiny_cnn.fit(images, labels, batch_size=16, epochs=1, verbose=0, callbacks=[callback])
    summary = analyze_run(frames_dir)
    assert summary["steps"] == open_run(frames_dir).steps and len(summary["examples"]) == 4
    assert summary["layers"]["conv"]["cka_to_final"][-1] == 1.0
    assert summary["layers"]["conv"]["dead_fraction"][0] is not None  # Conv2D, >= 0 with zeros: ReLU-like
    assert summary["layers"]["pool"]["dead_fraction"][0] is None       # passes on another's units
    assert main(["analyze", str(frames_dir)]) == 0
    assert "unforgettable" in capsys.readouterr().out
    assert json.loads((frames_dir / "dynamics.json").read_text())["steps"] == summary["steps"]
    assert main(["analyze", str(tmp_path / "nothing")]) == 2
    # NumPy only: analyse on a machine with no Keras backend
    blocked = "import sys\nfor name in ('keras', 'tensorflow', 'jax', 'torch'):\n    sys.modules[name] = None\n"
    done = subprocess.run([sys.executable, "-c", blocked + "from vizcallbacks.apps.cli import main\n"
                           f"sys.exit(main(['analyze', {str(frames_dir)!r}]))"], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    assert done.returncode == 0, done.stderr


@pytest.mark.once
def test_the_train_flags_are_read_and_checked(capsys):
    from vizcallbacks.apps.cli import build_parser

    args = build_parser().parse_args(["train", "--dynamics", "--label-noise", "0.3"])
    assert args.dynamics and args.label_noise == 0.3
    assert not build_parser().parse_args(["train"]).dynamics
    assert main(["train", "--label-noise", "1.5"]) == 2
    assert "fraction in [0, 1)" in capsys.readouterr().err


@pytest.mark.e2e
@pytest.mark.once  # the dynamics under each backend: the tiny fit above; this is about MNIST
def test_flipped_labels_are_learned_later_on_real_mnist(tmp_path, capsys):
    require(MNIST_DIR, "MNIST")
    assert main(["train", "--dataset", "mnist", "--data-dir", str(MNIST_DIR), "--max-steps", "150", "--every", "25",
                 "--dynamics", "--label-noise", "0.3", "--format", "gif", "--quiet",
                 "--out", str(tmp_path / "noisy")]) == 0
    assert "dynamics.json" in capsys.readouterr().out
    dynamics = read_dynamics(tmp_path / "noisy")
    never = dynamics["steps"][-1] + 1  # an example never learned counts as learned after the end
    first = {flag: [never if e["first_learned_step"] is None else e["first_learned_step"]
                    for e in dynamics["examples"][:512] if e["noisy"] is flag] for flag in (True, False)}
    assert 100 < len(first[True]) < 220  # about 30% of 512 tracked
    assert np.mean(first[True]) > np.mean(first[False]) + 25


@pytest.mark.once
def test_compare_puts_the_configurations_dynamics_side_by_side_averaged_over_seeds():
    from types import SimpleNamespace

    from vizcallbacks.apps.compare.dynamics import dynamics_by_config

    configs = [SimpleNamespace(name="bs32"), SimpleNamespace(name="bs512")]
    run = lambda config, unforgettable, dead: {  # noqa: E731
        "config": config, "dynamics": {"unforgettable_fraction": unforgettable, "dead_fraction": {"dense": dead}}}
    summaries = [run("bs32", 0.6, 0.1), run("bs32", 0.8, 0.3), run("bs512", 0.5, 0.0), {"config": "bs512"}]
    assert dynamics_by_config(configs, summaries) == {
        "bs32": {"unforgettable_fraction": 0.7, "dead_fraction": {"dense": 0.2}, "seeds": 2},
        "bs512": {"unforgettable_fraction": 0.5, "dead_fraction": {"dense": 0.0}, "seeds": 1}}
    assert dynamics_by_config(configs, [{"config": "bs32"}]) == {}


@pytest.mark.e2e
@pytest.mark.once
def test_compare_with_dynamics_gives_every_run_its_dynamics_and_the_summary_the_configurations(tmp_path, capsys):
    from conftest import FASHION_DIR

    require(FASHION_DIR, "Fashion-MNIST")
    out = tmp_path / "compare"
    assert main(["compare", "--dataset", "fashion_mnist", "--batch-sizes", "16,64", "--examples", "512", "--every",
                 "128", "--heldout", "100", "--format", "gif", "--quiet", "--dynamics", "--jobs", "1",
                 "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())["dynamics"]
    for name in ("bs16", "bs64"):
        dynamics = read_dynamics(out / "runs" / name)
        assert dynamics["steps"] == open_run(out / "runs" / name).steps  # the store's steps (examples seen)
        assert summary[name]["unforgettable_fraction"] == pytest.approx(dynamics["unforgettable_fraction"])
        assert set(summary[name]["dead_fraction"]) == {"conv1", "conv2", "dense"}
    assert "bs16: unforgettable" in capsys.readouterr().out


def test_recording_keeps_the_dynamics_without_the_store(tiny_cnn, tiny_data, tmp_path):
    images, labels = tiny_data
    frames_dir = tmp_path / "run"
    callback = PlotConvCallback(images[:2], labels=labels[:2], frames_dir=frames_dir, every_n_batches=4,
                                record=Recording(layers=False, dynamics=Dynamics(images, labels, examples=20)))
    tiny_cnn.fit(images, labels, batch_size=16, epochs=1, verbose=0, callbacks=[callback])
    assert not (frames_dir / "store").exists()
    assert len(read_dynamics(frames_dir)["examples"]) == 22
