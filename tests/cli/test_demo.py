"""``impossible demo`` runs the whole headless loop with the embedded models (what `make demo` does)."""

import json

import pytest

from cli import main

pytestmark = pytest.mark.real_models


def test_demo_generates_scores_and_exports_with_the_embedded_models(db_url, tmp_path, capsys):
    from models.loading import ModelLoadError, embedded_embedder_dir, embedded_teacher_gguf

    try:
        embedded_teacher_gguf(), embedded_embedder_dir()
    except ModelLoadError as exc:
        pytest.skip(str(exc))
    out = tmp_path / "demo.jsonl"
    assert main(["demo", "--db", db_url, "--contexts", "2", "--samples", "6", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "[generate] job 1 done" in printed and "[score] job 2 done" in printed
    assert "semantic critic: embedding cosine" in printed
    assert out.exists()
    exported = int(printed.split("exported ")[1].split()[0])
    lines = out.read_text().splitlines()
    assert len(lines) == exported
    for line in lines:
        record = json.loads(line)
        assert record["scores"]["embed_cosine"] >= 0.8 and record["recipe"]["hash"]
