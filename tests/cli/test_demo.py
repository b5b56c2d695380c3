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
    floor = 0.8  # the default recipe's embedding threshold
    if exported == 0:  # a 135M teacher on two contexts often makes no pair the paper's recipe keeps
        assert "no pair passed the default recipe" in printed
        # then export what the demo made with every threshold open, so the records below are checked
        out, floor = tmp_path / "open.jsonl", 0.0
        loose = ["--min", "embed=0", "--min", "numbers=0", "--min", "length=0", "--max", "length=1000"]
        assert main(["export", "--db", db_url, "--out", str(out), "--max", "rouge=1", *loose]) == 0
        lines = out.read_text().splitlines()
    assert lines, printed  # the checks below must see at least one exported pair
    for line in lines:
        record = json.loads(line)
        assert record["scores"]["embed_cosine"] >= floor and record["recipe"]["hash"]
