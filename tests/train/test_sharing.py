"""sharing: the library's default step is the command line's (compiled code), and each way
of sharing the work follows the same trajectory."""
import pytest

from scalargrad.train.gradient import CompiledGradient
from scalargrad.train.loop import Settings, TrainingRun
from scalargrad.train.sharing import sharing
from scalargrad.train.step import step_with
from tests.train.test_loop import DATA, values

SETTINGS = Settings(hidden=3, batch_size=8, seed=4, lr=0.01)


def trained(**how):
    run = TrainingRun(SETTINGS, DATA)
    with sharing(run, lambda: False, **how) as work:
        run.train(2, **work)
    return run


def test_the_library_default_is_compiled_code_as_on_the_command_line():
    """Bit for bit: train() with no step, sharing's one process, and a step on a
    CompiledGradient made by hand are the same run."""
    default = TrainingRun(SETTINGS, DATA)
    default.train(2)
    by_hand = TrainingRun(SETTINGS, DATA)
    by_hand.train(2, step=step_with(CompiledGradient(by_hand.model), by_hand.optimizer,
                                    DATA.train_rows, DATA.train_labels, by_hand.rate))
    assert values(default) == values(by_hand) == values(trained())
    assert default.optimizer.state_dict() == by_hand.optimizer.state_dict()


@pytest.mark.parametrize("how", [dict(engine="recording"), dict(workers=2),
                                 dict(workers=2, engine="recording")])
def test_every_way_follows_the_one_process_compiled_trajectory(how):
    expected = trained()
    got = trained(**how)
    assert values(got) == pytest.approx(values(expected), rel=1e-9, abs=1e-12)
    assert [r.loss for r in got.history] == pytest.approx([r.loss for r in expected.history],
                                                          rel=1e-9)
    assert got.optimizer.state_dict()["steps"] == expected.optimizer.state_dict()["steps"] == 16


def test_an_unknown_engine_is_refused_before_anything_starts():
    run = TrainingRun(SETTINGS, DATA)
    with pytest.raises(ValueError, match="engine must be one of compiled, recording"):
        with sharing(run, lambda: False, engine="fastest"):
            pass
