"""Debian's chromium, headless, driven through chromium-driver (both installed by .ci/run;
OMG_CHROMIUM / OMG_CHROMEDRIVER override the paths), for the pages' tests and
docs/screenshots/take.py. A missing browser fails the test."""
from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.support.ui import WebDriverWait

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
         "--window-size=1280,900")
WAIT_S = 30  # a ceiling on waiting for the page, not a timing assertion


def _binary(variable: str, *names: str) -> str:
    found = os.environ.get(variable) or next(filter(None, map(shutil.which, names)), None)
    if found is None:
        pytest.fail(f"no {names[0]} found: install Debian's chromium and chromium-driver (.ci/run does), "
                    f"or set {variable}", pytrace=False)
    return found


@contextmanager
def chromium() -> Iterator[webdriver.Chrome]:
    options = webdriver.ChromeOptions()
    options.binary_location = _binary("OMG_CHROMIUM", "chromium", "chromium-browser")
    for flag in FLAGS:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(_binary("OMG_CHROMEDRIVER", "chromedriver")))
    try:
        yield driver
    finally:
        driver.quit()


def console_errors(driver: webdriver.Chrome) -> list[str]:
    return [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def wait(driver: webdriver.Chrome, condition) -> object:
    return WebDriverWait(driver, WAIT_S).until(condition)
