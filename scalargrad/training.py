"""Deprecated: ``scalargrad.training`` moved to ``scalargrad.train.model``; of the names the
0.2 README gave it, ``train_epoch`` is now in ``scalargrad.train.loop`` and ``BatchStep`` in
``scalargrad.train.step``. This alias gives them all, for one release."""
import warnings

from .train.loop import train_epoch
from .train.model import (DEFAULT_ACTIVATION, BatchReport, Classifier, EpochProgress, accuracy,
                          argmax, confusion_matrix)
from .train.step import BatchStep

__all__ = ["DEFAULT_ACTIVATION", "BatchReport", "BatchStep", "Classifier", "EpochProgress",
           "accuracy", "argmax", "confusion_matrix", "train_epoch"]

warnings.warn("scalargrad.training moved to scalargrad.train.model (train_epoch to "
              "scalargrad.train.loop); import it from there (this alias will be removed in "
              "the next release)", DeprecationWarning, stacklevel=2)
