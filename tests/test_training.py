"""The deprecated alias scalargrad.training still gives the names the 0.2 README named."""
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent("""
    import warnings
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        from scalargrad.training import (BatchStep, Classifier, accuracy, confusion_matrix,
                                         train_epoch)
    assert [w.category for w in caught] == [DeprecationWarning], caught
    assert "scalargrad.train.model" in str(caught[0].message)
    from scalargrad.train import loop, model, step
    assert (Classifier, accuracy, confusion_matrix) == (model.Classifier, model.accuracy,
                                                        model.confusion_matrix)
    assert train_epoch is loop.train_epoch and BatchStep is step.BatchStep
""")


def test_the_old_path_warns_once_and_gives_the_new_objects():
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
