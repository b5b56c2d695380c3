"""Helpers for the student job tests: a saved version of a few pairs, and a finished tiny training run."""

from __future__ import annotations

from sqlalchemy import Engine

from curation.recipe import Recipe
from curation.versions import save_version
from db import jobs as job_rows
from db import runs
from db.queries import insert_pairs
from db.types import Pair
from pipeline import runner

PAIRS = [
    ("The cat sat on the mat.", "A cat was sitting on the mat."),
    ("Prices rose by 5 percent.", "Prices went up 5 percent."),
    ("He left the room quickly.", "He quickly walked out of the room."),
    ("The meeting starts at noon.", "The meeting begins at 12."),
    ("Rain is expected tomorrow.", "Tomorrow it will probably rain."),
    ("She won the race easily.", "She easily won the race."),
]


def make_version(engine: Engine, name: str = "v1", items=PAIRS, task: str = "paraphrase") -> dict:
    """Insert ``items`` as pairs and freeze all pairs of ``task`` as version ``name`` (no thresholds)."""
    with engine.begin() as conn:
        insert_pairs(conn, [Pair(s, t, task) for s, t in items])
    return save_version(engine, name, Recipe(task, {}, {}, dedup=False))


def train_params(student, **overrides) -> dict:
    base = {"version": "v1", "student": str(student), "max_steps": 4, "batch_size": 3, "lr": 1e-2,
            "eval_fraction": 0.34, "eval_every": 2, "device": "cpu"}  # fmt: skip
    return {**base, **overrides}


def run_train_job(engine: Engine, params: dict) -> tuple[int, str]:
    job_id = job_rows.submit(engine, "train", params)
    return job_id, runner.run_job(engine, job_id)


def trained_run(engine: Engine, student, tmp_path) -> dict:
    """A version and a finished training run of ``student`` on it; returns the run row."""
    make_version(engine)
    job_id, status = run_train_job(engine, train_params(student, output_dir=str(tmp_path / "run")))
    assert status == "done", job_rows.get(engine, job_id)["error"]
    return runs.run_for_job(engine, job_id)
