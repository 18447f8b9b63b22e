"""How the learning dynamics are seen (issue 19): each frame's right/wrong timelines and dead
fractions, and the page's dynamics panels, from a `dynamics.json` that a small generator here
writes in the analysis' schema (with its `dynamics_raster.png`)."""

import json
import re
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from browser import browser, open_page, page_state, press  # noqa: F401 (browser: a fixture)
from vizcallbacks import FrameStyle, write_page
from vizcallbacks.analysis.frame import FrameDynamics
from vizcallbacks.apps.page.dynamics import raster_order
from vizcallbacks.capture.probe import ActivationProbe
from vizcallbacks.render import GridRenderer, Stamp
from vizcallbacks.render.dynamics import dead_label, timeline_indices
from vizcallbacks.render.palette import GREEN, RED
from vizcallbacks.render.text import SMALL_FONT, font

pytestmark = pytest.mark.once  # drawing and the page: the same under every backend

RASTER_GREEN, RASTER_RED = (0, 160, 0), (200, 0, 0)
LAYERS = ("conv", "pool", "out")


# ---- the fixture: dynamics.json and dynamics_raster.png as the analysis writes them -------------

def write_dynamics(run_dir: Path, steps, *, examples: int = 40, ended: bool = True, seed: int = 0) -> dict:
    """Write `run_dir/dynamics.json` and `dynamics_raster.png` for a made-up run: each example
    learned at some step (every fifth, "noisy", later and with forgetting; a few never), the
    layers settling bottom up. Returns the JSON written and the right/wrong matrix."""
    rng = np.random.default_rng(seed)
    count = len(steps)
    noisy = [example % 5 == 0 for example in range(examples)]
    right = np.zeros((examples, count), bool)
    for example in range(examples):
        if example % 13 == 12:
            continue  # never learned
        learned = int(rng.integers(count // 2, count)) if noisy[example] else int(rng.integers(0, count // 2))
        right[example, learned:] = True
        if noisy[example] and learned + 2 < count:
            right[example, learned + 1] = False  # forgotten once, learned again
    first = [int(steps[np.argmax(row)]) if row.any() else None for row in right]
    forgetting = [int((row[:-1] & ~row[1:]).sum()) for row in right]
    unforgettable = np.mean([row.any() and not events for row, events in zip(right, forgetting)])
    layers = {}
    for depth, name in enumerate(LAYERS):
        settle = np.clip(np.linspace(0, 1, count) * (1.6 - 0.4 * depth), 0, 1)
        to_final = (0.3 + 0.7 * settle).round(4).tolist()
        to_final[-1] = 1.0
        layers[name] = {"cka_to_final": to_final if ended else [None] * count,
                        "cka_to_previous": [None] + [0.95 - 0.01 * depth] * (count - 1),
                        "dead_fraction": np.linspace(0.05 * depth, 0.1 * depth, count).round(4).tolist()}
    dynamics = {"steps": [int(step) for step in steps], "layers": layers,
                "examples": {"first_learned_step": first, "forgetting_events": forgetting, "noisy": noisy},
                "unforgettable_fraction": float(unforgettable)}
    # As the analysis writes it: one entry per tracked example.
    entries = [{"first_learned_step": f, "forgetting_events": e, "noisy": n} for f, e, n in zip(first, forgetting, noisy)]
    (run_dir / "dynamics.json").write_text(json.dumps({**dynamics, "examples": entries}))
    never = np.array([step is None for step in first])
    order = np.lexsort((np.arange(examples), [step or 0 for step in first], never))  # by first learned
    pixels = np.where(right[order][..., None], RASTER_GREEN, RASTER_RED).astype(np.uint8)
    Image.fromarray(pixels).save(run_dir / "dynamics_raster.png")
    return dynamics


def make_run(run_dir: Path, steps) -> list[dict]:
    """A run's folder without training: a small frame and a manifest line per step."""
    (run_dir / "frames").mkdir(parents=True)
    records = []
    for index, step in enumerate(steps):
        file = f"frames/plot-01-{index:04d}.png"
        shade = 40 + 200 * index // max(1, len(steps) - 1)
        Image.fromarray(np.full((60, 80, 3), shade, np.uint8)).save(run_dir / file)
        records.append({"file": file, "epoch": 1, "batch": step, "step": step, "loss": 2.0 / (1 + index)})
    (run_dir / "frames.jsonl").write_text("".join(json.dumps(record) + "\n" for record in records))
    return records


def _embedded(page: Path) -> dict:
    text = page.read_text(encoding="utf-8")
    return json.loads(re.search(r'<script type="application/json" id="run-data">(.*?)</script>', text, re.S)[1])


# ---- the frame ------------------------------------------------------------------------------

@pytest.fixture
def drawn(tiny_cnn, tiny_data):
    """A probe over 3 labelled images and a renderer that keeps room for the dynamics."""
    images, labels = tiny_data
    probe = ActivationProbe(tiny_cnn, images[:3])
    style = FrameStyle(show_dynamics=True, normalization="minmax")
    return probe, GridRenderer(probe.views, images[:3], labels=labels[:3], style=style)


def _colour_counts(frame: np.ndarray, renderer, index: int, columns: slice) -> int:
    return int((frame[:, columns] == renderer.palette[index]).all(axis=-1).sum())


def test_each_row_gets_its_right_wrong_timeline(drawn):
    probe, renderer = drawn
    activations = probe()
    label_band = slice(0, 124)  # the labels beside the rows: the timelines and the prediction marks
    plain = renderer.render(activations, Stamp(1, 5), dynamics=FrameDynamics())
    histories = ((True,) * 5 + (False,) * 3, None, (False, True) * 100)
    frame = renderer.render(activations, Stamp(1, 5), dynamics=FrameDynamics(row_correct=histories))
    green = _colour_counts(frame, renderer, GREEN, label_band) - _colour_counts(plain, renderer, GREEN, label_band)
    red = _colour_counts(frame, renderer, RED, label_band) - _colour_counts(plain, renderer, RED, label_band)
    # Row 0: 8 ticks of 2 x 4 pixels; row 1 has no history; row 2, 200 frames over 116 pixels.
    width = 116
    long = timeline_indices(histories[2], width)
    assert green == 5 * 2 * 4 + int((long == GREEN).sum()) * 4
    assert red == 3 * 2 * 4 + int((long == RED).sum()) * 4
    assert (frame[:, 124:] == plain[:, 124:]).all()  # the grid itself is untouched


def test_frame_size_is_the_same_whatever_the_history(drawn, tiny_cnn, tiny_data):
    probe, renderer = drawn
    activations = probe()
    sizes = {renderer.render(activations, Stamp(1, n), dynamics=FrameDynamics(
        row_correct=((True,) * n,) * 3, dead_fraction={"conv": n / 1000})).shape for n in (0, 1, 37, 500, 4000)}
    sizes.add(renderer.render(activations, Stamp(1, 2)).shape)  # a frame before any analysis
    assert sizes == {(*renderer.frame_size, 3)}
    images, labels = tiny_data
    plain = GridRenderer(probe.views, images[:3], labels=labels[:3], style=FrameStyle())
    assert renderer.frame_size[0] > plain.frame_size[0] and renderer.frame_size[1] == plain.frame_size[1]
    small = GridRenderer(probe.views, images[:3], labels=labels[:3],
                         style=FrameStyle(show_dynamics=True, cell_px=8))
    # Small cells: each block still tall enough for its label and timeline.
    assert small.render(activations, dynamics=FrameDynamics(row_correct=((True,),) * 3)).shape[0] >= 3 * 44


def test_dead_fraction_above_its_column(drawn):
    probe, renderer = drawn
    activations = probe()
    plain = renderer.render(activations, Stamp(1, 5), dynamics=FrameDynamics())
    frame = renderer.render(activations, Stamp(1, 5), dynamics=FrameDynamics(dead_fraction={"conv": 0.12,
                                                                                            "elsewhere": 0.5}))
    changed_rows, changed_cols = np.nonzero((frame != plain).any(axis=-1))
    assert changed_rows.min() >= 26 and changed_rows.max() < 26 + 14  # the row under the stamp
    assert changed_cols.min() < 124  # its label, at the left
    measure = ImageDraw.Draw(Image.new("L", (1, 1)))
    assert dead_label(0.123, measure, 58) == "dead 12%"
    assert dead_label(0.001, measure, 58) == "dead <1%" and dead_label(0.0, measure, 58) == "dead 0%"
    assert dead_label(0.5, measure, 24) == "50%"  # a narrow column: the number only
    assert dead_label(float("nan"), measure, 58) == "dead –"
    assert measure.textlength("dead 12%", font=font(SMALL_FONT)) <= 58


def test_without_dynamics_the_frame_is_what_it_was(tiny_cnn, tiny_data):
    from vizcallbacks import ConvPlotter

    images, labels = tiny_data
    style = FrameStyle(normalization="minmax")
    plotter = ConvPlotter(tiny_cnn, images[:3], labels=labels[:3], style=style)
    probe = ActivationProbe(tiny_cnn, images[:3])
    before = GridRenderer(probe.views, images[:3], labels=labels[:3], style=style)
    activations = plotter.capture()
    assert np.array_equal(plotter.render(activations, Stamp(2, 7), dynamics=None),
                          before.render(activations, Stamp(2, 7)))
    assert plotter.frame_size == before.frame_size


def test_timeline_ticks_then_spreads_over_its_width():
    assert timeline_indices((), 12).tolist() == timeline_indices((), 12)[:1].tolist() * 12  # the track only
    ticks = timeline_indices((True, False), 12)
    assert ticks[:5].tolist() == [GREEN, GREEN, ticks[2], RED, RED] and ticks[2] == ticks[6]
    assert set(timeline_indices((True, False) * 4, 12).tolist()) == {GREEN, RED}  # 8 frames, 12 pixels
    mostly_right = timeline_indices((True, True, False) * 40, 12)  # 10 frames a pixel: the most of them
    assert mostly_right.tolist() == [GREEN] * 12
    assert timeline_indices((False,) * 50 + (True,) * 50, 10).tolist() == [RED] * 5 + [GREEN] * 5


def test_mistakes_say_what_to_do(drawn, tiny_cnn, tiny_data):
    probe, renderer = drawn
    images, labels = tiny_data
    plain = GridRenderer(probe.views, images[:3], labels=labels[:3])
    with pytest.raises(ValueError, match=r"without room for them.*FrameStyle\(show_dynamics=True\)"):
        plain.render(probe(), dynamics=FrameDynamics())
    with pytest.raises(TypeError, match=r"dynamics must be a .*FrameDynamics or None. Received: dynamics=\{"):
        renderer.render(probe(), dynamics={"dead_fraction": {}})
    with pytest.raises(ValueError, match=r"one history per input shown \(3\).*Received: 2"):
        renderer.render(probe(), dynamics=FrameDynamics(row_correct=((True,), (False,))))
    with pytest.raises(TypeError, match=r"show_dynamics must be True or False. Received: show_dynamics='yes'"):
        FrameStyle(show_dynamics="yes")
    assert FrameStyle.from_dict(FrameStyle(show_dynamics=True).to_dict()).show_dynamics is True


# ---- the page -------------------------------------------------------------------------------

STEPS = list(range(0, 200, 10))


@pytest.fixture
def dynamics_run(tmp_path):
    run_dir = tmp_path / "run"
    records = make_run(run_dir, STEPS)
    return run_dir, records, write_dynamics(run_dir, STEPS)


def test_page_holds_the_dynamics_panels_data(dynamics_run):
    run_dir, records, dynamics = dynamics_run
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        shown = _embedded(write_page(run_dir))["dynamics"]
    assert shown["steps"] == STEPS
    assert shown["cka"]["kind"] == "final" and shown["cka"]["layers"] == list(LAYERS)
    assert [series[-1] for series in shown["cka"]["values"]] == [1.0, 1.0, 1.0]
    assert shown["dead"]["values"][2] == dynamics["layers"]["out"]["dead_fraction"]
    assert shown["raster"]["src"] == "dynamics_raster.png" and shown["raster"]["examples"] == 40
    order = raster_order(dynamics["examples"]["first_learned_step"])
    assert shown["raster"]["noisy_rows"] == [row for row, example in enumerate(order) if example % 5 == 0]
    assert shown["unforgettable_fraction"] == pytest.approx(dynamics["unforgettable_fraction"])
    # While the run goes on, CKA to the final state is unknown: the map shows CKA to the previous frame.
    write_dynamics(run_dir, STEPS, ended=False)
    live = _embedded(write_page(run_dir))["dynamics"]
    assert live["cka"]["kind"] == "previous" and live["cka"]["values"][0][:2] == [None, 0.95]


def test_raster_order_is_the_analysis_order(dynamics_run):
    run_dir, _, dynamics = dynamics_run
    first = dynamics["examples"]["first_learned_step"]
    raster = np.asarray(Image.open(run_dir / "dynamics_raster.png").convert("RGB"))
    learned_at = [int(np.argmax((row == RASTER_GREEN).all(axis=-1))) if (row == RASTER_GREEN).all(axis=-1).any()
                  else None for row in raster]
    assert learned_at == [None if first[e] is None else STEPS.index(first[e]) for e in raster_order(first)]
    assert raster_order([30, None, 10, 30, None, 0]) == [5, 2, 0, 3, 1, 4]


def test_no_dynamics_no_panels_and_a_bad_file_warns(tmp_path):
    run_dir = tmp_path / "run"
    make_run(run_dir, STEPS[:3])
    page = write_page(run_dir)
    assert _embedded(page)["dynamics"] is None and 'id="dynamics" class="dynamics" hidden' in page.read_text()
    (run_dir / "dynamics.json").write_text(json.dumps({"steps": [0, 10, 20], "layers": {"conv": {
        "cka_to_final": [1.0], "cka_to_previous": [None], "dead_fraction": [0.0]}}}))
    with pytest.warns(UserWarning, match=r"dynamics.json' cannot be read \(layer 'conv': cka_to_final must hold "
                                         r"one value per step \(3\)\); the page has no dynamics panels"):
        page = write_page(run_dir)
    assert _embedded(page)["dynamics"] is None


_PANELS = """
const out = {};
document.querySelectorAll('.dyn-panel').forEach(p => {
  const cursor = p.querySelector('.dyn-cursor');
  out[p.dataset.panel] = {column: Number(cursor.dataset.column), value: p.querySelector('h2 .value').textContent,
                          width: p.querySelector('.dyn-plot').getBoundingClientRect().width,
                          labels: [...p.querySelectorAll('.dyn-labels div')].map(d => d.textContent)};
});
const raster = document.querySelector('img.dyn-raster');
return {hidden: document.getElementById('dynamics').hidden, panels: out,
        raster: raster && raster.complete ? [raster.naturalWidth, raster.naturalHeight] : null,
        noisy: !!document.querySelector('canvas.dyn-noisy')};
"""


def test_panels_follow_the_frame_and_jump_to_it(browser, dynamics_run):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    run_dir, records, dynamics = dynamics_run
    open_page(browser, write_page(run_dir))
    WebDriverWait(browser, 10).until(lambda driver: driver.execute_script(_PANELS)["raster"])
    state = browser.execute_script(_PANELS)
    assert not state["hidden"] and sorted(state["panels"]) == ["cka", "dead", "raster"]
    assert state["raster"] == [len(STEPS), 40] and state["noisy"]
    assert all(panel["column"] == 0 and panel["value"] == "step 0" for panel in state["panels"].values())
    assert state["panels"]["cka"]["labels"][0] == f"conv {dynamics['layers']['conv']['cka_to_final'][0]:.2f}"
    press(browser, Keys.END)
    state = browser.execute_script(_PANELS)
    assert {panel["column"] for panel in state["panels"].values()} == {len(STEPS) - 1}
    assert state["panels"]["cka"]["labels"] == ["conv 1.00", "pool 1.00", "out 1.00"]
    assert state["panels"]["dead"]["labels"][2] == "out 20%"
    for _ in range(3):
        press(browser, Keys.ARROW_LEFT)
    assert browser.execute_script(_PANELS)["panels"]["raster"]["column"] == len(STEPS) - 4
    # A click on a panel shows the frame at that step, and every cursor moves there.
    plot = browser.find_element(By.CSS_SELECTOR, '[data-panel="dead"] .dyn-plot')
    width = state["panels"]["dead"]["width"]
    ActionChains(browser).move_to_element_with_offset(plot, int(-width / 2 + width * 5.5 / len(STEPS)), 0).click().perform()
    assert page_state(browser)["index"] == 5
    assert {panel["column"] for panel in browser.execute_script(_PANELS)["panels"].values()} == {5}
