"""A headless Chromium driven by Selenium (Debian's chromium and chromium-driver), for the
tests of the page that plays a run: a module-scoped `browser` fixture and helpers that read
the page's state (frame index, images shown, cursors, scrubber)."""

import os
import shutil
from pathlib import Path

import pytest

from needs import need

CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--window-size=1280,900")
INSTALL = "apt-get install -y chromium chromium-driver; pip install selenium"


def _need(what: str):
    message = f"{what} is needed for the browser tests: {INSTALL}"
    if os.environ.get("CI"):  # CI must run them, never skip
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    need("selenium", INSTALL)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver_path = shutil.which("chromedriver") or ("/usr/bin/chromedriver" if Path("/usr/bin/chromedriver").is_file() else None)
    if chromium is None:
        _need("chromium")
    if driver_path is None:
        _need("chromedriver (Debian package chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"):
        options.add_argument(flag)
    # A driver path given: Selenium Manager is never asked to download one.
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


_STATE = """
const imgs = [...document.querySelectorAll('#viewer img')];
const cursors = {};
document.querySelectorAll('line.cursor').forEach(c => { cursors[c.id] = parseFloat(c.getAttribute('x1')); });
const svg = document.querySelector('.chart svg').getBoundingClientRect();
return {index: Number(document.getElementById('viewer').dataset.index),
        srcs: imgs.map(i => i.getAttribute('src')), files: imgs.map(i => i.dataset.file),
        loaded: imgs.map(i => i.complete && i.naturalWidth > 0 ? [i.naturalWidth, i.naturalHeight] : null),
        scrubber: Number(document.getElementById('scrubber').value), cursors: cursors,
        counter: document.getElementById('counter').textContent,
        chart: {left: svg.left, width: svg.width, height: svg.height}};
"""


def open_page(browser, page: Path):
    """Load `page` and wait until every frame it shows has loaded; its state then."""
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(page.resolve().as_uri())
    WebDriverWait(browser, 10).until(lambda driver: all(page_state(driver)["loaded"]))
    return page_state(browser)


def page_state(browser) -> dict:
    """The shared frame index, the images shown, the cursors' x, the scrubber and the counter."""
    return browser.execute_script(_STATE)


def press(browser, key):
    """Press `key` on the page; its state after."""
    from selenium.webdriver.common.action_chains import ActionChains

    ActionChains(browser).send_keys(key).perform()
    return page_state(browser)


def wait_loaded(browser) -> dict:
    """Wait until every frame shown has loaded; the state then."""
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(browser, 10).until(lambda driver: all(page_state(driver)["loaded"]))
    return page_state(browser)
