"""Deprecated: ``scalargrad.run`` moved to ``scalargrad.train.loop``."""
import sys
import warnings

from .train import loop

warnings.warn("scalargrad.run moved to scalargrad.train.loop; import it from there "
              "(this alias will be removed in the next release)", DeprecationWarning, stacklevel=2)
sys.modules[__name__] = loop
