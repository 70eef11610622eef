"""scalargrad.fit.story: the moments of a fit worth drawing."""
import math

from scalargrad.fit import linefit
from scalargrad.fit.linefit import FitStep
from scalargrad.fit.story import FitHistory, equation, scale_of


def history_of(losses):
    history = FitHistory()
    for step, loss in enumerate(losses):
        history(FitStep(step, linefit.Line(float(step), 1.0), loss))
    return history


def test_moments_are_start_halfway_down_on_a_log_scale_and_final():
    # start 100, final 1: halfway on a log scale is 10; the first step at or below it is 3
    history = history_of([100.0, 50.0, 20.0, 10.0, 5.0, 2.0, 1.0])
    assert [(m.name, m.step.step) for m in history.moments()] == [
        ("start", 0), ("early", 3), ("final", 6)]


def test_no_early_moment_when_no_step_lies_between():
    assert [m.name for m in history_of([100.0, 1.0]).moments()] == ["start", "final"]
    assert [m.name for m in history_of([4.0]).moments()] == ["start"]
    assert history_of([]).moments() == []
    assert [m.name for m in history_of([math.inf, 9.0, 3.0, 1.0]).moments()] == [
        "start", "early", "final"]


def test_the_default_fit_tells_its_story():
    xs, ys = linefit.synthetic_points(100, 0.7, 4.0, noise=0.5, seed=0)
    history = FitHistory()
    result = linefit.fit_line(xs, ys, start=linefit.Line(-2.0, 0.0), callback=history)
    start, early, final = history.moments()
    assert start.step.step == 0 and start.step.line.slope == -2.0
    assert 0 < early.step.step < final.step.step == result.steps
    assert start.step.loss > early.step.loss > final.step.loss
    assert early.step.loss <= math.sqrt(start.step.loss * final.step.loss)
    assert equation(start.step, scale_of(xs, ys)) == "y = -2x + 0"
