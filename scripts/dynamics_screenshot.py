"""Make docs/dynamics-page.png: the page of a real Fashion-MNIST run with its learning-dynamics
panels, its frames drawn with each row's right/wrong timeline and each layer's dead fraction.

The numbers come from a stand-in measured here, in the training thread at each frame, until
the analysis of issue 19 (`vizcallbacks train --dynamics`) takes its place: 512 tracked
training examples classified, each shown layer's dead units (ReLU outputs zero on every probe
input) and the linear CKA of its probe activations (through centred Gram matrices) with the
previous frame's and, after the run, the final one's. It writes `dynamics.json` and
`dynamics_raster.png` in the analysis' schema, the page, and shoots the page in headless Chromium.

    .venv/bin/python scripts/dynamics_screenshot.py          # writes docs/dynamics-page.png

Needs selenium, Debian's chromium and chromium-driver, and Fashion-MNIST.
"""

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

from screenshots import REPO, save, start_browser

TRACKED, PROBE, EVERY, BATCH, TRAIN = 512, 128, 5, 64, 9600


class Measured:
    """What the stand-in measures at each frame of one model, kept to write dynamics.json."""

    def __init__(self, model, x_train, y_train, seed: int = 0):
        import keras

        picked = np.random.default_rng(seed).choice(len(x_train), TRACKED, replace=False)
        self.model, self.x, self.y = model, x_train[picked], y_train[picked]
        self.step, self.steps, self.right, self.grams, self.dead = 0, [], [], [], []
        self.keras = keras
        self.names, self.probe = None, None

    def watch(self, views, images, labels):
        """Set up for the shown layers and inputs (called once, when the renderer is made)."""
        self.names = [view.name for view in views if self._may_die(view.name)]
        outputs = [self.model.get_layer(name).output for name in self.names]
        self.probe = self.keras.Model(self.model.inputs, outputs)
        self.shown, self.shown_labels, self.shown_right = images, np.asarray(labels), []

    def _may_die(self, name: str) -> bool:  # ReLU layers and what only passes their outputs on
        layer = self.model.get_layer(name)
        activation = getattr(getattr(layer, "activation", None), "__name__", None)
        return activation == "relu" or (activation is None and layer is not self.model.layers[-1])

    def measure(self):
        """The model now: the tracked and shown inputs right or wrong, dead units, Gram matrices."""
        from vizcallbacks.analysis.frame import FrameDynamics

        self.steps.append(self.step)
        self.right.append(self.model.predict(self.x, verbose=0).argmax(-1) == self.y)
        self.shown_right.append(self.model.predict(self.shown, verbose=0).argmax(-1) == self.shown_labels)
        outputs = self.probe.predict(self.x[:PROBE], verbose=0)
        outputs = outputs if isinstance(outputs, list) else [outputs]
        self.dead.append([float((out.reshape(-1, out.shape[-1]).max(0) <= 0).mean()) for out in outputs])
        self.grams.append([_centred_gram(out) for out in outputs])
        cka_previous = {name: None if len(self.grams) == 1 else _cka(self.grams[-2][k], self.grams[-1][k])
                        for k, name in enumerate(self.names)}
        history = np.array(self.shown_right)
        return FrameDynamics(row_correct=tuple(tuple(bool(v) for v in history[:, row]) for row in range(history.shape[1])),
                             dead_fraction=dict(zip(self.names, self.dead[-1])), cka_to_previous=cka_previous)

    def write(self, run_dir: Path) -> None:
        """dynamics.json and dynamics_raster.png, in the analysis' schema."""
        right = np.array(self.right).T  # examples x frames
        first = [int(self.steps[np.argmax(row)]) if row.any() else None for row in right]
        forgetting = [int((row[:-1] & ~row[1:]).sum()) for row in right]
        layers = {name: {"cka_to_final": [_cka(grams[k], self.grams[-1][k]) for grams in self.grams],
                         "cka_to_previous": [None] + [_cka(a[k], b[k]) for a, b in zip(self.grams, self.grams[1:])],
                         "dead_fraction": [dead[k] for dead in self.dead]} for k, name in enumerate(self.names)}
        dynamics = {"steps": self.steps, "layers": layers,
                    "examples": {"first_learned_step": first, "forgetting_events": forgetting, "noisy": [False] * len(first)},
                    "unforgettable_fraction": float(np.mean([f is not None and not e for f, e in zip(first, forgetting)]))}
        (run_dir / "dynamics.json").write_text(json.dumps(dynamics))
        order = sorted(range(len(first)), key=lambda e: (first[e] is None, first[e] or 0))
        pixels = np.where(right[order][..., None], (0, 160, 0), (200, 0, 0)).astype(np.uint8)
        Image.fromarray(pixels).save(run_dir / "dynamics_raster.png")


def _centred_gram(out: np.ndarray) -> np.ndarray:
    features = out.reshape(len(out), -1).astype(np.float64)
    features -= features.mean(0)
    return features @ features.T


def _cka(gram_x: np.ndarray, gram_y: np.ndarray) -> float:
    """Linear CKA from centred Gram matrices: the feature-space formula, ||Y^T X||^2 / (||X^T X|| ||Y^T Y||)."""
    norms = np.linalg.norm(gram_x) * np.linalg.norm(gram_y)
    return round(float((gram_x * gram_y).sum() / norms), 4) if norms > 0 else None


def train(run_dir: Path) -> None:
    import keras

    from vizcallbacks import FrameStyle, PlotConvCallback, default_cnn, load_dataset, write_page
    from vizcallbacks.render import GridRenderer

    (x_train, y_train), (x_test, y_test), names = load_dataset("fashion_mnist")
    x_train, x_test = x_train[:TRAIN, ..., None] / 255.0, x_test[..., None] / 255.0
    model = default_cnn(seed=0)
    measured = Measured(model, x_train, y_train[:TRAIN])

    class Renderer(GridRenderer):  # the grid with room for the dynamics, measured as each frame is drawn
        def __init__(self, views, images, **options):
            options["style"] = options["style"].replace(show_dynamics=True)
            super().__init__(views, images, **options)
            measured.watch(views, images, options["labels"])

        def render(self, activations, stamp):
            return super().render(activations, stamp, dynamics=measured.measure())

    class Steps(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            measured.step += 1

    shown = [0, 1, 2]
    viz = PlotConvCallback(x_test[shown], labels=y_test[shown], frames_dir=run_dir / "frames",
                           manifest_path=run_dir / "frames.jsonl", every_n_batches=EVERY, batch_size=BATCH,
                           style=FrameStyle(class_names=names))
    viz.background, viz.renderer_factory = False, Renderer  # drawn in the training thread: the model as measured
    model.fit(x_train, y_train[:TRAIN], batch_size=BATCH, epochs=1, verbose=0, callbacks=[Steps(), viz])
    measured.write(run_dir)
    write_page(run_dir)


def shoot(run_dir: Path, docs: Path) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    browser = start_browser(run_dir.parent)
    try:
        browser.set_window_size(1280, 1060)
        browser.get((run_dir / "index.html").resolve().as_uri())
        frames = int(browser.execute_script("return document.getElementById('scrubber').max"))
        ActionChains(browser).send_keys(Keys.END).perform()
        for _ in range(frames // 3):
            ActionChains(browser).send_keys(Keys.ARROW_LEFT).perform()
        WebDriverWait(browser, 10).until(lambda driver: driver.execute_script(
            "return [...document.querySelectorAll('img')].every(i => i.complete && i.naturalWidth > 0)"))
        save(browser.get_screenshot_as_png(), docs / "dynamics-page.png")
    finally:
        browser.quit()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=Path, default=REPO / "docs")
    parser.add_argument("--work", type=Path, default=None, help="where the run goes (default: a temporary folder)")
    args = parser.parse_args()
    run_dir = (args.work or Path(tempfile.mkdtemp(prefix="vizcallbacks-dynamics-"))) / "run"
    run_dir.mkdir(parents=True, exist_ok=True)
    train(run_dir)
    shoot(run_dir, args.docs)
    print(f"run in {run_dir}")


if __name__ == "__main__":
    main()
