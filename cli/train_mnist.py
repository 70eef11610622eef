"""`scalargrad train-mnist`: softmax regression (or one hidden layer) on shrunken MNIST."""
from __future__ import annotations

import json
import os
import random
import signal
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, Optional

import click
from rich.console import Console, Group
from rich.live import Live
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn

from scalargrad import mnist
from scalargrad.optim import make_optimizer, OPTIMIZERS
from scalargrad.errors import Diverged
from scalargrad.training import (ACTIVATIONS, DEFAULT_ACTIVATION, Classifier, accuracy,
                                 confusion_matrix, train_epoch)

from . import mnist_display

MODEL_FORMAT = "scalargrad-mnist-model"
# Learning rates measured to work here: (softmax regression, with a hidden layer).
DEFAULT_LR = {"adam": (0.05, 0.003), "sgd": (0.5, 0.1), "momentum": (0.1, 0.01)}
MISCLASSIFIED_SHOWN = 6
DIGIT_SIDE = 14


class _StopRequest:
    """Ctrl-C once: finish the current batch, then stop. Twice: stop now."""

    def __init__(self, console: Console) -> None:
        self.requested = False
        self.console = console

    def __call__(self, signum, frame) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        self.console.print("[yellow]stopping after this batch (Ctrl-C again to stop now)[/]")


def _read_model(path: str) -> Dict[str, Any]:
    try:
        document = json.loads(Path(path).read_text())
    except OSError as error:
        raise click.UsageError(f"cannot read model {path}: {error.strerror or error}") from None
    except (ValueError, UnicodeDecodeError) as error:
        raise click.UsageError(f"{path} is not a JSON model file ({error})") from None
    if not isinstance(document, dict) or document.get("format") != MODEL_FORMAT:
        raise click.UsageError(f"{path} is not a scalargrad MNIST model file")
    return document


def _write_atomically(path: str, document: Dict[str, Any]) -> None:
    """Write JSON beside the target and rename it into place: an old file is never half-overwritten."""
    target = Path(path)
    handle, temporary = tempfile.mkstemp(dir=target.parent or ".", prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w") as out:
            json.dump(document, out)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _load_data(data_dir: Optional[str], size: int, console: Console):
    """The four MNIST arrays, with a progress bar for each file that has to be downloaded."""
    bars = Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                    console=console, transient=True)
    tasks: Dict[str, int] = {}

    def progress(name: str, done: int, total: Optional[int]) -> None:
        if not tasks:
            bars.start()  # only when something is downloaded: nothing is printed otherwise
        if name not in tasks:
            tasks[name] = bars.add_task(f"downloading {name}", total=total)
        bars.update(tasks[name], completed=done, total=total)

    try:
        return mnist.load_mnist(data_dir, size=size, progress=progress)
    finally:
        if tasks:
            bars.stop()


@click.command("train-mnist")
@click.option("--size", type=click.Choice(["7", "14", "28"]), default="7", show_default=True,
              help="Images are shrunk to SIZE x SIZE by block averaging.")
@click.option("--hidden", type=click.IntRange(0, 4096), default=0, show_default=True,
              help="Units in a hidden layer; 0 is softmax regression.")
@click.option("--activation", type=click.Choice(list(ACTIVATIONS)), default=DEFAULT_ACTIVATION,
              show_default=True)
@click.option("--epochs", type=click.IntRange(0, 1000), default=1, show_default=True)
@click.option("--batch-size", type=click.IntRange(1, 60000), default=32, show_default=True)
@click.option("--lr", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Learning rate [default: adam 0.05, sgd 0.5, momentum 0.1; "
                   "with --hidden: adam 0.003, sgd 0.1, momentum 0.01].")
@click.option("--optimizer", type=click.Choice(OPTIMIZERS), default="adam", show_default=True)
@click.option("--mode", type=click.Choice(["reverse", "forward"]), default="reverse", show_default=True,
              help="Gradients by reverse mode, or by forward mode (one sweep per parameter: tiny runs only).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--limit", type=click.IntRange(1, 60000), default=None,
              help="Train on the first N training examples only.")
@click.option("--data-dir", type=click.Path(file_okay=False), default=None,
              help=f"Where the MNIST files are [default: ${mnist.DATA_ENV_VAR}, else data/mnist].")
@click.option("--save", "save_path", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Save the trained model (JSON) here.")
@click.option("--load", "load_path", type=click.Path(dir_okay=False), default=None,
              help="Start from a saved model (with --epochs 0: just evaluate it).")
@click.option("--json", "as_json", is_flag=True, help="Print only a JSON document on stdout.")
@click.pass_context
def train_mnist(ctx: click.Context, size: str, hidden: int, activation: str, epochs: int,
                batch_size: int, lr: Optional[float], optimizer: str, mode: str, seed: int,
                limit: Optional[int], data_dir: Optional[str], save_path: Optional[str],
                load_path: Optional[str], as_json: bool) -> None:
    """Train a classifier of MNIST digits with Scalars, differentiated in reverse mode."""
    console = Console(stderr=as_json)  # with --json, stdout holds only the JSON document
    size_n = int(size)
    saved = _read_model(load_path) if load_path else None
    if saved is not None:
        options = saved.get("options", {})
        for name, given in (("size", size_n), ("hidden", hidden), ("activation", activation)):
            explicit = ctx.get_parameter_source(name) == click.core.ParameterSource.COMMANDLINE
            if explicit and options.get(name) != given:
                raise click.UsageError(f"--{name} {given} conflicts with the loaded model "
                                       f"({name} {options.get(name)})")
        size_n, hidden, activation = options.get("size", size_n), options.get("hidden", hidden), \
            options.get("activation", activation)
    lr = lr if lr is not None else DEFAULT_LR[optimizer][1 if hidden else 0]

    try:
        (x_train, y_train), (x_test, y_test) = _load_data(data_dir, size_n, console)
    except mnist.MnistError as error:
        raise click.ClickException(str(error)) from None
    if limit is not None:
        x_train, y_train = x_train[:limit], y_train[:limit]
    train_rows, train_labels = x_train.tolist(), y_train.tolist()
    test_rows, test_labels = x_test.tolist(), y_test.tolist()

    if saved is not None:
        try:
            model = Classifier.from_dict(saved["model"])
        except (KeyError, ValueError) as error:
            raise click.UsageError(f"{load_path}: {error}") from None
        if model.inputs != size_n * size_n:
            raise click.UsageError(f"{load_path}: the model takes {model.inputs} inputs, "
                                   f"not {size_n * size_n}")
    else:
        model = Classifier(size_n * size_n, hidden=hidden, activation=activation, seed=seed)
    step = make_optimizer(optimizer, model.parameters(), lr)
    rng = random.Random(seed)

    stop = _StopRequest(console)
    previous_handler = signal.signal(signal.SIGINT, stop)
    table = mnist_display.epoch_table()
    history = []
    trained, training_seconds, diverged = 0, 0.0, None
    evaluation = None  # (test accuracy, predictions) of the model as it is now
    started = time.perf_counter()
    try:
        bar = Progress(TextColumn("epoch {task.fields[epoch]}"), BarColumn(),
                       TextColumn("{task.completed}/{task.total}"),
                       TextColumn("{task.fields[speed]:.0f} ex/s  loss {task.fields[loss]:.4f}  "
                                  "acc {task.fields[acc]:.2%}"), TimeElapsedColumn())
        with Live(Group(table, bar), console=console, refresh_per_second=8):
            for epoch in range(1, epochs + 1):
                task = bar.add_task("", total=len(train_rows), epoch=epoch, speed=0.0, loss=0.0, acc=0.0)
                epoch_start = time.perf_counter()

                def on_batch(report, task=task, epoch_start=epoch_start):
                    elapsed = max(time.perf_counter() - epoch_start, 1e-9)
                    bar.update(task, completed=report.examples, speed=report.examples / elapsed,
                               loss=report.loss, acc=report.accuracy)

                try:
                    result = train_epoch(model, step, train_rows, train_labels, batch_size, rng,
                                         mode, on_batch, lambda: stop.requested)
                except Diverged as error:
                    diverged = error
                    break
                bar.remove_task(task)
                trained += result.examples
                training_seconds += result.seconds
                evaluation = accuracy(model, test_rows, test_labels)
                test_accuracy = evaluation[0]
                history.append({"epoch": epoch, "loss": result.loss, "train_accuracy": result.accuracy,
                                "test_accuracy": test_accuracy, "seconds": result.seconds})
                mnist_display.add_epoch_row(table, epoch, result.loss, result.accuracy,
                                            test_accuracy, result.seconds)
                if result.examples < len(train_rows):
                    break
    except KeyboardInterrupt:
        raise click.ClickException("interrupted") from None
    finally:
        signal.signal(signal.SIGINT, previous_handler)
    if diverged is not None:
        raise click.ClickException(f"training diverged: {diverged}; try a smaller --lr "
                                   f"(it was {lr})")

    if evaluation is None:  # no epoch completed: evaluate the model as loaded or initialised
        evaluation = accuracy(model, test_rows, test_labels)
    test_accuracy, predictions = evaluation
    summary = {
        "test_accuracy": test_accuracy,
        "train_accuracy": history[-1]["train_accuracy"] if history else None,
        "epochs": len(history), "size": size_n, "hidden": hidden, "activation": activation,
        "optimizer": optimizer, "lr": lr, "batch_size": batch_size, "seed": seed, "limit": limit,
        "mode": mode, "examples": trained, "interrupted": stop.requested,
        "seconds": time.perf_counter() - started,
        "examples_per_second": trained / training_seconds if training_seconds else None,
        "history": history,
    }
    if save_path:
        options = {"size": size_n, "hidden": hidden, "activation": activation, "optimizer": optimizer,
                   "lr": lr, "batch_size": batch_size, "seed": seed, "limit": limit,
                   "epochs": (saved or {}).get("options", {}).get("epochs", 0) + len(history)}
        try:
            _write_atomically(save_path, {"format": MODEL_FORMAT, "version": 1, "options": options,
                                          "model": model.to_dict(), "test_accuracy": test_accuracy})
        except OSError as error:
            raise click.ClickException(f"cannot save the model to {save_path}: "
                                       f"{error.strerror or error}") from None
    if as_json:
        click.echo(json.dumps(summary, indent=2))
        return
    _show_summary(console, summary, test_labels, predictions, data_dir, save_path)


def _digits_to_show(data_dir: Optional[str], indices) -> list:
    """Test images at 14x14 (from the original 28x28, whatever size was trained on)."""
    files = mnist.locate_files(mnist.resolve_data_dir(data_dir))
    images = mnist.read_images(files[mnist.TEST_IMAGES])
    return mnist.downsample(images[indices], DIGIT_SIDE).tolist()


def _show_summary(console: Console, summary: Dict[str, Any], labels, predictions,
                  data_dir: Optional[str], save_path: Optional[str]) -> None:
    console.print()
    console.print(mnist_display.confusion_table(confusion_matrix(labels, predictions)))
    wrong = [i for i, (t, p) in enumerate(zip(labels, predictions)) if t != p][:MISCLASSIFIED_SHOWN]
    if wrong:
        console.print("Some misclassified test digits:")
        console.print(mnist_display.misclassified_panels(
            _digits_to_show(data_dir, wrong), DIGIT_SIDE, [labels[i] for i in wrong],
            [predictions[i] for i in wrong]))
    speed = summary["examples_per_second"]
    console.print(f"[bold]test accuracy {summary['test_accuracy']:.2%}[/] after {summary['epochs']} "
                  f"epoch(s), {summary['seconds']:.1f} s"
                  + (f", {speed:.0f} training examples/s" if speed else "")
                  + (" (interrupted)" if summary["interrupted"] else ""))
    if save_path:
        console.print(f"model saved to {save_path}")
