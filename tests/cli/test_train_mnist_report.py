"""train-mnist --report: the run's page, written after each epoch and at the end, opened in
headless Chromium (on the real MNIST files in ../shared/mnist)."""
import json
import re

import pytest
from click.testing import CliRunner
from selenium.webdriver.common.by import By

import scalargrad_cli.mnist_report as mnist_report
from scalargrad_cli.main import cli
from tests.browser import console_errors

POINTS = """
return Array.from(document.querySelectorAll('.chart g.series')).map(function (g) {
  return [g.children[0].getAttribute('d'), g.children[1].getAttribute('d')];
});
"""


def coordinates(d):
    """A path's numbers, x and y in turn."""
    return [float(v) for pair in re.findall(r"([-\d.]+),([-\d.]+)", d) for v in pair]


@pytest.fixture(scope="module")
def report(shared_mnist_path, tmp_path_factory):
    """(the pages written, in order, and the run's --json summary)."""
    path = tmp_path_factory.mktemp("report") / "run.html"
    written = []
    real = mnist_report.write_atomically

    def recording(target, text):
        written.append(text)
        real(target, text)
    patch = pytest.MonkeyPatch()
    patch.setattr(mnist_report, "write_atomically", recording)
    try:
        result = CliRunner().invoke(cli, ["train-mnist", "--data-dir", str(shared_mnist_path),
                                          "--limit", "640", "--epochs", "2", "--json",
                                          "--report", str(path)])
    finally:
        patch.undo()
    assert result.exit_code == 0, result.output
    return path, written, json.loads(result.stdout)


@pytest.fixture(scope="module")
def shared_mnist_path():
    from tests.conftest import SHARED_MNIST
    if not (SHARED_MNIST / "t10k-labels-idx1-ubyte.gz").exists():
        pytest.skip("../shared/mnist is not here")
    return SHARED_MNIST


def test_the_page_is_written_after_each_epoch_and_at_the_end(report):
    _, written, summary = report
    assert len(written) == 3
    first, second, final = written
    assert "In progress: 1 of 2 epochs done" in first and 'http-equiv="refresh"' in first
    assert "In progress: 2 of 2 epochs done" in second
    assert "Run finished: test accuracy" in final and "refresh" not in final
    assert f"{summary['test_accuracy']:.2%}" in final
    assert "<script src" not in final and "http://" not in final.replace(
        "http://www.w3.org/2000/svg", "")


@pytest.mark.slow
def test_the_report_in_a_browser(report, browser):
    path, _, summary = report
    browser.get(path.as_uri())
    assert console_errors(browser) == []
    cells = browser.find_elements(By.CSS_SELECTOR, "table.confusion tbody tr")
    counts = [[int(td.text.replace(",", "")) for td in row.find_elements(By.TAG_NAME, "td")]
              for row in cells]
    assert len(counts) == 10 and sum(map(sum, counts)) == 10_000
    assert sum(counts[k][k] for k in range(10)) / 10_000 == summary["test_accuracy"]
    images = browser.find_elements(By.CSS_SELECTOR, ".digits img")
    assert len(images) == 24
    assert all(browser.execute_script("return arguments[0].naturalWidth", img) == 14
               for img in images)  # the PNGs decode
    captions = [f.text for f in browser.find_elements(By.CSS_SELECTOR, ".digits figcaption")]
    assert all(c.split(" → ")[0] != c.split(" → ")[1] for c in captions)
    settings = browser.find_element(By.CSS_SELECTOR, "table.settings").text
    assert "engine compiled" in settings and "batch size 32" in settings
    # the smoothing slider redraws the smoothed lines: at 0 they are the raw steps
    slider = browser.find_element(By.ID, "smoothing")
    before = browser.execute_script(POINTS)
    browser.execute_script("arguments[0].value = 0; arguments[0].dispatchEvent("
                           "new Event('input'))", slider)
    for raw, smooth in browser.execute_script(POINTS):
        assert len(coordinates(raw)) == len(coordinates(smooth)) == 2 * 40  # 20 steps an epoch
        assert coordinates(smooth) == pytest.approx(coordinates(raw), abs=0.011)
    browser.execute_script("arguments[0].value = 0.9; arguments[0].dispatchEvent("
                           "new Event('input'))", slider)
    after = browser.execute_script(POINTS)
    assert [s for _, s in after] != [s for _, s in before]
    assert browser.find_element(By.CSS_SELECTOR, 'output[for="smoothing"]').text == "0.90"
    assert console_errors(browser) == []
