"""Make the README's "Watch it live" screenshots for real, from one training run:

- docs/live-notebook.png: a notebook whose cell trains with `PlotConvCallback(live=True)`,
  executed by a real Jupyter kernel (nbclient), turned into HTML (nbconvert) and shot in
  headless Chromium: the cell's one output, the frame as it stood when `fit` ended;
- docs/live-tensorboard.png: `tensorboard --logdir` on the same run's `tensorboard_dir`,
  served on 127.0.0.1 only, its Images tab shot in headless Chromium;
- docs/live-page.png: the run's `index.html` (`vizcallbacks view`), shot mid-run.

    .venv/bin/python scripts/screenshots.py            # writes docs/live-*.png

Needs the test extra (nbclient, ipykernel, tensorboard, selenium), nbconvert
(`pip install nbconvert`), Debian's chromium and chromium-driver, and Fashion-MNIST.
"""

import argparse
import base64
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
from pathlib import Path

from PIL import Image

REPO = Path(__file__).resolve().parents[1]
MAX_BYTES = 300_000
KERNEL = "vizcallbacks-screenshots"

CELL = textwrap.dedent("""\
    from vizcallbacks import PlotConvCallback, default_cnn, load_dataset

    (x_train, y_train), (x_test, y_test), names = load_dataset("fashion_mnist")
    x_train, x_test = x_train[..., None] / 255.0, x_test[..., None] / 255.0
    viz = PlotConvCallback(x_test, indices=[0, 1, 2], labels=y_test, class_names=names,
                           frames_dir="run/frames", manifest_path="run/frames.jsonl",
                           every_n_batches=10, batch_size=64, live=True,
                           tensorboard_dir="run/tensorboard")
    model = default_cnn()
    history = model.fit(x_train[:19200], y_train[:19200], batch_size=64, epochs=1, verbose=0, callbacks=[viz])
""")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=Path, default=REPO / "docs")
    parser.add_argument("--work", type=Path, default=None, help="where the run goes (default: a temporary folder)")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="vizcallbacks-screenshots-"))
    work.mkdir(parents=True, exist_ok=True)
    notebook_html = run_notebook(work)
    browser = start_browser(work)
    try:
        save(shoot_notebook(browser, notebook_html), args.docs / "live-notebook.png")
        save(shoot_tensorboard(browser, work / "run" / "tensorboard"), args.docs / "live-tensorboard.png")
        save(shoot_page(browser, work / "run"), args.docs / "live-page.png")
    finally:
        browser.quit()
    print(f"run in {work}")


def run_notebook(work: Path) -> Path:
    """Execute the cell in a real kernel (this Python, this checkout); the notebook as HTML."""
    import nbclient
    import nbformat
    from nbconvert import HTMLExporter

    spec = work / "jupyter" / "kernels" / KERNEL
    spec.mkdir(parents=True, exist_ok=True)
    (spec / "kernel.json").write_text(json.dumps({
        # TensorFlow's C++ start-up lines go to the kernel's terminal, not into the cell.
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}",
                 "--IPKernelApp.capture_fd_output=False"],
        "display_name": "vizcallbacks", "language": "python",
        "env": {"PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "3", "MPLBACKEND": "Agg"}}))
    os.environ["JUPYTER_PATH"] = os.pathsep.join(filter(None, [str(work / "jupyter"), os.environ.get("JUPYTER_PATH")]))
    shutil.rmtree(work / "run", ignore_errors=True)
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(CELL)]
    nbclient.NotebookClient(notebook, kernel_name=KERNEL, timeout=600,
                            resources={"metadata": {"path": str(work)}}).execute()
    outputs = notebook.cells[0].outputs
    errors = [output for output in outputs if output.output_type == "error"]
    if errors:
        sys.exit("\n".join(errors[0].traceback))
    images = [output for output in outputs if "image/png" in output.get("data", {})]
    assert len(images) == 1, f"expected one live output, found {len(images)}"
    size = Image.open(io.BytesIO(base64.b64decode(images[0].data["image/png"]))).size
    print(f"notebook: one live output, last frame {size[0]}x{size[1]}")
    html, _ = HTMLExporter(template_name="lab").from_notebook_node(notebook)
    path = work / "notebook.html"
    path.write_text(html, encoding="utf-8")
    subprocess.run([sys.executable, "-m", "vizcallbacks", "view", str(work / "run")], check=True)
    return path


def start_browser(work: Path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=1280,860",
                 "--disable-background-networking", "--disable-component-update", "--no-first-run",
                 f"--user-data-dir={work / 'chromium'}"):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)


def shoot_notebook(browser, html: Path) -> bytes:
    from selenium.webdriver.common.by import By

    browser.set_window_size(1100, 1400)  # the whole cell in view
    try:
        browser.get(html.resolve().as_uri())
        time.sleep(1)
        return browser.find_element(By.CSS_SELECTOR, ".jp-Cell").screenshot_as_png
    finally:
        browser.set_window_size(1280, 860)


def shoot_tensorboard(browser, log_dir: Path) -> bytes:
    """TensorBoard on 127.0.0.1 at a free port, its Images tab once the grid has loaded."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([str(Path(sys.executable).with_name("tensorboard")), "--logdir", str(log_dir),
                               "--host", "127.0.0.1", "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{url}/data/logdir", timeout=2).read()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("tensorboard did not start") from None
                time.sleep(0.5)
        browser.get(f"{url}/?darkMode=false#images")

        def grid_loaded(driver):  # the image cards live in shadow roots: look through them
            return driver.execute_script("""
                const seen = [];
                const walk = root => root.querySelectorAll('*').forEach(el => {
                    if (el.tagName === 'IMG' && el.naturalWidth > 100) seen.push(el.naturalWidth);
                    if (el.shadowRoot) walk(el.shadowRoot); });
                walk(document); return seen.length;""")

        WebDriverWait(browser, 60).until(grid_loaded)
        time.sleep(1)
        return browser.find_element(By.TAG_NAME, "body").screenshot_as_png
    finally:
        server.terminate()
        server.wait(timeout=30)


def shoot_page(browser, run_dir: Path) -> bytes:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get((run_dir / "index.html").resolve().as_uri())
    frames = browser.execute_script("return document.getElementById('scrubber').max")
    ActionChains(browser).send_keys(Keys.END).perform()
    for _ in range(int(frames) // 3):
        ActionChains(browser).send_keys(Keys.ARROW_LEFT).perform()
    WebDriverWait(browser, 10).until(lambda driver: driver.execute_script(
        "return [...document.querySelectorAll('#viewer img')].every(i => i.complete && i.naturalWidth > 0)"))
    return browser.get_screenshot_as_png()


def save(png: bytes, path: Path) -> None:
    """Keep it under MAX_BYTES: the screenshot quantized to 256 colours, shrunk to 3/4 until small enough."""
    image = Image.open(io.BytesIO(png)).convert("RGB")
    while True:
        buffer = io.BytesIO()
        image.quantize(256, method=Image.Quantize.MEDIANCUT).save(buffer, format="PNG", optimize=True)
        if buffer.tell() <= MAX_BYTES:
            break
        image = image.resize((image.width * 3 // 4, image.height * 3 // 4), Image.Resampling.LANCZOS)
    path.write_bytes(buffer.getvalue())
    print(f"wrote {path} ({image.width}x{image.height}, {buffer.tell() // 1000} KB)")


if __name__ == "__main__":
    main()
