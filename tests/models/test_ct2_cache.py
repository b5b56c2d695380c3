"""The CTranslate2 conversion cache: complete or absent, never half-written, and converted again after a
failed or killed conversion."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import models.ct2 as ct2
from tests.tiny_models import build_tiny_causal_lm

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def source(tmp_path):
    return str(build_tiny_causal_lm(tmp_path / "tiny"))


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setattr(ct2, "CACHE_DIR", tmp_path / "cache")
    ct2._load_cached.cache_clear()
    yield tmp_path / "cache"
    ct2._load_cached.cache_clear()


def leftovers(target: Path) -> list[Path]:
    return list(target.parent.glob(f".{target.name}*")) if target.parent.exists() else []


def test_the_quantization_is_part_of_the_cache_key(source, cache):
    assert ct2.cache_dir(source, "int8") != ct2.cache_dir(source, "int8_float16")
    assert ct2.cache_dir(source, "int8").name.endswith("-int8")


def test_a_failed_conversion_leaves_nothing_and_the_next_load_converts(source, cache, monkeypatch):
    real = ct2._run_converter
    calls = []

    def half_then_fail(src, output, quantization):
        calls.append(quantization)
        (output / "model.bin").write_bytes(b"half")
        raise RuntimeError("disk full")

    monkeypatch.setattr(ct2, "_run_converter", half_then_fail)
    with pytest.raises(ct2.ModelLoadError, match="disk full"):
        ct2.load_ct2_teacher(source, "cpu")
    target = ct2.cache_dir(source, "int8")
    assert not target.exists() and leftovers(target) == []

    ct2._load_cached.cache_clear()
    monkeypatch.setattr(ct2, "_run_converter", lambda *a: calls.append("real") or real(*a))
    teacher = ct2.load_ct2_teacher(source, "cpu")
    assert calls == ["int8", "real"] and teacher.model_dir == target and ct2.is_complete(target)

    ct2._load_cached.cache_clear()
    started = time.perf_counter()
    ct2.load_ct2_teacher(source, "cpu")  # from the cache: no conversion
    assert calls == ["int8", "real"] and time.perf_counter() - started < 5


HANGING_CONVERSION = """
import sys, time
from pathlib import Path
import models.ct2 as ct2
ct2.CACHE_DIR = Path(sys.argv[2])
def hang(src, output, quantization):
    (output / "model.bin").write_bytes(b"half")
    print("writing", flush=True)
    time.sleep(600)
ct2._run_converter = hang
ct2.convert(sys.argv[1], ct2.cache_dir(sys.argv[1], "int8"), "int8")
"""


def test_a_killed_conversion_leaves_no_model_and_the_next_load_converts_again(source, cache):
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-c", HANGING_CONVERSION, source, str(cache)],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout.readline().strip() == "writing"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    target = ct2.cache_dir(source, "int8")
    assert not target.exists()  # never a half model under the real name
    assert len(leftovers(target)) == 1  # the dead process's temporary folder

    teacher = ct2.load_ct2_teacher(source, "cpu")
    assert ct2.is_complete(teacher.model_dir) and leftovers(target) == []
