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


@pytest.fixture(scope="session", autouse=True)
def ct2_cache(tmp_path_factory):
    """Teachers converted for CTranslate2 in tests go to a session folder, not the user's model cache."""
    import models.ct2

    models.ct2.CACHE_DIR = tmp_path_factory.mktemp("ct2_cache")
    return models.ct2.CACHE_DIR


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


PG_URL_ENV = "IMPOSSIBLE_TEST_PG_URL"


def _fresh_postgres(url: str):
    """Connect to the test PostgreSQL database with every table dropped first."""
    from sqlalchemy import create_engine, text

    raw = create_engine(url)
    with raw.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    raw.dispose()
    from db import connect

    return connect(url)


@pytest.fixture(params=["sqlite", "postgresql"])
def any_engine(request, tmp_path: Path):
    """The same test on SQLite and on PostgreSQL (the latter when IMPOSSIBLE_TEST_PG_URL is set, as in CI)."""
    if request.param == "sqlite":
        from db import connect

        eng = connect(f"sqlite:///{tmp_path / 'studio.db'}")
    else:
        url = os.environ.get(PG_URL_ENV)
        if not url:
            pytest.skip(f"{PG_URL_ENV} is not set; no PostgreSQL server to test against")
        eng = _fresh_postgres(url)
    yield eng
    eng.dispose()


@pytest.fixture(scope="module")
def one_torch_thread():
    """Tiny models gain nothing from threads, and on a busy 2-core machine two OpenMP threads spin-wait on
    each other. Apply with ``pytestmark = pytest.mark.usefixtures("one_torch_thread")``."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
