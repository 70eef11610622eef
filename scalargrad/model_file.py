"""Deprecated: ``scalargrad.model_file`` moved to ``scalargrad.train.checkpoint``."""
import sys
import warnings

from .train import checkpoint

warnings.warn("scalargrad.model_file moved to scalargrad.train.checkpoint; import it from there "
              "(this alias will be removed in the next release)", DeprecationWarning, stacklevel=2)
sys.modules[__name__] = checkpoint
