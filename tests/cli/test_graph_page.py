"""`scalargrad graph --format html`: the live page the command writes, opened in headless
Chromium, for graphs of 1, 10 and 150 nodes (the largest the layout draws)."""
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from scalargrad import Scalar, exp, forward_autodiff, reverse_autodiff, sin
from scalargrad.view.graph import PICTURE_LIMIT
from tests.browser import console_errors
from tests.cli.test_graph import one_error, run
from tests.view.test_live_page import READ

PAGE_LIMIT = 200_000  # bytes, for the largest graph the layout draws

def one_input():
    x = Scalar(0.5)
    return x, [x]


def ten_nodes():  # sin(x)*y + exp(x*y) - x/y + y, node by node in creation order
    x, y = Scalar(0.5), Scalar(2.0)
    nodes = [x, y]

    def made(node):
        nodes.append(node)
        return node
    a = made(made(sin(x)) * y)
    b = made(made(a + made(exp(made(x * y)))) - made(x / y))
    return made(b + y), nodes


def sums():  # x*1 + x*2 + ... + x*75
    x = Scalar(0.25)
    nodes = [x, x * 1]
    for k in range(2, 76):
        nodes.append(x * k)
        nodes.append(nodes[-2] + nodes[-1])
    return nodes[-1], nodes


CASES = [("x", "x=0.5", one_input), ("sin(x)*y + exp(x*y) - x/y + y", "x=0.5,y=2", ten_nodes),
         ("+".join(f"x*{k}" for k in range(1, 76)), "x=0.25", sums)]


@pytest.mark.slow
@pytest.mark.parametrize("expression, point, program", CASES)
def test_the_page_of_the_command_ends_with_every_gradient(browser, tmp_path, expression,
                                                          point, program):
    y, nodes = program()
    count = len(nodes)
    assert count in (1, 10, PICTURE_LIMIT)
    page = tmp_path / "sweep.html"
    result = run(expression, "--at", point, "--wrt", "x", "--output", str(page))
    assert result.exit_code == 0, result.output
    assert result.output == f"wrote {page} (html, {count:,} node{'s' if count > 1 else ''})\n"
    assert page.stat().st_size <= PAGE_LIMIT
    browser.get(page.as_uri() + "#step=end")
    state = browser.execute_script(READ)
    assert state["steps"] == 2 * count and len(state["nodes"]) == count
    grads = reverse_autodiff(y, nodes)
    assert [n[2] for n in state["nodes"]] == [repr(g) for g in grads]
    assert [n[1] for n in state["nodes"]] == [repr(node.value) for node in nodes]
    assert [n[3] for n in state["nodes"]] == [repr(forward_autodiff(node, nodes[0]))
                                              for node in nodes]
    browser.find_element(By.TAG_NAME, "body").send_keys(Keys.HOME)
    assert browser.execute_script(READ)["step"] == 0
    assert console_errors(browser) == []


def test_the_page_goes_to_stdout_and_refuses_what_it_cannot_play():
    result = run("x*y", "--at", "x=2,y=3", "--format", "html")
    assert result.exit_code == 0 and result.output.startswith("<!DOCTYPE html>")
    assert 'data-node="%2"' in result.output and "<script src" not in result.output
    assert "http" not in result.output.replace("http://www.w3.org/2000/svg", "")
    assert "--wrt z: not a variable" in one_error(run("x*y", "--at", "x=2,y=3", "--format",
                                                      "html", "--wrt", "z"))
    assert "--wrt seeds the tangents" in one_error(run("x*y", "--at", "x=2,y=3", "--wrt", "x"))
