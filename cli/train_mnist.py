"""`scalargrad train-mnist`: softmax regression (or one hidden layer) on shrunken MNIST.

The training is scalargrad.train.loop and the model file scalargrad.train.checkpoint; this module
reads the options, loads the data and shows what happens (cli.mnist_display).

Exit status: 0 when done; 2 for bad options, data or model files (before any training);
1 if training diverged or the model could not be saved (the summary is printed first),
or if a worker process died (the run is saved as it stood, with --save, when it can be);
130 when interrupted: Ctrl-C finishes the batch, prints the summary, saves, then exits
130; a second Ctrl-C stops at once (an unfinished save leaves the old file as it was).
"""
from __future__ import annotations

import json
import signal
from contextlib import contextmanager
from types import FrameType
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple, Union, cast

import click
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

from scalargrad.view import chart_svg, training_chart
from scalargrad.train import mnist
from scalargrad.train import checkpoint as model_file
from scalargrad.view.chart import Panel
from scalargrad.errors import Diverged, InputError, WorkerFailed
from scalargrad.train.metrics import Broadcast, MetricsRecorder, check_continues
from scalargrad.optim import OPTIMIZERS, SCHEDULES
from scalargrad.output_file import check_distinct, check_writable, write_atomically
from scalargrad.train.loop import (FORWARD_LIMIT, FORWARD_VISIT_SECONDS, IMAGE_SIZES,
                                   MAX_HIDDEN, MODES, Checkpoint, Dataset, Settings, Summary,
                                   TrainingRun, forward_cost, parameter_count)
from scalargrad.train.recipes import DEFAULT_LR, recipe
from scalargrad.train.model import ACTIVATIONS, DEFAULT_ACTIVATION
from scalargrad.train.step import GRADIENT_PHASE

from . import interrupt, mnist_display, text_chart
from .mnist_report import ReportWriter
from .errors import EXIT_INTERRUPTED, Failure
from .options import finite
from .processes import AUTO, Processes, WorkerCount

DIGIT_SIDE = 14  # misclassified digits are drawn at 14x14, whatever size was trained on
MAX_EXAMPLES = 60000
LR_HELP = ("Learning rate, the schedule's peak [default, measured: adam with cosine 0.2; "
           "with --hidden, onecycle 0.032 (0.012 at --size 28); constant rates: "
           + ", ".join(f"{name} {rates[0]:g}" for name, rates in DEFAULT_LR.items())
           + "; with --hidden: "
           + ", ".join(f"{name} {rates[1]:g}" for name, rates in DEFAULT_LR.items()) + "].")


class Interrupted(Failure):
    """Stopped at once by a second Ctrl-C (or one before training started)."""

    exit_code = EXIT_INTERRUPTED


class _StopRequest:
    """Ctrl-C once: stop after the current batch (dropping it if its gradient is still being
    computed: scalargrad.train.step.GradientPhase), show the summary, save, then stop. Twice: stop now."""

    def __init__(self, console: Console) -> None:
        self.requested = False
        self.console = console

    def __call__(self, signum: int, frame: Optional[FrameType]) -> None:
        if self.requested:
            interrupt.raise_keyboard_interrupt(signum, frame)
            return
        self.requested = True
        self.console.print("[yellow]stopping: the batch in progress is finished if it is "
                           "being applied, else dropped; the summary and the saved model come "
                           "next (Ctrl-C again to stop at once)[/]")
        GRADIENT_PHASE.interrupt()  # a gradient being computed is dropped, at once


@click.command("train-mnist")
@click.option("--size", type=click.Choice([str(s) for s in IMAGE_SIZES]), default="7",
              show_default=True, help="Images are shrunk to SIZE x SIZE by block averaging.")
@click.option("--hidden", type=click.IntRange(0, MAX_HIDDEN), default=0, show_default=True,
              help="Units in a hidden layer; 0 is softmax regression.")
@click.option("--activation", type=click.Choice(list(ACTIVATIONS)), default=DEFAULT_ACTIVATION,
              show_default=True)
@click.option("--epochs", type=click.IntRange(0, 1000), default=None,
              help="Epochs to train, over which the schedule is planned [default: 1; 3 for "
                   "--size 28 with --hidden and adam] (with --resume: more epochs, 1 by "
                   "default, within the plan; finishing a stopped one counts as the first).")
@click.option("--batch-size", type=click.IntRange(1, MAX_EXAMPLES), default=None,
              help="[default: 32; 128 for --size 28 with --hidden and adam]")
@click.option("--lr", type=click.FloatRange(min=0, min_open=True), callback=finite, default=None,
              help=LR_HELP)
@click.option("--schedule", type=click.Choice(SCHEDULES), default=None,
              help="How the learning rate moves over the run's planned steps: constant, "
                   "cosine (a half cosine down to 0) or onecycle (a straight fall to 0), "
                   "after the warm-up [default: adam cosine, with --hidden onecycle; sgd and "
                   "momentum constant].")
@click.option("--warmup", type=click.FloatRange(0, 1), callback=finite, default=None,
              metavar="FRACTION",
              help="Fraction of the planned steps over which the rate rises linearly to "
                   "--lr [default: 0.05 with --hidden and adam, else 0].")
@click.option("--optimizer", type=click.Choice(OPTIMIZERS), default="adam", show_default=True)
@click.option("--mode", type=click.Choice(MODES), default="reverse", show_default=True,
              help="Gradients by reverse mode, or by forward mode (one sweep per parameter: "
                   "tiny runs only; a run estimated to be long is refused unless --force).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--limit", type=click.IntRange(1, MAX_EXAMPLES), default=None,
              help="Train on the first N training examples only.")
@click.option("--data-dir", type=click.Path(exists=True, file_okay=False), default=None,
              help=f"Where the MNIST files are [default: ${mnist.DATA_ENV_VAR}, else data/mnist].")
@click.option("--save", "save_path", metavar="FILE", default=None,
              help="Save the model and its training state (JSON) here; checked before training.")
@click.option("--load", "load_path", type=click.Path(dir_okay=False), default=None,
              help="Start from a saved model's weights (with --epochs 0: just evaluate it).")
@click.option("--resume", "resume_path", type=click.Path(dir_okay=False), default=None,
              help="Continue the run a saved model came from, exactly, with its options.")
@click.option("--json", "as_json", is_flag=True, help="Print only a JSON document on stdout.")
@click.option("--metrics", "metrics_path", metavar="FILE.jsonl", default=None,
              help="Write a JSON line every --log-every steps and at each epoch's end: step, "
                   "epoch, examples, loss, accuracy, test accuracy, examples per second, "
                   "learning rate (appended to with --resume; checked before training).")
@click.option("--log-every", type=click.IntRange(min=1), default=10, show_default=True,
              metavar="STEPS", help="Steps (batches) between --metrics lines.")
@click.option("--plot", "plot_path", metavar="FILE.svg", default=None,
              help="Draw loss and accuracy per step as SVG (checked before training).")
@click.option("--report", "report_path", metavar="FILE.html", default=None,
              help="Write a page of the run: loss and accuracy per step, the confusion "
                   "matrix, misclassified digits, settings and timings; rewritten after "
                   "each epoch, so it shows a run in progress (checked before training).")
@click.option("--workers", type=WorkerCount(), default="1", show_default=True,
              help="Processes sharing each batch on this machine ('auto': one per core or one "
                   "alone, whichever is faster, measured now and then while training).")
@click.option("--distributed", is_flag=True,
              help="Share each batch between MPI ranks (under mpiexec or srun); rank 0 "
                   "alone prints and saves.")
@click.option("--force", is_flag=True,
              help=f"Start a --mode forward run even if its cost, estimated before it starts "
                   f"(parameters² × examples × epochs node visits), is over {FORWARD_LIMIT:.0e}.")
@click.option("--no-compile", "recording", is_flag=True,
              help="Record every example's graph (the recording engine) instead of running "
                   "the code scalargrad.compile generates from one example's; the same "
                   "trajectory, slower. Forward mode always records.")
@click.pass_context
def train_mnist(ctx: click.Context, epochs: Optional[int], data_dir: Optional[str],
                save_path: Optional[str], load_path: Optional[str], resume_path: Optional[str],
                as_json: bool, metrics_path: Optional[str], log_every: int,
                plot_path: Optional[str], report_path: Optional[str], workers: Union[int, str],
                distributed: bool, force: bool, recording: bool, **options: Any) -> None:
    """Train a classifier of MNIST digits with Scalars, differentiated in reverse mode."""
    processes = Processes(workers, distributed, compiled=not recording)
    # with --json, stdout holds only the JSON document; under MPI, rank 0 alone prints
    console = Console(stderr=as_json, quiet=not processes.root)
    if not processes.root:  # nor are its files checked: rank 0 writes them
        save_path = metrics_path = plot_path = report_path = None
    curves = _Curves(metrics_path, log_every, plot_path, appending=resume_path is not None,
                     report_path=report_path)
    with processes.leaving_together():
        try:
            _train(ctx, console, processes, epochs, data_dir, save_path, load_path, resume_path,
                   as_json, {**options, "force": force, "workers": workers}, curves)
        except KeyboardInterrupt:
            raise Interrupted("interrupted") from None


def _train(ctx: click.Context, console: Console, processes: Processes, epochs: Optional[int],
           data_dir: Optional[str], save_path: Optional[str], load_path: Optional[str],
           resume_path: Optional[str], as_json: bool, options: Dict[str, Any],
           curves: "_Curves") -> None:
    def prepare() -> Tuple[TrainingRun, Any, int]:
        return _prepare(ctx, console, epochs, data_dir, save_path, load_path, resume_path,
                        options, curves)
    run, test_images, epochs = processes.agree(prepare)
    stop = _StopRequest(console)
    note = processes.described if processes.workers == AUTO else None
    previous_handler = signal.signal(signal.SIGINT, stop)
    try:
        try:
            with processes.training(run, lambda: stop.requested) as sharing:
                last_epoch = run.epochs + epochs
                with mnist_display.TrainingDisplay(console, last_epoch, note) as display, \
                        curves.recorder(run) as recorder:
                    def engine() -> str:
                        return processes.engine(run) + (
                            "" if processes.workers == 1 and processes.comm is None
                            else f", {processes.described()}")
                    report = curves.report(run, recorder, engine, last_epoch)
                    listeners = (display, recorder) + ((report,) if report else ())
                    summary = run.train(epochs, Broadcast(*listeners), **sharing)
        except Diverged as error:
            raise Failure(_diverged(error, run, save_path)) from None
        except WorkerFailed as error:
            raise Failure(_saved_after(error, run, save_path)) from None
        save_error = _save(run, save_path) if save_path is not None else None
        plot_error = curves.write_plot(run, summary, recorder) or curves.metrics_error(recorder)
        if report is not None:
            plot_error = report.finish(summary, test_images) or plot_error
        if as_json and processes.root:
            auto = processes.auto_report()
            click.echo(json.dumps({**summary.to_dict(), "engine": processes.engine(run),
                                   **({"workers": auto} if auto is not None else {})},
                                  indent=2))
        elif processes.root:
            text_chart.print_panels(console, curves.panels(run, summary, recorder))
            labels = run.data.test_labels
            wrong = mnist_display.misclassified(labels, summary.predictions)
            digits = mnist.downsample(test_images[wrong], DIGIT_SIDE).tolist() if wrong else []
            mnist_display.show_summary(console, summary, labels, wrong, digits, DIGIT_SIDE,
                                       None if save_error else save_path,
                                       note() if note is not None else None)
    finally:
        signal.signal(signal.SIGINT, previous_handler)
    file_error = save_error or plot_error
    if file_error:
        raise Failure(file_error)
    if stop.requested:
        ctx.exit(EXIT_INTERRUPTED)


class _Curves:
    """--metrics, --log-every, --plot and --report: the files a run's curves go to."""

    def __init__(self, metrics_path: Optional[str], every: int, plot_path: Optional[str],
                 appending: bool, report_path: Optional[str] = None) -> None:
        self.metrics_path, self.every, self.plot_path = metrics_path, every, plot_path
        self.appending = appending  # a resumed run goes on with its metrics file
        self.report_path = report_path

    def check_paths(self) -> None:
        for path in (self.metrics_path, self.plot_path, self.report_path):
            if path is not None:
                check_writable(path)

    def check_continues(self, resumed: Checkpoint) -> None:
        """A resumed run appends to its metrics log only if the log is its own."""
        if self.metrics_path is not None and self.appending and resumed.optimizer is not None:
            check_continues(self.metrics_path, resumed.run_id,
                            resumed.optimizer["steps"], resumed.examples)

    @contextmanager
    def recorder(self, run: TrainingRun) -> Iterator[MetricsRecorder]:
        """A recorder for the run, writing to the metrics file if there is one."""
        settings = run.settings
        batch_size = cast(int, settings.batch_size)
        if self.metrics_path is None:
            yield MetricsRecorder(batch_size, run.rate, self.every, run=run.run_id)
            return
        try:
            out = open(self.metrics_path, "a" if self.appending else "w", encoding="utf-8")
        except OSError as error:
            raise InputError(f"cannot write {self.metrics_path}: "
                             f"{error.strerror or error}") from None
        with out:
            yield MetricsRecorder(batch_size, run.rate, self.every, out, run.run_id)

    def metrics_error(self, recorder: MetricsRecorder) -> Optional[str]:
        """The error to report (after the summary) if metrics lines could not be written."""
        if recorder.failed is None:
            return None
        return (f"cannot write the metrics to {self.metrics_path}: "
                f"{recorder.failed.strerror or recorder.failed} (the lines stopped there)")

    def report(self, run: TrainingRun, recorder: MetricsRecorder, engine: Callable[[], str],
               last_epoch: int) -> Optional[ReportWriter]:
        """The writer of --report's page, if asked for."""
        if self.report_path is None:
            return None
        return ReportWriter(self.report_path, run, recorder, engine, last_epoch)

    @staticmethod
    def panels(run: TrainingRun, summary: Summary, recorder: MetricsRecorder) -> List[Panel]:
        return training_chart.curves(summary.history, recorder.steps.items(), len(run.data.train_rows))

    def write_plot(self, run: TrainingRun, summary: Summary,
                   recorder: MetricsRecorder) -> Optional[str]:
        """Draw the curves to --plot; the error to report (after the summary) if that failed."""
        if self.plot_path is None:
            return None
        s = run.settings
        model = f"{s.hidden} hidden units ({s.activation})" if s.hidden else "softmax regression"
        title = (f"train-mnist: {s.size}x{s.size} images, {model}, {s.optimizer} lr {s.lr:g} "
                 f"({s.schedule}), batches of {s.batch_size}")
        try:
            write_atomically(self.plot_path,
                             chart_svg.render(self.panels(run, summary, recorder), title))
        except OSError as error:
            return f"cannot write the plot to {self.plot_path}: {error.strerror or error}"
        return None


def _prepare(ctx: click.Context, console: Console, epochs: Optional[int],
             data_dir: Optional[str], save_path: Optional[str], load_path: Optional[str],
             resume_path: Optional[str], options: Dict[str, Any],
             curves: "_Curves") -> Tuple[TrainingRun, Any, int]:
    """The run to train, the test images and the epochs to train: every option, path and
    file is checked first, so that nothing is loaded or trained for a command that cannot
    finish."""
    for option, path in (("--load", load_path), ("--resume", resume_path)):
        if path is not None and not path.strip():
            raise InputError(f"the {option} path is empty")
    if load_path and resume_path:
        raise click.UsageError("--load (the weights, for a new run) and --resume (the whole "
                               "run) exclude each other")
    if epochs == 0 and not (load_path or resume_path):
        raise click.UsageError("--epochs 0 trains nothing: it evaluates a model given with "
                               "--load or --resume")
    # A model read at the start may be saved over at the end (atomically); any other two
    # files the same would destroy one of them, as would writing over the data.
    data_files = {f"the MNIST file {path.name}": str(path)
                  for path in mnist.data_paths(data_dir)}
    check_distinct({"--save": save_path, "--load": load_path, "--resume": resume_path,
                    "--metrics": curves.metrics_path, "--plot": curves.plot_path,
                    "--report": curves.report_path, **data_files},
                   may_share=[("--save", "--load"), ("--save", "--resume")])
    if save_path is not None:
        check_writable(save_path)
    curves.check_paths()
    saved_path = load_path or resume_path
    checkpoint = model_file.load(saved_path) if saved_path else None
    resumed = checkpoint if resume_path else None  # the run --resume names, loaded just above
    if resumed is not None and not resumed.resumable:
        raise InputError(f"{resume_path} holds a model without its training state (format "
                         "version 1): --load it to train it further as a new run")
    if resumed is not None:
        curves.check_continues(resumed)
    force, workers = options.pop("force"), options.pop("workers")
    settings = _settings(ctx, options, checkpoint, resuming=bool(resume_path))
    if epochs is None:  # a resumed run goes on by one epoch; a new one takes its recipe's
        epochs = 1 if resume_path else recipe(settings.size, settings.hidden,
                                              settings.optimizer, settings.schedule).epochs
    last = epochs
    if workers != AUTO and workers > settings.batch_size:
        raise click.UsageError(f"--workers {workers} is more than the {settings.batch_size} "
                               "examples of a batch, which the processes share")
    def check_cost(examples: int) -> None:
        if settings.mode == "forward" and not force:
            _check_forward_cost(settings, examples, last)
    data, test_images = _load_data(data_dir, settings, console, check_cost)
    if resumed is not None:
        run = TrainingRun.resume(resumed, data)
    else:
        run = TrainingRun(settings, data, checkpoint.model if checkpoint else None)
    run.check_plan(epochs)
    return run, test_images, epochs


def _diverged(error: Diverged, run: TrainingRun, save_path: Optional[str]) -> str:
    """The error line for a run that diverged, once the run is saved as it stood at its
    last good step (TrainingRun.train rolled it back), if --save was given and there is one."""
    line = f"training diverged: {error}; try a smaller --lr (it was {run.settings.lr:g})"
    return _saved_as_it_stood(line, run, save_path, error.rolled_back, "good",
                              "no step of this run was good, so nothing was saved")


def _check_forward_cost(settings: Settings, examples: int, epochs: int) -> None:
    """Refuse a forward-mode run estimated to take longer than FORWARD_LIMIT allows."""
    visits, seconds = forward_cost(settings, examples, epochs)
    if visits > FORWARD_LIMIT:
        limit = FORWARD_LIMIT * FORWARD_VISIT_SECONDS
        raise InputError(
            f"forward mode would take about {_duration(seconds)} here: one sweep per "
            f"parameter ({parameter_count(settings):,}) over each batch's graph, about "
            f"{visits:.1e} node visits for {examples:,} examples x {epochs} epoch"
            f"{'s' if epochs != 1 else ''}, more than the {FORWARD_LIMIT:.0e} (about "
            f"{_duration(limit)}) a run may take without --force; use reverse mode (the same "
            "gradients, one sweep a batch), fewer examples (--limit), or --force")


def _duration(seconds: float) -> str:
    for unit, size in (("days", 86400.0), ("hours", 3600.0), ("minutes", 60.0)):
        if seconds >= 2 * size:
            return f"{seconds / size:,.0f} {unit}"
    return f"{seconds:.0f} seconds"


def _saved_after(error: WorkerFailed, run: TrainingRun, save_path: Optional[str]) -> str:
    """The error line for a run that a worker process's failure ended, once the run is
    saved as it stood after its last whole step, if --save was given and that can be done."""
    return _saved_as_it_stood(
        str(error), run, save_path, error.recovered, "whole",
        "it failed while the parameters were updated, so nothing was saved", ": --resume it to go on")


def _saved_as_it_stood(line: str, run: TrainingRun, save_path: Optional[str], whole: bool,
                       last: str, nothing_saved: str, then: str = "") -> str:
    """line, and what became of --save: the run saved as it stood after its ``last`` step
    where ``whole`` says there is one (else ``nothing_saved``), or why saving failed."""
    if save_path is None:
        return line
    if not whole:
        return f"{line}; {nothing_saved}"
    save_error = _save(run, save_path)
    if save_error is not None:
        return f"{line}; {save_error}"
    return (f"{line}; the run as it stood after its last {last} step ({run.examples:,} "
            f"examples trained) is saved to {save_path}{then}")


def _save(run: TrainingRun, path: str) -> Optional[str]:
    """Save the run; the error to report (after the summary) if that failed."""
    try:
        model_file.save(path, run.checkpoint())
    except (OSError, ValueError) as error:
        return f"cannot save the model to {path}: {getattr(error, 'strerror', None) or error}"
    return None


def _settings(ctx: click.Context, options: Dict[str, Any], checkpoint: Optional[Checkpoint],
              resuming: bool) -> Settings:
    """The run's settings: from the options; with --load the architecture comes from the
    file, with --resume everything does. An option given that disagrees is a usage error."""
    given = {**options, "size": int(options["size"])}
    if checkpoint is None:
        return Settings(**given)
    saved = checkpoint.settings.to_dict()
    kept = list(saved) if resuming else ["size", "hidden", "activation"]
    for name in kept:
        explicit = ctx.get_parameter_source(name) == click.core.ParameterSource.COMMANDLINE
        if explicit and given[name] != saved[name]:
            flag = "--" + name.replace("_", "-")
            what = "the run being resumed" if resuming else "the loaded model"
            raise click.UsageError(f"{flag} {given[name]} conflicts with {what} "
                                   f"({name} {saved[name]})")
    if resuming:
        return checkpoint.settings
    return Settings(**{**given, **{name: saved[name] for name in kept}})


def _load_data(data_dir: Optional[str], settings: Settings, console: Console,
               check_examples: Callable[[int], None]) -> Tuple[Dataset, Any]:
    """The examples the run uses, and the test images at 28x28 (to draw misclassified
    ones): every file is read once, here, with a progress bar for each one downloaded.
    check_examples(how many the run trains on) may refuse the run before the images are
    read (the labels tell how many there are)."""
    bars = Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                    TimeRemainingColumn(), console=console, transient=True)
    tasks: Dict[str, Any] = {}

    def progress(name: str, done: int, total: Optional[int]) -> None:
        if not tasks:
            bars.start()  # only when something is downloaded: nothing is printed otherwise
        if name not in tasks:
            tasks[name] = bars.add_task(f"downloading {name}", total=total)
        bars.update(tasks[name], completed=done, total=total)

    try:
        directory = mnist.ensure_files(data_dir, progress=progress)
    finally:
        if tasks:
            bars.stop()
    with mnist_display.phase(console, f"loading MNIST from {directory}, shrunk to "
                                      f"{settings.size}x{settings.size}"):
        # locate_files hashes the files again (cheap beside reading them): no public call
        # both fetches and names them
        files = mnist.locate_files(directory)
        train_rows, train_labels = _examples(files, mnist.TRAIN_IMAGES, mnist.TRAIN_LABELS,
                                             settings.size, settings.limit, check_examples)
        test_images, test_labels = mnist.read_split(files[mnist.TEST_IMAGES],
                                                    files[mnist.TEST_LABELS])
        test_rows = mnist.downsample(test_images, settings.size).tolist()
    return Dataset(train_rows, train_labels, test_rows, test_labels.tolist()), test_images


def _examples(files: Dict[str, Any], images: str, labels: str, size: int,
              limit: Optional[int], check_examples: Callable[[int], None]
              ) -> Tuple[List[List[float]], List[int]]:
    """The first ``limit`` examples of a split as rows of floats, and their labels (the
    28x28 images are let go before the rows are made)."""
    check_examples(len(mnist.read_labels(files[labels])[:limit]))
    pixels, classes = mnist.read_split(files[images], files[labels])
    small = mnist.downsample(pixels[:limit], size)
    del pixels
    return small.tolist(), classes[:limit].tolist()
