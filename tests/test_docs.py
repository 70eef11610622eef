"""The documentation's code blocks run, and what they show is what they do.

README.md and every page under docs/ are read for fenced code blocks:

- a ```python block runs, in a fresh namespace in an empty folder, and every value a comment
  shows (``expression  # value``, or ``print(x)  # value``) is the expression's value;
- a ```console block is a command-line session: each ``$ scalargrad ...`` line runs
  in-process (click's CliRunner) in an empty folder the block shares, and prints exactly the
  lines under it, where a line ``...`` stands for any number of lines and a line ending in
  ``...`` for any line that starts so; ``# exit status N`` at the end of the command line
  is the status it must end with (else 0);
- other blocks (sh, text, json) are read, not run, but the scalargrad commands in sh blocks
  must name real commands and options.

A python or console block right after a line ``<!-- not-run: reason -->`` is skipped with
that reason, and NOT_RUN says how many there are, so that none is skipped silently. The
examples in docstrings (``>>>``), which the API reference shows, run as doctests.
"""
from __future__ import annotations

import ast
import doctest
import importlib
import importlib.util
import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, List, Optional, Tuple

import click
import pytest
from click.testing import CliRunner

import scalargrad
from scalargrad.core.rules import RULES
from scalargrad_cli.main import cli

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
PAGES = [README, *sorted((ROOT / "docs").rglob("*.md"))]
LANGUAGES = {"python", "console", "sh", "text", "json"}
NOT_RUN = 0  # python and console blocks marked <!-- not-run: reason -->, all pages together
README_LINES = 250  # the front page stays a front page: the manual is docs/

FENCE = re.compile(r"^(?P<indent> *)```(?P<language>\S*)\s*$")
NOT_RUN_MARKER = re.compile(r"^\s*<!-- not-run: (?P<reason>\S.*?) -->\s*$")
EXIT_STATUS = re.compile(r"\s#\s*exit status (?P<status>\d+)\s*$")
SHOWN = re.compile(r"(Scalar\()?(\[[-\d., \[\]]*\]|-?\d+(\.\d+)?(e-?\d+)?)")


@dataclass
class Block:
    path: Path
    line: int  # of the opening fence, counting from 1
    language: str
    text: str
    not_run: Optional[str]  # the reason given, if marked not-run

    @property
    def name(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def fenced_blocks(path: Path) -> Iterator[Block]:
    """Every fenced code block of a Markdown file, indented ones (in lists) included."""
    lines = path.read_text(encoding="utf-8").splitlines()
    previous = ""  # the last non-blank line before the block
    i = 0
    while i < len(lines):
        fence = FENCE.match(lines[i])
        if not fence:
            previous = lines[i] if lines[i].strip() else previous
            i += 1
            continue
        indent, start = fence["indent"], i
        body = []
        i += 1
        while i < len(lines) and lines[i].strip() != "```":
            body.append(lines[i][len(indent):] if lines[i].startswith(indent) else lines[i].lstrip())
            i += 1
        assert i < len(lines), f"{path.name}:{start + 1}: a code block that is never closed"
        marker = NOT_RUN_MARKER.match(previous)
        yield Block(path, start + 1, fence["language"], "\n".join(body) + "\n",
                    marker["reason"] if marker else None)
        previous = ""
        i += 1


BLOCKS = [block for page in PAGES for block in fenced_blocks(page)]
PYTHON = [block for block in BLOCKS if block.language == "python"]
CONSOLE = [block for block in BLOCKS if block.language == "console"]
SHELL = [block for block in BLOCKS if block.language == "sh"]


def _run_or_skip(block: Block) -> None:
    if block.not_run:
        pytest.skip(f"{block.name} not run: {block.not_run}")


# ---------------------------------------------------------------------------------------
# Python blocks.
def claims(block: str) -> Iterator[Tuple[str, object]]:
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


@pytest.mark.parametrize("block", PYTHON, ids=[block.name for block in PYTHON])
def test_the_example_runs_and_its_comments_are_true(block, tmp_path, monkeypatch):
    _run_or_skip(block)
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(block.text, f"<{block.name}>", "exec"), namespace)
    found = list(claims(block.text))
    assert found, "an example without a value to check"
    for expression, shown in found:
        value = eval(expression, namespace)
        assert flat(value) == pytest.approx(flat(shown), rel=1e-3, abs=1e-9), expression


def flat(value: object) -> object:
    """A value as pytest.approx takes it: a Scalar as its value, nested lists as one list
    (with a marker per list, so that [[1], [2]] and [[1, 2]] differ)."""
    if isinstance(value, (list, tuple)):
        items: list = []
        for item in value:
            inner = flat(item)
            items.extend([len(item), *inner] if isinstance(item, (list, tuple)) else [inner])
        return items
    return getattr(value, "value", value)


# ---------------------------------------------------------------------------------------
# Console blocks.
@dataclass
class Session:
    arguments: List[str]  # after "scalargrad"
    status: int
    expected: List[str]  # the lines shown under the command


def sessions(text: str) -> List[Session]:
    found: List[Session] = []
    for line in text.splitlines():
        if line.startswith("$ "):
            words = shlex.split(line[2:], comments=True)
            assert words[:1] == ["scalargrad"], f"a console block runs scalargrad only: {line}"
            status = EXIT_STATUS.search(line)
            found.append(Session(words[1:], int(status["status"]) if status else 0, []))
        else:
            assert found, f"output before any command: {line}"
            found[-1].expected.append(line.rstrip())
    return found


def _line_pattern(line: str) -> str:
    if line == "...":  # any number of lines
        return r"(?:[^\n]*\n)*?"
    if line.endswith("..."):  # a line that starts so
        return re.escape(line[:-3]) + r"[^\n]*\n"
    return re.escape(line) + r"\n"


def shows(expected: List[str], output: str) -> bool:
    """Whether output is the expected lines, trailing spaces aside: a line '...' stands for
    any number of lines, and one ending in '...' for any line that starts as it does."""
    pattern = "".join(map(_line_pattern, expected))
    text = "".join(line.rstrip() + "\n" for line in output.splitlines())
    return re.fullmatch(pattern, text) is not None


@pytest.mark.parametrize("block", CONSOLE, ids=[block.name for block in CONSOLE])
def test_the_session_prints_what_it_shows(block, tmp_path, monkeypatch):
    _run_or_skip(block)
    monkeypatch.chdir(tmp_path)
    for session in sessions(block.text):
        result = CliRunner().invoke(cli, session.arguments, prog_name="scalargrad")
        command = shlex.join(["scalargrad", *session.arguments])
        assert result.exit_code == session.status, f"{command}\n{result.output}"
        assert shows(session.expected, result.output), f"{command} printed:\n{result.output}"


def test_matching_output_with_an_ellipsis():
    assert shows(["a", "...", "d"], "a\nb\nc\nd\n") and shows(["a", "...", "b"], "a\nb")
    assert not shows(["a", "...", "d"], "a\nb\n") and not shows(["a"], "a\nb\n")
    assert shows(["ab...", "c"], "abcd\nc\n") and not shows(["ab...", "c"], "xabcd\nc\n")
    assert shows(["a.b"], "a.b\n") and not shows(["a.b"], "axb\n")


# ---------------------------------------------------------------------------------------
# Blocks that are read: commands in them still exist.
def scalargrad_commands(text: str) -> Iterator[List[str]]:
    """The words after 'scalargrad' (or .../scalargrad) on each command line, up to the
    end of that command (&&, |, ;, a redirection)."""
    for line in text.replace("\\\n", " ").splitlines():
        words = shlex.split(line, comments=True)
        for i, word in enumerate(words):
            if word.rsplit("/", 1)[-1] == "scalargrad":
                rest = words[i + 1:]
                end = next((k for k, w in enumerate(rest) if w in {"&&", "||", "|", ";", ">"}
                            or w.endswith(";")), len(rest))
                yield rest[:end]


def test_every_shell_block_names_real_commands_and_options():
    for block in SHELL:
        for words in scalargrad_commands(block.text):
            if not words or words[0] in ("--version", "--help", "-h"):
                continue
            command = cli.get_command(click.Context(cli), words[0])
            assert command is not None, f"{block.name}: no command {words[0]!r}"
            options = {name for p in command.params for name in (*p.opts, *p.secondary_opts)}
            options |= {"--help", "-h"}
            for word in words[1:]:
                if word == "--":
                    break
                if word.startswith("--"):
                    assert word.split("=")[0] in options, f"{block.name}: {words[0]} has no {word}"


def test_reading_blocks_markers_and_commands(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("Text.\n\n<!-- not-run: needs MNIST -->\n```python\nx = 1\n```\n\n"
                    "- a list:\n\n    ```sh\n    mpiexec -n 2 scalargrad bench --quick && ls\n    ```\n")
    found = [(b.language, b.not_run, b.text) for b in fenced_blocks(page)]
    assert found == [("python", "needs MNIST", "x = 1\n"),
                     ("sh", None, "mpiexec -n 2 scalargrad bench --quick && ls\n")]
    assert list(scalargrad_commands(found[1][2])) == [["bench", "--quick"]]


# ---------------------------------------------------------------------------------------
# The pages as a whole.
def test_every_block_says_its_language():
    for block in BLOCKS:
        assert block.language in LANGUAGES, f"{block.name}: a ```{block.language} block"


def test_no_block_is_skipped_silently():
    skipped = [block for block in PYTHON + CONSOLE if block.not_run]
    assert len(skipped) == NOT_RUN, [block.name for block in skipped]
    assert all(block.language in ("python", "console") for block in BLOCKS if block.not_run), \
        "a not-run marker on a block that never runs"


def test_the_readme_is_a_front_page():
    assert len(README.read_text(encoding="utf-8").splitlines()) <= README_LINES


def test_the_api_reference_names_every_public_name():
    page = (ROOT / "docs" / "api" / "index.md").read_text(encoding="utf-8")
    missing = [name for name in scalargrad.__all__ if f"`{name}`" not in page]
    assert not missing, missing


def test_the_readme_picture_is_what_the_graph_command_draws(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["graph", "tanh(w*x + b)", "--at",
                                      "w=-3,x=2,b=6.8813735870195432", "--output", "neuron.svg"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "neuron.svg").read_text() == (ROOT / "docs" / "images" / "neuron.svg").read_text(), \
        "docs/images/neuron.svg is stale: make it again with the command in README.md"


DOCTESTED = sorted(".".join(path.relative_to(ROOT).with_suffix("").parts)
                   for path in (ROOT / "scalargrad").rglob("*.py") if ">>>" in path.read_text())


@pytest.mark.parametrize("module", DOCTESTED)
def test_the_docstring_examples_run(module):
    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.attempted and not result.failed


def test_the_rule_table_page_shows_every_rule_as_the_code_has_it():
    spec = importlib.util.spec_from_file_location("rule_table", ROOT / "docs" / "hooks" / "rule_table.py")
    assert spec is not None and spec.loader is not None
    hook = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hook)
    page = hook.on_page_markdown(f"before\n{hook.PLACEHOLDER}\nafter")
    rows = [line for line in page.splitlines() if line.startswith("| `")]
    assert [row.split("`")[1] for row in rows] == list(RULES)
    for row, rule in zip(rows, RULES.values()):
        partials = getattr(rule, "partials", None) or (rule.partial,)
        assert all(f"`{partial}`" in row for partial in partials), row
    assert page.startswith("before\n") and page.endswith("\nafter")
