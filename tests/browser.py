"""Headless Chromium for the tests of pages scalargrad writes (the live graph page, the
training report), driven by selenium through Debian's chromium-driver.

``browser`` is a pytest fixture (one browser for the session). Where chromium, its driver
or selenium is missing the tests that use it are skipped with the reason; .ci/run installs
them (apt-get install chromium chromium-driver) and says loudly when it cannot.
"""
from __future__ import annotations

import shutil
import tempfile

import pytest

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run",
         "--disable-dev-shm-usage", "--window-size=1280,900")
BROWSERS = ("chromium", "chromium-browser")
DRIVERS = ("chromedriver", "chromium-driver")


def _found(names):
    return next((path for path in map(shutil.which, names) if path), None)


def start_browser():
    """A new headless Chromium (a fresh profile), or the reason there is none."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        return None, "selenium is not installed (pip install -e '.[test]')"
    binary, driver = _found(BROWSERS), _found(DRIVERS)
    if binary is None or driver is None:
        return None, ("Debian's chromium and chromium-driver are not installed "
                      "(apt-get install -y chromium chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    profile = tempfile.mkdtemp(prefix="scalargrad-chromium-")
    for flag in FLAGS + (f"--user-data-dir={profile}",):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    try:
        return webdriver.Chrome(options=options, service=Service(driver)), profile
    except Exception as error:  # the driver's own message says why
        shutil.rmtree(profile, ignore_errors=True)
        return None, f"chromium did not start: {str(error).splitlines()[0]}"


@pytest.fixture(scope="session")
def browser():
    driver, profile_or_reason = start_browser()
    if driver is None:
        pytest.skip(profile_or_reason)
    yield driver
    driver.quit()
    shutil.rmtree(profile_or_reason, ignore_errors=True)


def console_errors(driver):
    """The page's console messages of level SEVERE since the last call."""
    return [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
