import os
from pathlib import Path

import pytest
from hypothesis import settings

# The suite draws the same examples on every run, so that a run passes or fails for the code,
# never for the draw (CI must not flake); HYPOTHESIS_PROFILE=explore draws afresh each time,
# as the long fuzz profiles do with their own seeds.
settings.register_profile("repeatable", derandomize=True, database=None)
settings.register_profile("explore")
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))

SHARED_MNIST = Path(__file__).resolve().parents[2] / "shared" / "mnist"


@pytest.fixture
def shared_mnist() -> Path:
    """The canonical MNIST files beside the project (../shared/mnist); skip where absent."""
    if not (SHARED_MNIST / "t10k-labels-idx1-ubyte.gz").exists():
        pytest.skip("../shared/mnist is not here")
    return SHARED_MNIST


from tests.browser import browser  # noqa: E402,F401  (headless Chromium, for page tests)
