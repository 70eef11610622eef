"""Deprecated: ``scalargrad.training`` moved to ``scalargrad.train.model``."""
import sys
import warnings

from .train import model

warnings.warn("scalargrad.training moved to scalargrad.train.model; import it from there "
              "(this alias will be removed in the next release)", DeprecationWarning, stacklevel=2)
sys.modules[__name__] = model
