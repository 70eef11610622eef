"""The release: a wheel and an sdist that twine accepts, and a wheel that works once
installed into a fresh virtual environment (every package in it, the command on PATH)."""
import json
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

import scalargrad

pytestmark = pytest.mark.slow  # a build and a fresh virtual environment: not in the fast suite

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def distributions(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--sdist", "--outdir", str(out),
                    str(ROOT)], check=True, capture_output=True, text=True, timeout=600)
    wheels, sdists = list(out.glob("*.whl")), list(out.glob("*.tar.gz"))
    assert len(wheels) == 1 and len(sdists) == 1
    return wheels[0], sdists[0]


def test_twine_accepts_both(distributions):
    checked = subprocess.run([sys.executable, "-m", "twine", "check", "--strict",
                              *map(str, distributions)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.count("PASSED") == 2


def test_the_wheel_holds_every_package_of_the_tree(distributions):
    wheel, _ = distributions
    with zipfile.ZipFile(wheel) as archive:
        packaged = {Path(name).parent.as_posix() for name in archive.namelist()
                    if name.endswith("/__init__.py")}
    tree = {path.parent.relative_to(ROOT).as_posix()
            for path in (ROOT / "scalargrad").rglob("__init__.py")}
    assert tree <= packaged and "scalargrad_cli" in packaged


def test_the_installed_wheel_runs_the_command(distributions, tmp_path):
    wheel, _ = distributions
    environment = tmp_path / "venv"
    venv.create(environment, with_pip=True)
    python = environment / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", str(wheel)], check=True,
                   timeout=900)
    command = environment / "bin" / "scalargrad"
    version = subprocess.run([str(command), "--version"], capture_output=True, text=True,
                             check=True, cwd=tmp_path)
    assert scalargrad.__version__ in version.stdout
    checked = subprocess.run([str(command), "check-grad", "x*y + sin(x)", "--at", "x=0.5,y=2",
                              "--json"], capture_output=True, text=True, cwd=tmp_path)
    assert checked.returncode == 0, checked.stderr
    report = json.loads(checked.stdout)
    assert report["variables"]["y"]["reverse"] == 0.5  # d/dy (x*y + sin x) = x
    assert all(variable["ok"] for variable in report["variables"].values())
