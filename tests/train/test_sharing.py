"""sharing: the library's default step is the command line's (compiled code), and each way
of sharing the work follows the same trajectory."""
import pytest

from scalargrad.train import sharing as sharing_module
from scalargrad.train.choice import FasterStep
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


def timed_chooser(cost, chosen, **how):
    """A ``sharing(choose=...)`` whose FasterStep sees each way's steps cost what
    ``cost(way, chooser)`` says per example on a fake clock (the real steps run as well);
    the chooser made is appended to ``chosen``."""
    now = [0.0]

    def choose(first, second):
        def timed(way):
            real = way.step

            def step(batch):
                result = real(batch)
                now[0] += cost(way.processes, chooser) * len(batch)
                return result
            way.step = step
            return way
        chooser = FasterStep(timed(first), timed(second), clock=lambda: now[0], **how)
        chosen.append(chooser)
        return chooser
    return choose


@pytest.mark.parametrize("name, cost", [
    ("one process faster", lambda processes, chooser: 1.0 if processes == 1 else 2.0),
    ("workers faster", lambda processes, chooser: 2.0 if processes == 1 else 1.0),
    # whichever way is not the chosen one is faster: the choice changes at every trial
    ("always the other", lambda processes, chooser:
        1.0 if chooser.ways[chooser.chosen].processes != processes else 2.0),
])
def test_auto_follows_the_one_process_trajectory_whichever_way_it_takes(name, cost, monkeypatch):
    monkeypatch.setattr(sharing_module, "cores", lambda: 2)
    expected = trained()
    chosen = []
    got = trained(workers="auto", choose=timed_chooser(cost, chosen, trial=1, least=2))
    assert values(got) == pytest.approx(values(expected), rel=1e-9, abs=1e-12)
    assert [r.loss for r in got.history] == pytest.approx([r.loss for r in expected.history],
                                                          rel=1e-9)
    state, reference = got.optimizer.state_dict(), expected.optimizer.state_dict()
    assert state["steps"] == reference["steps"] == 16
    for key in type(got.optimizer).BUFFERS:
        assert state[key] == pytest.approx(reference[key], rel=1e-9, abs=1e-15)
    (chooser,) = chosen
    assert sum(chooser.steps_by) == 16 and min(chooser.steps_by) >= 2
    if name == "always the other":
        assert chooser.switches >= 4
    else:
        assert chooser.ways[chooser.chosen].processes == (1 if name == "one process faster" else 2)


def test_auto_on_one_core_is_one_process(monkeypatch):
    monkeypatch.setattr(sharing_module, "cores", lambda: 1)
    run = TrainingRun(SETTINGS, DATA)
    with sharing(run, lambda: False, workers="auto") as work:
        assert not isinstance(work["step"], FasterStep) and "sync" not in work
        run.train(2, **work)
    assert values(run) == values(trained())
