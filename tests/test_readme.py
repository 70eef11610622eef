"""The README's Python examples run, and the values their comments show are the values."""
import ast
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
SHOWN = re.compile(r"(Scalar\()?(\[[-\d., \[\]]*\]|-?\d+(\.\d+)?(e-?\d+)?)")


def claims(block):
    """(expression, value shown) for each line 'expression  # value ...' of a block; the
    expression of 'print(x)' is x."""
    for line in block.splitlines():
        code, hash_, comment = line.partition("#")
        shown = SHOWN.match(comment.strip()) if hash_ else None
        if not shown or not code.strip():
            continue
        source = code.strip().split(";")[-1].strip()
        try:
            tree = ast.parse(source, mode="eval").body
        except SyntaxError:
            continue
        if isinstance(tree, ast.Call) and getattr(tree.func, "id", "") == "print":
            tree = tree.args[0]
        yield ast.unparse(tree), ast.literal_eval(shown.group(2))


@pytest.mark.parametrize("block", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_the_example_runs_and_its_comments_are_true(block):
    namespace: dict = {}
    exec(compile(block, "<README>", "exec"), namespace)
    found = list(claims(block))
    assert found, "an example without a value to check"
    for expression, shown in found:
        value = eval(expression, namespace)
        value = getattr(value, "value", value)
        assert value == pytest.approx(shown, rel=1e-3, abs=1e-9), expression
