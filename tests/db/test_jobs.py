"""Job rows: parameters are strict JSON on every backend."""

from __future__ import annotations

import pytest

from db import jobs as job_rows


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), "a\x00b", {"deep": [float("-inf")]}])
def test_submit_refuses_parameters_that_are_not_strict_json(any_engine, bad):
    with pytest.raises(ValueError, match="Cannot queue the generate job: its parameters are not strict JSON"):
        job_rows.submit(any_engine, "generate", {"temperature": bad})
    assert job_rows.recent(any_engine) == []


def test_submitted_parameters_read_back_unchanged(any_engine):
    params = {"temperature": 0.5, "teacher": "embedded", "corpus": None, "seed": 2_000_000_000}
    assert job_rows.get(any_engine, job_rows.submit(any_engine, "generate", params))["params"] == params
