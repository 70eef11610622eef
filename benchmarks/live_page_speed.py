"""The live graph page, measured: its size and how soon headless Chromium shows it.

For graphs of 1, 10 and 150 nodes (150: the most the layout draws), written as
`scalargrad graph EXPR --at ... --wrt x --format html` writes them, prints the seconds to
make the page, its size, and, opened from file:// in headless Chromium (Debian's chromium
and chromium-driver, through selenium), the time to the first contentful paint and to the
end of the load event (the player ready), the median of a few loads. Targets: 200 KB and
1 s for 150 nodes.

    python benchmarks/live_page_speed.py [--loads 5]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from scalargrad import Scalar, exp, graph, sin

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.browser import start_browser  # noqa: E402

TIMES = """
var done = arguments[arguments.length - 1], tries = 0;
(function wait() {  // the paint entry comes a frame after the paint
  var paint = performance.getEntriesByName('first-contentful-paint')[0];
  var navigation = performance.getEntriesByType('navigation')[0];
  if ((paint && navigation.loadEventEnd) || ++tries > 100) {
    done([paint ? paint.startTime : NaN, navigation.loadEventEnd]);
  } else {
    setTimeout(wait, 20);
  }
})();
"""


def graphs():
    x = Scalar(0.5)
    yield "x", graph(x, names={"x": x})
    y = Scalar(2.0)
    yield "10 nodes", graph(sin(x) * y + exp(x * y) - x / y + y, names={"x": x, "y": y})
    total = x * 1
    for k in range(2, 76):
        total = total + x * k
    yield "x*1 + ... + x*75", graph(total, names={"x": x})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loads", type=int, default=5)
    loads = parser.parse_args().loads
    driver, reason = start_browser()
    if driver is None:
        sys.exit(f"no browser: {reason}")
    try:
        with tempfile.TemporaryDirectory() as folder:
            print(f"{'graph':<18} {'nodes':>5} {'make s':>7} {'size KB':>8} "
                  f"{'first paint ms':>15} {'loaded ms':>10}")
            for name, view in graphs():
                start = time.perf_counter()
                page = view.html(wrt="x")
                made = time.perf_counter() - start
                path = Path(folder) / "page.html"
                path.write_text(page, encoding="utf-8")
                paints, loaded = [], []
                for _ in range(loads):
                    driver.get("about:blank")
                    driver.get(path.as_uri())
                    paint, end = driver.execute_async_script(TIMES)
                    paints.append(paint)
                    loaded.append(end)
                print(f"{name:<18} {len(view.nodes):>5} {made:>7.2f} "
                      f"{len(page.encode()) / 1000:>8.1f} {statistics.median(paints):>15.0f} "
                      f"{statistics.median(loaded):>10.0f}")
    finally:
        driver.quit()


if __name__ == "__main__":
    main()
