"""Shared fixtures: a fresh database per test and tiny models built once per session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from tests import tiny_models  # noqa: E402

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
BENCHMARKS = SHARED / "benchmarks"


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'studio.db'}"


@pytest.fixture
def engine(db_url: str):
    from db import connect

    eng = connect(db_url)
    yield eng
    eng.dispose()


@pytest.fixture(scope="session")
def tiny_teacher(tmp_path_factory) -> Path:
    return tiny_models.build_tiny_causal_lm(tmp_path_factory.mktemp("tiny_teacher"))


@pytest.fixture(scope="session")
def tiny_nli(tmp_path_factory) -> Path:
    return tiny_models.build_tiny_nli(tmp_path_factory.mktemp("tiny_nli"))


@pytest.fixture(scope="session")
def tiny_seq2seq(tmp_path_factory) -> Path:
    return tiny_models.build_tiny_seq2seq(tmp_path_factory.mktemp("tiny_t5"))


@pytest.fixture(scope="session")
def benchmarks_dir() -> Path:
    if not BENCHMARKS.exists():
        pytest.skip(f"shared benchmarks not found at {BENCHMARKS}")
    return BENCHMARKS
