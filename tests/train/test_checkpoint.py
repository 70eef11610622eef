"""The model file: round trips, resuming from a file, version 1, and malformed files."""
import copy
import dataclasses
import json
import math
import os
import random

import pytest

from scalargrad.train import checkpoint as model_file
from scalargrad.errors import InputError
from scalargrad.train.loop import Dataset, Settings, TrainingRun
from tests.train.test_loop import StopAfter


def examples(n, seed):
    rng = random.Random(seed)
    rows = [[rng.random() for _ in range(49)] for _ in range(n)]
    return rows, [int(row[0] * 10) for row in rows]  # the label is in the first pixel


DATA = Dataset(*examples(40, 1), *examples(20, 2))
SETTINGS = Settings(hidden=2, batch_size=8, seed=3)


def stopped_run():
    """A run stopped two batches into its second epoch."""
    run = TrainingRun(SETTINGS, DATA)
    stop = StopAfter(7)
    run.train(2, stop, stop)
    return run


@pytest.fixture(scope="module")
def document():
    return model_file.to_document(stopped_run().checkpoint())


def parameters(model):
    return [p.value for p in model.parameters()]


def test_a_checkpoint_round_trips_through_a_file(tmp_path):
    run = stopped_run()
    path = tmp_path / "model.json"
    model_file.save(str(path), run.checkpoint())
    loaded = model_file.load(str(path))
    original = run.checkpoint()
    assert parameters(loaded.model) == parameters(original.model)
    for name in ("settings", "optimizer", "random_state", "epochs", "examples", "unfinished",
                 "history", "test_accuracy", "schedule"):
        assert getattr(loaded, name) == getattr(original, name), name
    saved = json.loads(path.read_text())
    assert saved["format"] == "scalargrad-mnist-model" and saved["version"] == 3
    assert saved["schedule"] == {"kind": "onecycle", "lr": 0.032, "steps": 10, "warmup": 0}
    assert saved["progress"]["examples"] == 40 + 16 and saved["progress"]["epochs"] == 1
    assert saved["history"][-1]["complete"] is False and saved["history"][-1]["examples"] == 16


def test_a_run_resumed_from_its_file_ends_as_if_never_stopped(tmp_path):
    straight = TrainingRun(SETTINGS, DATA)
    straight.train(2)
    path = tmp_path / "model.json"
    model_file.save(str(path), stopped_run().checkpoint())
    resumed = TrainingRun.resume(model_file.load(str(path)), DATA)
    resumed.train(1)
    assert parameters(resumed.model) == parameters(straight.model)


def test_a_version_2_file_resumes_at_the_constant_rate_it_was_trained_at(tmp_path, document):
    """Before schedules (version 2): no schedule, options without one; the run goes on at a
    constant rate, as a run of schedule constant does."""
    old = copy.deepcopy(document)
    old["version"] = 2
    del old["schedule"], old["options"]["schedule"], old["options"]["warmup"]
    path = tmp_path / "old.json"
    path.write_text(json.dumps(old))
    loaded = model_file.load(str(path))
    assert loaded.settings.schedule == "constant" and loaded.settings.warmup == 0.0
    resumed = TrainingRun.resume(loaded, DATA)
    resumed.train(2)
    constant = TrainingRun.resume(model_file.from_document(
        {**document, "options": {**document["options"], "schedule": "constant", "warmup": 0.0},
         "schedule": {"kind": "constant", "lr": 0.032, "steps": 10, "warmup": 0}}), DATA)
    constant.train(2)
    assert parameters(resumed.model) == parameters(constant.model)
    assert resumed.schedule.state_dict() == {"kind": "constant", "lr": 0.032, "steps": 10,
                                             "warmup": 0}


def test_a_version_1_file_is_read_but_cannot_be_resumed(tmp_path, document):
    old = {"format": "scalargrad-mnist-model", "version": 1,
           "options": {"size": 7, "hidden": 2, "activation": "relu", "optimizer": "adam",
                       "lr": 0.003, "batch_size": 8, "seed": 3, "limit": None, "epochs": 1},
           "model": document["model"], "test_accuracy": 0.25}
    path = tmp_path / "old.json"
    path.write_text(json.dumps(old))
    loaded = model_file.load(str(path))
    # before schedules, a run's rate was constant
    constant = dataclasses.replace(SETTINGS, schedule="constant", warmup=0.0, lr=0.003)
    assert not loaded.resumable and loaded.settings == constant and loaded.test_accuracy == 0.25
    assert parameters(loaded.model) == [v for layer in document["model"]["layers"]
                                        for v in sum(layer["weights"], []) + layer["bias"]]


def test_weights_that_are_not_finite_are_not_saved(tmp_path):
    run = stopped_run()
    run.model.parameters()[0].value = math.inf
    path = tmp_path / "model.json"
    with pytest.raises(ValueError):
        model_file.save(str(path), run.checkpoint())
    assert list(tmp_path.iterdir()) == []


def edit(path, value):
    """A change to the document: set the value at a path of keys and indices."""
    def change(document):
        target = document
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    return change


def drop(*path):
    def change(document):
        target = document
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]
    return change


MALFORMED = [
    (edit(["format"], "something-else"), "not a scalargrad MNIST model file"),
    (edit(["version"], 4), "format version 4 is not one this scalargrad reads (1, 2, 3)"),
    (edit(["version"], "2"), "format version '2'"),
    (drop("version"), "format version None"),
    (edit(["options"], []), "options: the options must be an object"),
    (edit(["options"], None), "options: the options must be an object"),
    (edit(["options"], "7"), "options: the options must be an object"),
    (drop("options", "batch_size"), "options: the options lack batch_size"),
    (edit(["options", "hidden"], 100_000_000), "options: hidden must be a whole number from 0"),
    (edit(["options", "lr"], math.nan), "options: lr must be a positive finite number, not nan"),
    (edit(["options", "size"], 14), "the model's inputs is 49, but the options make it 196"),
    (edit(["model", "hidden"], 100_000_000), "expected 100000000"),
    (edit(["model", "classes"], 10**9), "expected 1000000000"),
    (edit(["model", "layers", 0, "weights", 3, 1], math.nan), "holds nan"),
    (edit(["model", "layers", 1, "bias", 0], "1.0"), "holds '1.0'"),
    (edit(["optimizer"], None), "optimizer: Adam: the state must be a dict"),
    (edit(["optimizer", "type"], "SGD"), "optimizer: Adam: the state is for 'SGD'"),
    (edit(["optimizer", "first_moments", 2], math.inf), "first_moments must hold finite"),
    (edit(["optimizer", "second_moments"], [0.0]), "second_moments has 1 entries for 130"),
    (edit(["optimizer", "lr"], 0.5), "optimizer: lr is 0.5, but the options make it 0.032"),
    (edit(["schedule"], None), "schedule must be planned (not null) once the run has taken a step"),
    (edit(["schedule", "kind"], "cosine"), "schedule: cosine at lr 0.032, but the options make "
                                          "it onecycle at lr 0.032"),
    (edit(["schedule", "steps"], 0), "schedule: Schedule: steps must be a whole number >= 1"),
    (edit(["schedule", "warmup"], 11), "warmup must be a whole number from 0 to steps (10)"),
    (edit(["options", "warmup"], 2), "options: warmup must be a fraction from 0 to 1, not 2"),
    (edit(["options", "schedule"], "step"), "options: schedule must be one of constant"),
    (edit(["progress"], []), "progress must be an object"),
    (edit(["progress", "epochs"], -1), "progress.epochs"),
    (edit(["progress", "examples"], 57), "do not add up"),
    (edit(["progress", "random_state"], [3, [1, 2, 3], None]), "random_state"),
    (edit(["progress", "random_state", 1, 0], "x"), "random_state"),
    (edit(["progress", "unfinished", "examples"], 12), "a whole number of batches"),
    (edit(["progress", "unfinished"], None), "disagree about the epoch in progress"),
    (edit(["history"], {}), "history must be a list"),
    (drop("history", 0, "loss"), "history entry 1"),
    (edit(["history", 1, "test_accuracy"], 1.5), "history entry 2"),
    (edit(["test_accuracy"], "high"), "test_accuracy must be a number from 0 to 1"),
]


@pytest.mark.parametrize("change, problem", MALFORMED)
def test_a_malformed_file_is_one_line_naming_the_file_and_the_problem(tmp_path, document,
                                                                      change, problem):
    broken = copy.deepcopy(document)
    change(broken)
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(broken))
    with pytest.raises(InputError) as raised:
        model_file.load(str(path))
    message = str(raised.value)
    assert message.startswith(f"{path}: ") and problem in message and "\n" not in message


@pytest.mark.parametrize("content, problem", [
    ("{not json", "is not a JSON model file"),
    ("[" * 100_000, "is not a JSON model file"),
    ("[]", "not a scalargrad MNIST model file"),
    ("null", "not a scalargrad MNIST model file"),
])
def test_what_is_not_a_model_document_is_refused(tmp_path, content, problem):
    path = tmp_path / "model.json"
    path.write_text(content)
    with pytest.raises(InputError, match=problem):
        model_file.load(str(path))


def test_binary_and_missing_files_are_refused(tmp_path):
    path = tmp_path / "model.json"
    path.write_bytes(b"\x1f\x8b\x08\x00\xff\xfe")
    with pytest.raises(InputError, match="is not a JSON model file"):
        model_file.load(str(path))
    with pytest.raises(InputError, match="cannot read model"):
        model_file.load(str(tmp_path / "missing.json"))


def test_a_model_path_that_is_not_a_regular_file_is_refused_without_reading(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)  # reading it would wait for a writer forever
    with pytest.raises(InputError, match="not a regular file"):
        model_file.load(str(fifo))
