"""The page that plays a run: written from a real tiny training, then driven in a real
headless Chromium (Selenium, Debian's chromium and chromium-driver)."""

import io
import json
import re
import shutil
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from browser import browser, open_page, page_state, press, wait_loaded  # noqa: F401 (browser: a fixture)
from conftest import build_tiny_cnn, make_tiny_data
from vizcallbacks import PlotConvCallback, write_page
from vizcallbacks.apps.cli import main

pytestmark = pytest.mark.once  # the same under every backend (see conftest.py)


def _fit(model, data, out: Path, *, batch_size: int, every: int, manifest_beside: bool, epochs: int = 3):
    images, labels = data
    frames_dir = out / "frames" if manifest_beside else out
    callback = PlotConvCallback(images, indices=[0, 1, 2], labels=labels, frames_dir=frames_dir,
                                manifest_path=out / "frames.jsonl", every_n_batches=every,
                                batch_size=batch_size)
    model.fit(images, labels, batch_size=batch_size, epochs=epochs, verbose=0, shuffle=False,
              callbacks=[callback])
    return [json.loads(line) for line in (out / "frames.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def trained_run(keras, tmp_path_factory):
    """One real tiny training for the module, laid out as `vizcallbacks train` writes it:
    DIR/frames/*.png and DIR/frames.jsonl; 3 epochs of 10 batches, a frame every 2 batches
    and at the end: 16 frames."""
    out = tmp_path_factory.mktemp("trained") / "run"
    records = _fit(build_tiny_cnn(keras), make_tiny_data(), out, batch_size=8, every=2, manifest_beside=True)
    return out, records


@pytest.fixture
def run(trained_run, tmp_path):
    """The module's trained run, copied: a test may change its files."""
    source, records = trained_run
    shutil.copytree(source, tmp_path / "run")
    return tmp_path / "run", records


def _embedded(page: Path) -> dict:
    text = page.read_text(encoding="utf-8")
    return json.loads(re.search(r'<script type="application/json" id="run-data">(.*?)</script>', text, re.S)[1])


# ---- the file, without a browser ------------------------------------------------------------

def test_page_holds_the_manifest_and_refers_to_the_frames(run, tmp_path):
    run_dir, records = run
    page = write_page(run_dir)
    assert page == run_dir / "index.html"
    text = page.read_text(encoding="utf-8")
    assert len(text) < 60_000  # frames referred to, not embedded
    data = _embedded(page)
    [shown] = data["runs"]
    assert [r["src"] for r in shown["records"]] == [r["file"] for r in records]
    assert [r["step"] for r in shown["records"]] == [r["step"] for r in records]
    assert [r["loss"] for r in shown["records"]] == [r["loss"] for r in records]
    assert [entry["x"] for entry in data["timeline"]] == [r["step"] for r in records]
    assert [m["key"] for m in data["metrics"]] == ["loss", "accuracy"]
    # Self-contained: nothing fetched from elsewhere (the SVG namespace is a name, not a fetch).
    assert "https://" not in text and "<link" not in text and not re.search(r"<script[^>]*\bsrc=", text)
    assert set(re.findall(r"http://[^\"' ]+", text)) == {"http://www.w3.org/2000/svg"}
    # Elsewhere, the page refers to the frames relative to itself.
    (tmp_path / "pages").mkdir()
    page = write_page(run_dir, out_path=tmp_path / "pages" / "run.html")
    assert _embedded(page)["runs"][0]["records"][0]["src"] == "../run/" + records[0]["file"]


def test_a_page_of_ours_is_replaced_any_other_file_kept(run):
    run_dir, _ = run
    page = write_page(run_dir)
    assert write_page(run_dir) == page  # its own page: replaced
    page.write_text("<html>my notes</html>")
    with pytest.raises(FileExistsError, match=r"not a page that write_page wrote; it is kept"):
        write_page(run_dir)
    assert page.read_text() == "<html>my notes</html>"


def test_missing_frames_are_named_in_a_warning(run):
    run_dir, records = run
    (run_dir / records[3]["file"]).unlink()
    with pytest.warns(UserWarning, match=r"1 of the frames the manifest lists are not on disk \(frames/plot-01-0006"):
        write_page(run_dir)


def test_mistakes_say_what_is_valid(tmp_path):
    run_dir = tmp_path / "run"
    (run_dir / "frames").mkdir(parents=True)
    (run_dir / "frames.jsonl").write_text(json.dumps({"file": "frames/plot-01-0000.png", "step": 1}) + "\n")
    with pytest.raises(ValueError, match=r"run_dir must be the folder of a run.*does not exist"):
        write_page(tmp_path / "nowhere")
    with pytest.raises(TypeError, match=r"Received: run_dir=3"):
        write_page(3)
    with pytest.raises(ValueError, match=r"has no frames.jsonl. Pass the run's folder"):
        write_page(run_dir / "frames")
    with pytest.raises(ValueError, match=r"out_path must end in .html. Received: out_path="):
        write_page(run_dir, out_path=run_dir / "page.txt")
    with pytest.raises(ValueError, match=r"manifest must be a run's frames.jsonl.*does not exist"):
        write_page(run_dir, manifest=run_dir / "other.jsonl")
    (run_dir / "frames.jsonl").write_text(json.dumps({"step": 1}) + "\n")
    with pytest.raises(ValueError, match=r"line 1 names no frame file"):
        write_page(run_dir)
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "frames.jsonl").write_text("")
    with pytest.raises(ValueError, match=r"lists no frames"):
        write_page(tmp_path / "empty")


def test_view_command_writes_the_page_and_prints_its_path(run, tmp_path, capsys):
    run_dir, records = run
    assert main(["view", str(run_dir)]) == 0
    assert capsys.readouterr().out.strip() == str(run_dir / "index.html")
    assert [r["src"] for r in _embedded(run_dir / "index.html")["runs"][0]["records"]] == [r["file"] for r in records]
    assert main(["view", str(run_dir), "--out", str(tmp_path / "elsewhere.html")]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "elsewhere.html")
    assert _embedded(tmp_path / "elsewhere.html")["runs"][0]["records"][0]["src"] == "run/" + records[0]["file"]
    assert main(["view", str(tmp_path / "nowhere")]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "does not exist" in err and "Traceback" not in err


# ---- in a browser -----------------------------------------------------------------------------

def test_keys_move_frame_scrubber_and_cursors_together(browser, run):
    from selenium.webdriver.common.keys import Keys

    run_dir, records = run
    state = open_page(browser, write_page(run_dir))
    size = Image.open(run_dir / records[0]["file"]).size
    assert state["index"] == 0 and state["files"] == [records[0]["file"]] and state["loaded"] == [list(size)]
    assert set(state["cursors"]) == {"cursor-loss", "cursor-accuracy"}
    first = state["cursors"]["cursor-loss"]
    end = press(browser, Keys.END)
    assert end["index"] == len(records) - 1 and end["srcs"] == [records[-1]["file"]]
    right = end["cursors"]["cursor-loss"]
    assert right - first > 200  # the curves span the chart

    def expected_x(record):  # the cursor sits at the record's step on a linear axis
        return first + (record["step"] - records[0]["step"]) / (records[-1]["step"] - records[0]["step"]) * (right - first)

    state = press(browser, Keys.HOME)
    assert state["index"] == 0
    for index in range(1, len(records)):
        state = press(browser, Keys.ARROW_RIGHT)
        assert state["index"] == state["scrubber"] == index
        assert state["srcs"] == state["files"] == [records[index]["file"]]
        assert state["counter"] == f"{index + 1} / {len(records)}"
        for cursor in state["cursors"].values():
            assert cursor == pytest.approx(expected_x(records[index]), abs=0.5)
    assert wait_loaded(browser)["loaded"] == [list(size)]  # the last frame's file really loads
    assert press(browser, Keys.ARROW_RIGHT)["index"] == len(records) - 1  # stays at the end
    for index in (len(records) - 2, len(records) - 3):
        state = press(browser, Keys.ARROW_LEFT)
        assert state["index"] == index and state["srcs"] == [records[index]["file"]]
        assert state["cursors"]["cursor-accuracy"] == pytest.approx(expected_x(records[index]), abs=0.5)


def test_click_and_drag_on_a_curve_jump_to_the_nearest_frame(browser, run):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    run_dir, records = run
    open_page(browser, write_page(run_dir))
    first = press(browser, Keys.HOME)["cursors"]["cursor-loss"]
    state = press(browser, Keys.END)
    right, chart = state["cursors"]["cursor-loss"], state["chart"]

    def offset(index, nudge=0.0):  # from the chart's centre, as Selenium 4 measures
        x = first + (records[index]["step"] - records[0]["step"]) / (
            records[-1]["step"] - records[0]["step"]) * (right - first)
        return round(x + nudge - chart["width"] / 2)

    svg = browser.find_element(By.CSS_SELECTOR, "#chart-loss")
    ActionChains(browser).move_to_element_with_offset(svg, offset(6, nudge=4), 10).click().perform()
    state = wait_loaded(browser)
    assert state["index"] == 6 and state["files"] == [records[6]["file"]]
    assert state["cursors"]["cursor-loss"] == pytest.approx(offset(6) + chart["width"] / 2, abs=1)

    accuracy = browser.find_element(By.CSS_SELECTOR, "#chart-accuracy")
    drag = ActionChains(browser).move_to_element_with_offset(accuracy, offset(2), 0).click_and_hold()
    drag.move_by_offset(offset(11) - offset(2), 0).perform()
    state = page_state(browser)  # still dragging: the frame follows the pointer
    assert state["index"] == 11 and state["files"] == [records[11]["file"]]
    ActionChains(browser).release().perform()
    assert page_state(browser)["cursors"]["cursor-accuracy"] == pytest.approx(offset(11) + chart["width"] / 2, abs=1)


def test_play_advances_and_pause_stops(browser, run):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    run_dir, records = run
    open_page(browser, write_page(run_dir))
    press(browser, Keys.HOME)
    button = browser.find_element(By.ID, "play")
    button.click()
    WebDriverWait(browser, 5).until(lambda driver: page_state(driver)["index"] >= 3)
    assert "Pause" in button.text
    button.click()
    stopped = page_state(browser)["index"]
    time.sleep(0.4)  # 4 frames' time at 10 fps
    state = page_state(browser)
    assert state["index"] == stopped and state["files"] == [records[stopped]["file"]]
    press(browser, " ")  # Space plays to the end, then stops
    WebDriverWait(browser, 5).until(lambda driver: page_state(driver)["index"] == len(records) - 1)
    assert "Play" in button.text


def test_screenshot_is_not_blank(browser, run, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    run_dir, records = run
    open_page(browser, write_page(run_dir))
    press(browser, Keys.END)
    wait_loaded(browser)
    screenshot = tmp_path / "page.png"
    assert browser.save_screenshot(str(screenshot))
    page = np.asarray(Image.open(screenshot).convert("RGB"))
    assert page.shape[0] >= 600 and page.shape[1] >= 1000
    assert len(np.unique(page.reshape(-1, 3), axis=0)) > 200  # frame colours, curves, text
    frame = np.asarray(Image.open(io.BytesIO(
        browser.find_element(By.CSS_SELECTOR, "#viewer img").screenshot_as_png)).convert("RGB"))
    assert frame.shape[0] > 100 and frame.std() > 30  # the frame drawn, not an empty box
    drawn = np.asarray(Image.open(run_dir / records[-1]["file"]).convert("RGB"))
    assert len(np.unique(frame.reshape(-1, 3), axis=0)) > len(np.unique(drawn.reshape(-1, 3), axis=0)) // 2
    chart = np.asarray(Image.open(io.BytesIO(
        browser.find_element(By.CSS_SELECTOR, "#chart-loss").screenshot_as_png)).convert("RGB"))
    blue = (chart[..., 2] > 180) & (chart[..., 0] < 90)  # the run's curve, #2563eb
    assert blue.sum() > 100


# ---- several runs: compare's layout --------------------------------------------------------

@pytest.fixture(scope="module")
def compare_dir(keras, tmp_path_factory):
    """Two real tiny runs laid out as `compare` writes them: DIR/runs/<name>/frames.jsonl, and
    a DIR/frames.jsonl whose lines say which record of each run each movie frame shows
    (test_compare.py checks the page of a real `compare` folder)."""
    out = tmp_path_factory.mktemp("compare") / "compare"
    data = make_tiny_data()
    runs = {"bs8": _fit(build_tiny_cnn(keras), data, out / "runs" / "bs8", batch_size=8, every=2,
                        manifest_beside=False, epochs=2),
            "bs16": _fit(build_tiny_cnn(keras), data, out / "runs" / "bs16", batch_size=16, every=1,
                         manifest_beside=False, epochs=2)}
    points = [record["examples_seen"] for record in runs["bs16"]]
    lines = []
    for index, point in enumerate(points):
        shown = {name: max(i for i, record in enumerate(records) if record["examples_seen"] <= point)
                 for name, records in runs.items()}
        lines.append({"file": f"frames/frame-{index:04d}.png", "index": index, "align": "examples",
                      "point": point, "runs": {name: {"index": i, "file": runs[name][i]["file"]}
                                               for name, i in shown.items()}})
    (out / "frames.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    return out, runs, lines


def test_compare_runs_move_together(browser, compare_dir):
    from selenium.webdriver.common.keys import Keys

    out, runs, lines = compare_dir
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # every run's frame is found
        page = write_page(out)
    data = _embedded(page)
    assert [run["name"] for run in data["runs"]] == ["bs8", "bs16"]
    assert data["x"]["key"] == "examples_seen"
    state = open_page(browser, page)
    assert len(state["srcs"]) == 2 and len(state["cursors"]) == 2
    first = state["cursors"]["cursor-loss"]
    right = press(browser, Keys.END)["cursors"]["cursor-loss"]
    press(browser, Keys.HOME)
    for index, line in enumerate(lines):
        state = press(browser, Keys.ARROW_RIGHT) if index else page_state(browser)
        assert state["index"] == index
        assert state["srcs"] == [f"runs/{name}/{runs[name][line['runs'][name]['index']]['file']}"
                                 for name in ("bs8", "bs16")]
        x = first + (line["point"] - lines[0]["point"]) / (lines[-1]["point"] - lines[0]["point"]) * (right - first)
        assert state["cursors"]["cursor-loss"] == pytest.approx(x, abs=0.5)
    assert all(size is not None for size in wait_loaded(browser)["loaded"])


def test_compare_over_seeds_gives_each_run_its_colour_and_the_movies_band(compare_dir):
    """The movie's lines over several seeds hold each shown run's configuration over its
    seeds ("seeds": mean, min, max, as the movie's strip draws them): the page gets it as
    each run's band, at every frame, and each run its configuration's one colour."""
    from vizcallbacks.apps.page.data import page_data
    from vizcallbacks.framefiles import read_manifest
    from vizcallbacks.render.run_colours import run_colour

    out, runs, lines = compare_dir
    seeded = [{**line, "seeds": {name: {"mean": 0.5 + index / 100, "min": 0.4, "max": 0.6 + index / 100, "seeds": 2}
                                 for name in line["runs"]}} for index, line in enumerate(lines)]
    manifest = out.parent / "seeded.jsonl"
    manifest.write_text("".join(json.dumps(line) + "\n" for line in seeded))
    data = page_data(out, manifest, read_manifest(manifest), out)
    assert [run["colour"] for run in data["runs"]] == [run_colour(0), run_colour(1)]
    for run in data["runs"]:
        assert run["band"]["key"] == "heldout_accuracy"
        assert run["band"]["points"] == [[line["point"], 0.5 + i / 100, 0.4, 0.6 + i / 100]
                                         for i, line in enumerate(lines)]
    plain = page_data(out, out / "frames.jsonl", read_manifest(out / "frames.jsonl"), out)
    assert not any("band" in run for run in plain["runs"])  # one seed: the runs' own curves
