"""The curation verbs driven in-process through ``cli.main``."""

from __future__ import annotations

import json

import pytest

from cli import main
from curation.review import get_label
from tests.curation.helpers import add_scored


@pytest.fixture
def scored(engine):
    """Two survivors under the default NLI recipe, one pair with a high ROUGE-L."""
    return [add_scored(engine), add_scored(engine, nli_forward=0.8), add_scored(engine, rouge_l=0.78)]


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_stats_prints_stages_and_critics(db_url, scored, capsys):
    code, out, _ = run(capsys, "stats", "--db", db_url)
    assert code == 0
    assert "semantic critic: NLI" in out and "survivors" in out and "max rouge_l" in out


def test_export_with_overrides_prints_count_and_hash(db_url, scored, tmp_path, capsys):
    out_file = tmp_path / "pairs.jsonl"
    code, out, _ = run(capsys, "export", "--db", db_url, "--out", str(out_file), "--max", "rouge_l=0.8")
    assert code == 0 and "exported 3 pairs" in out and "semantic critic: NLI" in out
    records = [json.loads(line) for line in out_file.read_text().splitlines()]
    assert records[0]["recipe"]["max"]["rouge_l"] == 0.8
    assert f"(recipe {records[0]['recipe']['hash']})" in out


def test_export_uses_embedding_critic_without_nli_scores(db_url, engine, tmp_path, capsys):
    add_scored(engine, nli_forward=None, nli_backward=None)
    code, out, _ = run(capsys, "export", "--db", db_url, "--out", str(tmp_path / "p.jsonl"))
    assert code == 0 and "exported 1 pairs" in out
    assert "embedding cosine (no NLI model has scored this database)" in out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--min", "nli=0.9", "--max", "nli=0.5"], "Impossible thresholds"),
        (["--min", "rouge_l=abc"], "is not a number"),
        (["--min", "nli=1.5"], "out of range"),
        (["--min", "colour=0.5"], "Unknown score"),
    ],
)
def test_bad_thresholds_exit_2_with_one_line(db_url, scored, tmp_path, capsys, argv, message):
    code, _, err = run(capsys, "export", "--db", db_url, "--out", str(tmp_path / "p.jsonl"), *argv)
    assert code == 2 and message in err and err.count("\n") == 1
    assert not (tmp_path / "p.jsonl").exists()


def test_version_save_list_diff_and_export(db_url, scored, tmp_path, capsys):
    assert run(capsys, "version", "save", "--db", db_url, "--name", "strict")[0] == 0
    code, out, _ = run(capsys, "version", "save", "--db", db_url, "--name", "loose", "--max", "rouge_l=0.8")
    assert code == 0 and "3 pairs" in out
    code, out, _ = run(capsys, "version", "list", "--db", db_url)
    assert "strict" in out and "loose" in out
    code, out, _ = run(capsys, "version", "diff", "--db", db_url, "strict", "loose")
    assert "added 1, removed 0" in out and "max rouge_l: 0.75 -> 0.8" in out and f"[{scored[2]}]" in out
    code, _, err = run(capsys, "version", "save", "--db", db_url, "--name", "strict")
    assert code == 2 and "already exists" in err
    code, out, _ = run(
        capsys, "export", "--db", db_url, "--out", str(tmp_path / "v.jsonl"), "--version", "strict"
    )
    assert code == 0 and "exported 2 pairs of version strict" in out
    code, _, err = run(
        capsys, "export", "--db", db_url, "--out", str(tmp_path / "v.jsonl"), "--version", "nope"
    )
    assert code == 2 and "No version named 'nope'" in err


def test_import_good_and_bad_files(db_url, engine, tmp_path, capsys):
    good = tmp_path / "good.jsonl"
    good.write_text(json.dumps({"source": "A cat sat.", "target": "A cat was sitting."}) + "\n")
    code, out, _ = run(capsys, "import", "--db", db_url, str(good))
    assert code == 0 and "imported 1 new pairs" in out
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"source": "x", "target": "y"}\n{oops\n')
    code, _, err = run(capsys, "import", "--db", db_url, str(bad))
    assert code == 2 and "line 2: invalid JSON" in err and "nothing imported" in err


def test_label_accept_reject_clear(db_url, engine, scored, capsys):
    pair_id = scored[2]
    code, out, _ = run(capsys, "label", "--db", db_url, str(pair_id), "accept", "--note", "reads fine")
    assert code == 0 and "accepted" in out
    assert get_label(engine, pair_id)["note"] == "reads fine"
    assert run(capsys, "label", "--db", db_url, str(pair_id), "clear")[0] == 0
    assert get_label(engine, pair_id) is None
    code, _, err = run(capsys, "label", "--db", db_url, "999", "reject")
    assert code == 2 and "No pair with id 999" in err
