"""Make docs/dynamics-page.png: the page of a real Fashion-MNIST run trained with its learning
dynamics measured (`train_movie` with `Training(dynamics=True)`, as `vizcallbacks train
--dynamics` does), its frames drawn with each row's right/wrong timeline and each layer's dead
fraction, and the page's three dynamics panels; shot in headless Chromium.

    .venv/bin/python scripts/dynamics_screenshot.py          # writes docs/dynamics-page.png

Needs selenium, Debian's chromium and chromium-driver, and Fashion-MNIST.
"""

import argparse
import tempfile
from pathlib import Path

from screenshots import REPO, save, start_browser

EVERY, STEPS = 10, 400


def train(run_dir: Path) -> None:
    from vizcallbacks import Training, train_movie

    train_movie(dataset="fashion_mnist", out_dir=run_dir, every_n_batches=EVERY, image_indices=[0, 1, 2],
                training=Training(max_steps=STEPS, seed=0, verbose=0, dynamics=True), formats=("gif",),
                overwrite=True)


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
