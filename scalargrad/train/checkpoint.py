"""The model file train-mnist saves and loads: a run's Checkpoint as one JSON document.

Format "scalargrad-mnist-model", version 3::

    {"format": "scalargrad-mnist-model", "version": 3,
     "options":   Settings.to_dict(): size, hidden, activation, optimizer, lr, batch_size,
                  seed, limit, mode, schedule, warmup,
     "model":     Classifier.to_dict(): inputs, classes, hidden, activation,
                  layers [{"weights": inputs rows of outputs numbers, "bias": [...]}, ...],
     "optimizer": Optimizer.state_dict(): type, steps, hyperparameters, moments/velocities,
     "progress":  {"epochs": complete epochs, "examples": examples trained in all,
                   "random_state": the shuffling RNG's state (random.getstate() as lists)
                                   when the epoch in progress began,
                   "unfinished": null, or how far a stopped epoch got: {"examples",
                                 "loss_sum", "correct", "seconds"}},
     "history":   [{"epoch", "examples", "complete", "loss", "train_accuracy",
                    "test_accuracy", "seconds"}, ...],
     "test_accuracy": after the last epoch (or null),
     "run":       the run's id (letters, digits, '-' and '_'; absent or null in files
                  saved before runs had ids, which still load),
     "schedule":  the learning-rate schedule as planned (Schedule.state_dict(): kind, lr,
                  steps, warmup), or null if the run has not been planned (never trained)}

Version 2 files (before schedules) are read as runs at a constant rate without warm-up,
which they were. Version 1 files (options and model only, no training state) are still
read: their weights can be evaluated or trained further, but their run cannot be resumed.

``load`` checks the whole document (types, shapes, finite values, sane sizes, the parts
agreeing with each other) before it builds anything, and refuses a malformed file with
one InputError line naming the file and the first problem.
"""
from __future__ import annotations

import json
import os
import random
import re
import stat
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any, Dict, List, Optional, cast

from ..errors import InputError
from ..optim import Schedule, make_optimizer
from ..output_file import write_atomically
from .checks import finite_number, fraction, require, whole
from .loop import CLASSES, Checkpoint, EpochRecord, Settings, parameter_count
from .model import Classifier, EpochProgress

FORMAT = "scalargrad-mnist-model"
_RUN_ID = re.compile(r"[0-9A-Za-z_-]{1,64}")
VERSION = 3
READABLE_VERSIONS = (1, 2, 3)


def save(path: str, checkpoint: Checkpoint) -> None:
    """Write the checkpoint to path, atomically (scalargrad.output_file); OSError or
    ValueError (a weight that is not finite) if it cannot be written."""
    write_atomically(path, json.dumps(to_document(checkpoint), allow_nan=False))


def load(path: str) -> Checkpoint:
    """The checkpoint in the file at path; InputError "<path>: <problem>" if unusable."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise InputError(f"cannot read model {path}: not a regular file")
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise InputError(f"cannot read model {path}: {error.strerror or error}") from None
    except UnicodeDecodeError as error:
        raise InputError(f"{path} is not a JSON model file ({error})") from None
    try:
        document = json.loads(text)
    except (ValueError, RecursionError) as error:
        raise InputError(f"{path} is not a JSON model file ({error})") from None
    try:
        return from_document(document)
    except InputError as error:
        raise InputError(f"{path}: {error}") from None


def to_document(checkpoint: Checkpoint) -> Dict[str, Any]:
    """The JSON document (version 3) for a resumable checkpoint."""
    if not checkpoint.resumable:
        raise ValueError("a checkpoint without training state cannot be saved as version 3")
    # A resumable checkpoint holds the RNG's state too (see TrainingRun.resume).
    version, internal, gauss = cast(tuple, checkpoint.random_state)
    unfinished = checkpoint.unfinished
    return {"format": FORMAT, "version": VERSION,
            "options": checkpoint.settings.to_dict(),
            "model": checkpoint.model.to_dict(),
            "optimizer": checkpoint.optimizer,
            "progress": {"epochs": checkpoint.epochs, "examples": checkpoint.examples,
                         "random_state": [version, list(internal), gauss],
                         "unfinished": None if unfinished is None else asdict(unfinished)},
            "history": [asdict(record) for record in checkpoint.history],
            "test_accuracy": checkpoint.test_accuracy, "run": checkpoint.run_id,
            "schedule": checkpoint.schedule}


def from_document(document: Any) -> Checkpoint:
    """The checkpoint a parsed document holds, every part checked before the model is
    built; InputError naming the first problem."""
    require(isinstance(document, dict) and document.get("format") == FORMAT,
             "not a scalargrad MNIST model file")
    version = document.get("version")
    require(version in READABLE_VERSIONS and type(version) is int,
             f"format version {version!r} is not one this scalargrad reads "
             f"({', '.join(map(str, READABLE_VERSIONS))})")
    options = document.get("options")
    if version == 1 and isinstance(options, dict):  # version 1 had no mode and kept epochs here
        options = {"mode": "reverse", **options}
    if version < 3 and isinstance(options, dict):  # before schedules: a constant rate
        options = {"schedule": "constant", "warmup": 0.0, **options}
    try:
        settings = Settings.from_dict(options)
    except InputError as error:
        raise InputError(f"options: {error}") from None
    model = document.get("model")
    Classifier.check_dict(model)
    expected = {"inputs": settings.size * settings.size, "classes": CLASSES,
                "hidden": settings.hidden, "activation": settings.activation}
    for key, value in expected.items():
        require(model[key] == value, f"the model's {key} is {model[key]!r}, but the options "
                                      f"make it {value!r}")
    test_accuracy = document.get("test_accuracy")
    require(test_accuracy is None or fraction(test_accuracy),
             f"test_accuracy must be a number from 0 to 1 or null, not {test_accuracy!r}")
    if version == 1:
        return Checkpoint(settings, Classifier.from_dict(model), test_accuracy=test_accuracy)
    optimizer = _checked_optimizer(document.get("optimizer"), settings)
    progress = document.get("progress")
    require(isinstance(progress, dict), "progress must be an object")
    epochs, examples = progress.get("epochs"), progress.get("examples")
    require(whole(epochs, 0) and whole(examples, 0),
             f"progress.epochs and progress.examples must be whole numbers >= 0, "
             f"not {epochs!r} and {examples!r}")
    random_state = _checked_random_state(progress.get("random_state"))
    unfinished = _checked_unfinished(progress.get("unfinished"), cast(int, settings.batch_size))
    history = _checked_history(document.get("history"))
    complete = [record for record in history if record.complete]
    require(len(complete) == epochs, f"the history holds {len(complete)} complete epochs, "
                                      f"progress says {epochs}")
    require(sum(record.examples for record in history) == examples,
             f"the history's examples do not add up to progress.examples ({examples})")
    last = history[-1] if history else None
    stopped = last is not None and not last.complete
    require(stopped == (unfinished is not None) and all(r.complete for r in history[:-1])
             and (not stopped or (last is not None and unfinished is not None
                                  and last.examples == unfinished.examples)),
             "the history and progress.unfinished disagree about the epoch in progress")
    run = document.get("run")
    require(run is None or (isinstance(run, str) and _RUN_ID.fullmatch(run) is not None),
             f"run must be an id of 1 to 64 letters, digits, '-' and '_', or null, not {run!r}")
    schedule = _checked_schedule(document.get("schedule"), settings, optimizer["steps"])
    return Checkpoint(settings, Classifier.from_dict(model), optimizer, random_state, epochs,
                      examples, unfinished, history, test_accuracy, run, schedule)


def _checked_schedule(state: Any, settings: Settings, steps: int) -> Optional[Dict[str, Any]]:
    """The planned schedule, if it is one of the options' kind and rate (null only for a
    run that has taken no step, or one saved before schedules)."""
    if state is None:
        require(steps == 0 or settings.schedule == "constant" and settings.warmup == 0,
                 "schedule must be planned (not null) once the run has taken a step")
        return None
    try:
        Schedule.check_state(state)
    except ValueError as error:
        raise InputError(f"schedule: {error}") from None
    require(state["kind"] == settings.schedule and state["lr"] == settings.lr,
             f"schedule: {state['kind']} at lr {state['lr']!r}, but the options make it "
             f"{settings.schedule} at lr {settings.lr!r}")
    return {key: state[key] for key in Schedule.KEYS}


def _checked_optimizer(state: Any, settings: Settings) -> Dict[str, Any]:
    """The optimizer state, if it is one for the settings' optimizer and model (which the
    model in the file was checked to be)."""
    lr = cast(float, settings.lr)  # never None once made: Settings.__post_init__ puts the default in
    fresh = make_optimizer(settings.optimizer, [], lr)
    try:
        type(fresh).check_state(state, parameter_count(settings))
    except ValueError as error:
        raise InputError(f"optimizer: {error}") from None
    for key, value in fresh.state_dict().items():
        if key not in type(fresh).BUFFERS and key != "steps":
            require(state[key] == value, f"optimizer: {key} is {state[key]!r}, but the "
                                          f"options make it {value!r}")
    return state


def _checked_random_state(state: Any) -> tuple:
    """random.getstate()'s tuple from its JSON form, if random accepts it."""
    ok = (isinstance(state, list) and len(state) == 3 and isinstance(state[1], list)
          and all(type(x) is int for x in state[1])
          and (state[2] is None or finite_number(state[2])))
    if ok:
        restored = (state[0], tuple(state[1]), state[2])
        try:
            random.Random().setstate(restored)
            return restored
        except (TypeError, ValueError, OverflowError):
            pass
    raise InputError("progress.random_state is not the state of Python's random generator")


def _checked_unfinished(unfinished: Any, batch_size: int) -> Optional[EpochProgress]:
    if unfinished is None:
        return None
    names = [f.name for f in fields(EpochProgress)]
    ok = (isinstance(unfinished, dict) and set(unfinished) == set(names)
          and whole(unfinished["examples"], 0) and unfinished["examples"] > 0
          and unfinished["examples"] % batch_size == 0
          and whole(unfinished["correct"], 0) and unfinished["correct"] <= unfinished["examples"]
          and finite_number(unfinished["loss_sum"]) and unfinished["loss_sum"] >= 0
          and finite_number(unfinished["seconds"]) and unfinished["seconds"] >= 0)
    require(ok, f"progress.unfinished must be null or {{{', '.join(names)}}} of an epoch "
                 f"stopped after a whole number of batches")
    return EpochProgress(**unfinished)


def _checked_history(history: Any) -> List[EpochRecord]:
    require(isinstance(history, list), "history must be a list")
    names = {f.name for f in fields(EpochRecord)}
    records = []
    for number, entry in enumerate(history, 1):
        ok = (isinstance(entry, dict) and set(entry) == names and entry["epoch"] == number
              and type(entry["epoch"]) is int
              and whole(entry["examples"], 0) and entry["examples"] > 0
              and type(entry["complete"]) is bool
              and finite_number(entry["loss"]) and entry["loss"] >= 0
              and fraction(entry["train_accuracy"]) and fraction(entry["test_accuracy"])
              and finite_number(entry["seconds"]) and entry["seconds"] >= 0)
        require(ok, f"history entry {number} is not a record of epoch {number} "
                     f"({', '.join(sorted(names))})")
        records.append(EpochRecord(**entry))
    return records
