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


def drawn_fraction(png):
    """The fraction of a screenshot's pixels that are not white (PNG, 8 bits, RGB(A))."""
    import struct
    import zlib
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    position, chunks, header = 8, [], None
    while position < len(png):
        length, kind = struct.unpack(">I4s", png[position:position + 8])
        body = png[position + 8:position + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            chunks.append(body)
        position += 12 + length
    width, height, depth, colour = header[:4]
    assert depth == 8 and colour in (2, 6), header
    step = 3 if colour == 2 else 4
    raw, stride = zlib.decompress(b"".join(chunks)), width * step
    previous, drawn = bytearray(stride), 0
    for r in range(height):
        kind, row = raw[r * (stride + 1)], bytearray(raw[r * (stride + 1) + 1:(r + 1) * (stride + 1)])
        for i in range(stride):  # undo the row's filter (PNG spec, section 9)
            left = row[i - step] if i >= step else 0
            up, corner = previous[i], previous[i - step] if i >= step else 0
            if kind == 1:
                row[i] = (row[i] + left) & 255
            elif kind == 2:
                row[i] = (row[i] + up) & 255
            elif kind == 3:
                row[i] = (row[i] + (left + up) // 2) & 255
            elif kind == 4:
                guess = left + up - corner
                near = min((abs(guess - left), 0, left), (abs(guess - up), 1, up),
                           (abs(guess - corner), 2, corner))[2]
                row[i] = (row[i] + near) & 255
        drawn += sum(1 for i in range(0, stride, step) if row[i:i + 3] != b"\xff\xff\xff")
        previous = row
    return drawn / (width * height)
