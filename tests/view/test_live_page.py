"""scalargrad.view.live_page in a real browser (headless Chromium): the page plays the
sweeps, and what it shows at each step is what the engine computes.

Graphs come from generated programs whose nodes are known in creation order, so a node's
number (%n) is known without the view: named inputs first, then operations oldest first.
The truth is reverse_autodiff and forward_autodiff on those Scalars.
"""
import random

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from scalargrad import Scalar, exp, forward_autodiff, graph, reverse_autodiff, sin, tanh
from scalargrad.core.scalar import edges
from tests.browser import console_errors, drawn_fraction

pytestmark = pytest.mark.slow  # a browser for the session: left out of the fast suite

READ = """
var root = document.querySelector('.sg-live');
return {step: +root.getAttribute('data-step'), steps: +root.getAttribute('data-steps'),
        nodes: Array.from(root.querySelectorAll('g.node')).map(function (g) {
          return [g.getAttribute('data-node'), g.getAttribute('data-value'),
                  g.getAttribute('data-grad'), g.getAttribute('data-tangent')];
        })};
"""


def program(seed, operations):
    """(y, names, nodes): a random program over 1-3 inputs of which y uses every node, the
    nodes listed in the views' numbering (inputs in the order of names, then operations
    oldest first). Shared arguments (a * a) make adjoints accumulate."""
    rng = random.Random(seed)
    inputs = [Scalar(round(rng.uniform(-1.5, 1.5), 3)) for _ in range(rng.randint(1, 3))]
    ops = []

    def made(node):
        ops.append(node)
        return node

    pool = list(inputs)
    for _ in range(operations):
        a, b = rng.choice(pool), rng.choice(pool)
        node = [lambda: made(a + b), lambda: made(a * b), lambda: made(a - 0.5),
                lambda: made(a / made(1.5 + made(tanh(b)))), lambda: made(sin(a)),
                lambda: made(exp(made(a * 0.25))), lambda: made(a * a)][rng.randrange(7)]()
        pool.append(node)
    used = {id(parent) for node in ops for parent in edges(node)[0]}
    tops = [node for node in inputs + ops if id(node) not in used]
    y = tops[0]
    for node in tops[1:]:
        y = made(y + node)
    # an input no operation uses is not in y's graph (unless it is y)
    used = {id(parent) for node in ops for parent in edges(node)[0]}
    inputs = [x for x in inputs if id(x) in used or x is y]
    return y, {f"x{k}": x for k, x in enumerate(inputs)}, inputs + ops


def page_file(tmp_path, text, name="page.html"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path.as_uri()


def read(browser):
    return browser.execute_script(READ)


def press(browser, key, times=1):
    body = browser.find_element(By.TAG_NAME, "body")
    for _ in range(times):
        body.send_keys(key)


@pytest.mark.parametrize("seed", range(4))
def test_each_reverse_step_shows_the_processed_nodes_gradient(browser, tmp_path, seed):
    y, names, nodes = program(seed, 4 + 3 * seed)
    grads = [repr(g) for g in reverse_autodiff(y, nodes)]
    values = [repr(node.value) for node in nodes]
    view = graph(y, names=names)
    assert len(view.nodes) == len(nodes)
    browser.get(page_file(tmp_path, view.html()))
    state = read(browser)
    assert state["step"] == 0 and state["steps"] == 2 * len(nodes)
    assert [n[0] for n in state["nodes"]] == [f"%{k}" for k in range(len(nodes))]
    assert all(n[1] is None and n[2] is None for n in state["nodes"])
    reached = set()
    for step in range(1, 2 * len(nodes) + 1):
        press(browser, Keys.ARROW_RIGHT)
        state = read(browser)
        assert state["step"] == step
        shown = {int(n[0][1:]): n for n in state["nodes"]}
        if step <= len(nodes):  # the forward pass: values appear in creation order
            assert [shown[k][1] for k in range(len(nodes))] == \
                values[:step] + [None] * (len(nodes) - step)
            assert all(n[2] is None for n in state["nodes"])
        else:
            done = {k for k, n in shown.items() if n[2] is not None}
            new = done - reached
            assert len(new) == 1  # one node processed a step, and it is complete
            (k,) = new
            assert shown[k][2] == grads[k]
            reached = done
    assert reached == set(range(len(nodes)))
    assert [n[2] for n in read(browser)["nodes"]] == grads
    assert console_errors(browser) == []


def test_the_reverse_sweep_visits_operations_newest_first_then_inputs(browser, tmp_path):
    y, names, nodes = program(7, 12)
    view = graph(y, names=names)
    browser.get(page_file(tmp_path, view.html()) + f"#step={len(nodes)}")
    order = []
    for _ in range(len(nodes)):
        before = {n[0] for n in read(browser)["nodes"] if n[2] is not None}
        press(browser, Keys.ARROW_RIGHT)
        after = {n[0] for n in read(browser)["nodes"] if n[2] is not None}
        order.extend(int(k[1:]) for k in after - before)
    operations = [k for k, node in enumerate(nodes) if not node.is_leaf]
    leaves = [k for k, node in enumerate(nodes) if node.is_leaf]
    assert order == sorted(operations, reverse=True) + leaves


@pytest.mark.parametrize("seed", [1, 5])
def test_forward_tangents_are_forward_autodiffs(browser, tmp_path, seed):
    y, names, nodes = program(seed, 10)
    name, x = next(iter(names.items()))
    tangents = [repr(forward_autodiff(node, x)) for node in nodes]
    browser.get(page_file(tmp_path, graph(y, names=names).html(wrt=name)))
    for step in range(1, len(nodes) + 1):
        press(browser, Keys.ARROW_RIGHT)
        shown = read(browser)["nodes"]
        assert shown[step - 1][3] == tangents[step - 1]
    assert [n[3] for n in read(browser)["nodes"]] == tangents
    assert console_errors(browser) == []


def test_the_fragment_opens_a_step_and_back_undoes_it(browser, tmp_path):
    y, names, nodes = program(3, 8)
    grads = [repr(g) for g in reverse_autodiff(y, nodes)]
    url = page_file(tmp_path, graph(y, names=names).html())
    browser.get(url + "#step=end")
    state = read(browser)
    assert state["step"] == state["steps"] and [n[2] for n in state["nodes"]] == grads
    assert [n[1] for n in state["nodes"]] == [repr(node.value) for node in nodes]
    browser.get(url + "#step=3")
    browser.refresh()
    state = read(browser)
    assert state["step"] == 3 and [n[1] is not None for n in state["nodes"]] == \
        [k < 3 for k in range(len(nodes))]
    press(browser, Keys.ARROW_LEFT)
    assert read(browser)["step"] == 2 and browser.current_url.endswith("#step=2")
    browser.get(url + "#step=end")
    browser.refresh()
    press(browser, Keys.ARROW_LEFT)
    state = read(browser)
    assert state["step"] == state["steps"] - 1
    assert sum(n[2] is None for n in state["nodes"]) == 1  # the last input processed
    assert console_errors(browser) == []


def test_space_plays_and_pauses_and_the_buttons_work(browser, tmp_path):
    y, names, _ = program(2, 6)
    browser.get(page_file(tmp_path, graph(y, names=names).html()))
    press(browser, " ")
    WebDriverWait(browser, 10).until(lambda b: read(b)["step"] >= 2)
    press(browser, " ")
    paused = read(browser)["step"]
    assert browser.find_element(By.CSS_SELECTOR, '[data-action="play"]').text.endswith("play")
    browser.execute_script("return new Promise(function (r) { setTimeout(r, 1500); });")
    assert read(browser)["step"] == paused
    browser.find_element(By.CSS_SELECTOR, '[data-action="reset"]').click()
    assert read(browser)["step"] == 0
    browser.find_element(By.CSS_SELECTOR, '[data-action="step"]').click()
    browser.find_element(By.CSS_SELECTOR, '[data-action="step"]').click()
    browser.find_element(By.CSS_SELECTOR, '[data-action="back"]').click()
    assert read(browser)["step"] == 1
    rows = browser.find_elements(By.CSS_SELECTOR, "tr[data-step]")
    assert len(rows) == read(browser)["steps"]
    rows[4].click()  # a row of the table goes to its step
    assert read(browser)["step"] == 5
    assert browser.find_element(By.CSS_SELECTOR, 'tr[aria-current="step"]').text.startswith("5 ")


def test_clicking_an_operation_shows_its_rule(browser, tmp_path):
    x, z = Scalar(2.0), Scalar(3.0)
    view = graph(x * z + sin(x), names={"x": x, "z": z})
    browser.get(page_file(tmp_path, view.html()))
    rule = browser.find_element(By.CSS_SELECTOR, ".sg-rule")
    assert not rule.is_displayed()
    browser.find_element(By.CSS_SELECTOR, 'g.operation[data-op="%2"]').click()
    text = rule.text
    assert "%2 = mul x z" in text and "out = a * b" in text
    assert "∂out/∂a = b" in text and "∂out/∂b = a" in text and "∂%2/∂x = 3" in text
    browser.find_element(By.CSS_SELECTOR, 'g.node[data-node="%3"]').click()
    assert "out = sin(x)" in rule.text and "∂out/∂x = cos(x)" in rule.text


def test_the_step_table_says_what_explain_says(browser, tmp_path):
    x = Scalar(2.0)
    view = graph(x * x, names={"x": x})  # x used twice: its adjoint grows
    browser.get(page_file(tmp_path, view.html()))
    cells = [row.text for row in browser.find_elements(By.CSS_SELECTOR, "tr[data-step]")]
    assert cells[2] == ("3 reverse %1 = mul x x adjoint 1; d%1/dx = 2, adds 2 × 1 = 2: "
                        "x 0 → 2; d%1/dx = 2, adds 2 × 1 = 2: x 2 → 4")
    assert cells[3] == "4 reverse x (input) done: d%1/dx = 4"
    press(browser, Keys.ARROW_RIGHT, 3)  # at %1: x's box shows its adjoint growing
    grad = browser.find_element(By.CSS_SELECTOR, 'g.node[data-node="%0"] text.grad')
    assert grad.text == "grad 2 → 4"
    labels = [t.text for t in browser.find_elements(By.CSS_SELECTOR, ".sg-edge-labels text")]
    assert labels == ["2 × 1 = 2", "2 × 1 = 2"]


def test_two_players_in_one_notebook_keep_to_themselves(browser, tmp_path):
    x = Scalar(0.5)
    first, second = graph(sin(x) * x, names={"x": x}), graph(x + 1, names={"x": x})
    notebook = ("<!DOCTYPE html><html><head><meta charset='utf-8'></head><body>"
                + first._repr_html_() + second._repr_html_() + "</body></html>")
    browser.get(page_file(tmp_path, notebook))
    players = browser.find_elements(By.CSS_SELECTOR, ".sg-live")
    assert len(players) == 2
    players[1].click()
    players[1].send_keys(Keys.ARROW_RIGHT)
    players[1].send_keys(Keys.ARROW_RIGHT)
    steps = [p.get_attribute("data-step") for p in players]
    assert steps == ["0", "2"]
    assert console_errors(browser) == []


def test_a_screenshot_is_not_blank(browser, tmp_path):
    y, names, _ = program(4, 6)
    browser.set_window_size(640, 420)
    try:
        browser.get(page_file(tmp_path, graph(y, names=names).html()) + "#step=end")
        assert drawn_fraction(browser.get_screenshot_as_png()) > 0.03
    finally:
        browser.set_window_size(1280, 900)
