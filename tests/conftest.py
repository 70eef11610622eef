from pathlib import Path

import pytest

SHARED_MNIST = Path(__file__).resolve().parents[2] / "shared" / "mnist"


@pytest.fixture
def shared_mnist() -> Path:
    """The canonical MNIST files beside the project (../shared/mnist); skip where absent."""
    if not (SHARED_MNIST / "t10k-labels-idx1-ubyte.gz").exists():
        pytest.skip("../shared/mnist is not here")
    return SHARED_MNIST


from tests.browser import browser  # noqa: E402,F401  (headless Chromium, for page tests)
