"""The CLI refuses a model that cannot load here before it queues anything."""

from __future__ import annotations

import pytest

from cli import main
from db import jobs as job_rows


@pytest.mark.parametrize(
    ("argv", "role"),
    [
        (["generate", "--teacher", "no-such-org/no-such-teacher"], "teacher"),
        (["score", "--nli", "alisawuffles/roberta-large-wanli"], "nli"),
        (["train", "--version", "v1", "--student", "nobody/no-such-student"], "student"),
    ],
)
def test_offline_hub_ids_outside_the_cache_are_refused_at_submit(
    argv, role, engine, db_url, monkeypatch, tmp_path, capsys
):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path / "hub"))
    assert main([*argv, "--db", db_url]) == 2
    error = capsys.readouterr().err
    assert error.startswith(f"error: Cannot load {role} ") and "HF_HUB_OFFLINE is set" in error
    assert job_rows.recent(engine) == []
