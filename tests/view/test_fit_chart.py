"""scalargrad.view.fit_chart: a fit's story as two chart panels."""
from scalargrad.fit import linefit
from scalargrad.fit.story import FitHistory, equation
from scalargrad.view.chart import Dots, Line
from scalargrad.view.fit_chart import panels
from tests.fit.test_story import history_of


def test_the_default_fit_is_drawn_at_its_moments():
    xs, ys = linefit.synthetic_points(100, 0.7, 4.0, noise=0.5, seed=0)
    history = FitHistory()
    result = linefit.fit_line(xs, ys, start=linefit.Line(-2.0, 0.0), callback=history)
    start, early, final = history.moments()
    fit, loss = panels(xs, ys, history)
    assert [s.label for s in fit.series] == [
        "points", "step 0: y = -2x + 0", f"step {early.step.step}: {equation(early.step)}",
        f"step {final.step.step}: {equation(final.step)}"]
    assert isinstance(fit.series[0], Dots) and len(fit.series[0].points) == 100
    assert [s.dashed for s in fit.series[1:]] == [True, True, False]
    assert loss.log_y and isinstance(loss.series[0], Line)
    assert len(loss.series[0].points) == result.steps + 1  # the start and each step
    assert [s.points for s in loss.series[1:]] == [[(m.step.step, m.step.loss)]
                                                   for m in (start, early, final)]



def test_many_points_are_sampled_for_the_picture():
    xs = [float(i) for i in range(10_000)]
    fit, _ = panels(xs, [2 * x for x in xs], history_of([3.0, 2.0, 1.0]))
    assert len(fit.series[0].points) == 2000
