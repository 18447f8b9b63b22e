"""`lr_find` and `vizcallbacks lr-find`: the rule alone on made-up losses (fast), then real
range tests on Fashion-MNIST read back (e2e): a frame per batch with the loss strip, the
divergence drawn and not crashed on (a loss k times its lowest, and NaN), the suggested
range in the last frame, summary.json and the movies."""

import inspect
import json
import math
import warnings

import numpy as np
import pytest
from PIL import Image

from conftest import FASHION_DIR, require
from vizcallbacks import lr_find
from vizcallbacks.apps.cli import main
from vizcallbacks.apps.lr_find import LR_FIND_STYLE, LearningRateRange, RangeTestSpec, suggest
from vizcallbacks.apps.lr_find.rule import divergence_step, smooth, smooth_without_lag
from vizcallbacks.movie import inspect_movie
from vizcallbacks.render import make_palette

RED = tuple(make_palette("inferno")[-1])  # the palette's red: the divergence's cross


def _lines(path):
    return [json.loads(line) for line in path.read_text().splitlines() if line]


# ---- the rule, without training -------------------------------------------------------------------

def test_the_learning_rate_rises_by_one_factor_from_min_to_max():
    schedule = LearningRateRange(1e-4, 10.0, 201)
    assert schedule.lr(0) == pytest.approx(1e-4) and schedule.lr(200) == pytest.approx(10.0)
    assert schedule.lr(100) == pytest.approx(10 ** -1.5)
    assert schedule(3, 0.5) == pytest.approx(schedule.lr(3))  # as LearningRateScheduler calls it
    assert schedule.factor == pytest.approx(10 ** (5 / 200))


def test_smoothing_corrects_its_start_and_stops_at_a_non_finite_loss():
    assert smooth([2.0, 2.0, 2.0]) == pytest.approx([2.0, 2.0, 2.0])  # no pull towards 0 at the start
    assert smooth([1.0, 3.0], 0.5) == pytest.approx([1.0, 7 / 3])  # (0.25 + 1.5) / (1 - 0.25)
    assert smooth([1.0, None, 1.0])[1:] == [None, None]
    assert smooth([1.0, math.nan])[1] is None
    assert smooth_without_lag([2.0] * 5) == pytest.approx([2.0] * 5)


def test_divergence_is_a_nan_or_a_smoothed_loss_k_times_its_lowest():
    losses = [2.0, 1.0, 0.5, 0.5, 0.5]
    assert divergence_step(losses, smooth(losses, 0.0)) is None
    assert divergence_step(losses + [None], smooth(losses + [None], 0.0)) == 5
    blown = losses + [2.1]
    assert divergence_step(blown, smooth(blown, 0.0), 4.0) == 5
    assert divergence_step(blown[:-1] + [1.9], smooth(blown[:-1] + [1.9], 0.0), 5.0) is None
    # Back above its start once it had fallen: the network lost what it learned (dead ReLUs
    # keep the loss near chance, where Keras's clipped probabilities bound it).
    assert divergence_step(blown, smooth(blown, 0.0), 5.0) == 5
    never_fell = [2.0, 1.98, 2.01, 2.02]
    assert divergence_step(never_fell, smooth(never_fell, 0.0)) is None


def test_the_suggestion_runs_from_the_steepest_descent_to_a_fraction_of_the_divergence():
    schedule = LearningRateRange(1e-4, 10.0, 201)
    lrs = [schedule.lr(i) for i in range(201)]
    # Falls fastest at lr 10^-1.5 (a logistic in log lr), bottoms out, then explodes past lr 1.
    losses = [2.3 - 1.5 / (1 + math.exp(-4 * (math.log10(lr) + 1.5))) + (0 if lr < 1 else 50 * (lr - 1))
              for lr in lrs]
    found = suggest(lrs, losses)
    assert found.steepest_lr == pytest.approx(10 ** -1.5, rel=0.1)
    assert found.diverged_step is not None and 1 < found.diverged_lr < 1.5
    assert found.high == pytest.approx(min(found.minimum_lr, 0.25 * found.diverged_lr))
    assert found.low == found.steepest_lr < found.high < found.diverged_lr
    assert "Suggested learning rates" in found.text and "falls fastest" in found.rule
    flat = suggest(lrs[:50], [2.3] * 50)
    assert flat.low is None and flat.high is None and "did not fall 5% below its start" in flat.text
    assert "did not diverge" in flat.text
    at_once = suggest(lrs[:3], [2.3, None, None])
    assert at_once.low is None and at_once.diverged_step == 1
    assert "diverged at lr" in at_once.text and "lower min_lr" in at_once.text


@pytest.mark.parametrize("options, argument", [
    (dict(min_lr=1.0, max_lr=0.1), "max_lr"),
    (dict(min_lr=0), "min_lr"),
    (dict(batches=1), "batches"),
    (dict(batch_size=0), "batch_size"),
    (dict(smoothing=1.0), "smoothing"),
    (dict(divergence_factor=1), "divergence_factor"),
    (dict(fraction=0), "fraction"),
    (dict(fraction=2), "fraction"),
    (dict(optimizer="newton"), "optimizer"),
    (dict(image_indices=[-1]), "image_indices"),
    (dict(formats=["avi"]), "formats"),
    (dict(seed=0.5), "seed"),
])
def test_bad_arguments_raise_value_error_naming_the_argument(tmp_path, options, argument):
    fields = {name: value for name, value in options.items() if name != "formats"}
    rest = {name: value for name, value in options.items() if name not in fields}
    with pytest.raises(ValueError, match=argument), warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)  # the new spelling warns of nothing
        lr_find(RangeTestSpec(**{"data_dir": FASHION_DIR, **fields}), out_dir=tmp_path, progress=False, **rest)
    assert not (tmp_path / "frames").exists()


def test_the_old_keywords_work_for_one_release_and_name_the_new_spelling(tmp_path):
    assert len(inspect.signature(lr_find).parameters) <= 12
    with pytest.warns(DeprecationWarning, match=r"write lr_find\(RangeTestSpec\(min_lr=\.\.\., max_lr=\.\.\.\)"), \
            pytest.raises(ValueError, match="max_lr"):
        lr_find(min_lr=1.0, max_lr=0.1, out_dir=tmp_path)
    with pytest.warns(DeprecationWarning, match=r"style=LR_FIND_STYLE\.replace\(cell_px=\.\.\.\)"), \
            pytest.raises(ValueError, match="cell_px"):
        lr_find(RangeTestSpec(), cell_px=2, out_dir=tmp_path)
    with pytest.raises(TypeError, match=r"unexpected keyword arguments \['colour'\]"):
        lr_find(colour="red", out_dir=tmp_path)
    assert not (tmp_path / "frames").exists()


@pytest.mark.parametrize("argv, message", [
    (["--batches", "0"], "--batches"),
    (["--min-lr", "-1"], "--min-lr"),
    (["--min-lr", "1", "--max-lr", "0.5"], "max_lr"),
    (["--optimizer", "newton"], "--optimizer"),
])
def test_cli_bad_arguments_end_with_status_2_and_one_line(tmp_path, capsys, argv, message):
    assert main(["lr-find", "--out", str(tmp_path), *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err and "Traceback" not in err


def test_help_states_the_rule_and_has_an_example(capsys):
    with pytest.raises(SystemExit):
        main(["lr-find", "--help"])
    out = capsys.readouterr().out
    assert "example:" in out and "falls fastest" in out and "diverge" in out


# ---- real range tests -------------------------------------------------------------------------------

def _strip_has(frame: np.ndarray, colour, top: int) -> bool:
    return bool((frame[top:] == np.array(colour, np.uint8)).all(axis=2).any())


@pytest.fixture(scope="module")
def range_test(tmp_path_factory):
    """100 batches from lr 0.01 to 10 (x1.072 a batch): SGD learns, then diverges on the way."""
    require(FASHION_DIR, "Fashion-MNIST")
    return lr_find(RangeTestSpec(data_dir=FASHION_DIR, min_lr=0.01, max_lr=10.0, batches=100, batch_size=64),
                   out_dir=tmp_path_factory.mktemp("lr_find"), style=LR_FIND_STYLE.replace(cell_px=24), progress=False)


@pytest.mark.e2e
def test_a_range_test_stops_where_training_diverged_and_suggests_a_range_below(range_test):
    found = range_test.suggestion
    assert found.diverged_step is not None and len(range_test.losses) == found.diverged_step + 1 < 100
    assert found.low is not None and found.low <= found.high <= 0.25 * found.diverged_lr + 1e-12
    assert found.steepest_lr == found.low and found.minimum_lr < found.diverged_lr
    summary = json.loads(range_test.summary_path.read_text())
    schedule = LearningRateRange(0.01, 10.0, 100)
    assert [b["learning_rate"] for b in summary["batches"]] == pytest.approx(
        [schedule.lr(i) for i in range(len(range_test.losses))])
    assert [b["loss"] for b in summary["batches"]] == pytest.approx(list(range_test.losses))
    assert summary["suggestion"]["low"] == found.low and summary["batches_run"] == len(range_test.losses)


@pytest.mark.e2e
def test_every_batch_is_a_frame_with_the_strip_and_the_movie_ends_on_the_suggestion(range_test):
    out = range_test.out_dir
    records = _lines(out / "frames.jsonl")
    assert len(records) == range_test.frame_count == len(range_test.losses)
    assert [r["loss"] for r in records] == pytest.approx(list(range_test.losses))
    frames = [np.asarray(Image.open(out / r["file"]).convert("RGB")) for r in records]
    assert len({frame.shape for frame in frames}) == 1
    last = np.asarray(Image.open(range_test.suggestion_png).convert("RGB"))
    assert last.shape == frames[0].shape
    grid_h = frames[0].shape[0] - 250  # the strip under the grid
    # The divergence is drawn in its own frame (and the last), in no frame before it.
    assert _strip_has(frames[-1], RED, grid_h) and _strip_has(last, RED, grid_h)
    assert not any(_strip_has(frame, RED, grid_h) for frame in frames[:-1])
    assert not np.array_equal(last, frames[-1])  # the range shaded, the steepest descent marked
    # The frames folder and its manifest hold the batches; the suggestion's frame goes to the movies only.
    assert sorted(p.name for p in (out / "frames").glob("*.png")) == sorted(r["file"].split("/")[-1] for r in records)
    for movie in range_test.movies:
        assert inspect_movie(movie.path).frame_count >= len(frames) + 1
    with Image.open(out / "movie.gif") as gif:
        assert gif.n_frames == len(frames) + 1
        for index in (len(frames) - 1, len(frames)):  # exact, all on the palette: the divergence, the end
            gif.seek(index)
            assert np.array_equal(np.asarray(gif.convert("RGB")), frames[-1] if index < len(frames) else last)


@pytest.mark.e2e
def test_cli_draws_a_nan_loss_instead_of_crashing_on_it(tmp_path, capsys):
    require(FASHION_DIR, "Fashion-MNIST")
    out = tmp_path / "nan"
    # k so large that only a NaN or infinite loss stops it, and learning rates up to float32's
    # largest: the weights overflow. (On JAX and PyTorch, whose loss from clipped probabilities
    # stays finite while the weights do, that is the next batch; TensorFlow's loss from the
    # logits grows first, to about 1e36.)
    assert main(["lr-find", "--data-dir", str(FASHION_DIR), "--out", str(out), "--min-lr", "1e36", "--max-lr", "3.3e38",
                 "--batches", "8", "--batch-size", "32", "--divergence-factor", "1e300", "--format", "gif",
                 "--quiet"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    found = summary["suggestion"]
    assert found["diverged_step"] == summary["batches_run"] - 1 >= 1
    assert summary["batches"][-1]["loss"] is None and found["diverged_loss"] is None  # NaN or infinite
    printed = capsys.readouterr().out
    assert f"diverged at lr {found['diverged_lr']:.3g}" in printed
    frames = _lines(out / "frames.jsonl")
    last = np.asarray(Image.open(out / frames[-1]["file"]).convert("RGB"))
    assert _strip_has(last, RED, last.shape[0] - 250)
    assert inspect_movie(out / "movie.gif").frame_count == len(frames) + 1
