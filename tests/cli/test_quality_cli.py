"""``impossible import --format``, ``agreement``: driven in-process through ``cli.main``."""

from __future__ import annotations

from cli import main

MRPC_ROWS = [
    ("1", "The cat sat on the mat today.", "Today the cat sat on the mat."),
    ("1", "Shares rose sharply on Monday.", "On Monday shares rose sharply."),
    ("0", "The vote was delayed again.", "Rain is expected in the north."),
    ("0", "He sold the company in 1998.", "Her new film opens in June."),
]


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def write_mrpc(path, rows=MRPC_ROWS):
    path.write_text("".join(f"{q}\t{i}\t{i + 100}\t{a}\t{b}\n" for i, (q, a, b) in enumerate(rows)))
    return path


def test_import_mrpc_then_agreement_prints_auc_lines(db_url, tmp_path, capsys):
    code, out, _ = run(
        capsys, "import", "--db", db_url, "--format", "mrpc", str(write_mrpc(tmp_path / "m.txt"))
    )
    assert code == 0 and "imported 4 new pairs" in out and "human labels: 2 accept, 2 reject" in out
    assert run(capsys, "score", "--db", db_url, "--embedder", "none")[0] == 0
    code, out, _ = run(capsys, "agreement", "--db", db_url, "--bootstrap", "20")
    assert code == 0 and "4 labelled pairs" in out
    lines = out.splitlines()
    assert {line.split("=")[0] for line in lines if line.startswith("auc_")} >= {
        "auc_rouge_l",
        "auc_length_ratio",
    }
    assert "auc_embed_cosine=nan" in lines  # no embedder ran: every labelled pair unscored, counted
    row = next(line for line in lines if line.startswith("embed_cosine"))
    assert row.split()[1:3] == ["0", "4"]


def test_agreement_without_labels_is_one_line_error(db_url, capsys):
    code, _, err = run(capsys, "agreement", "--db", db_url)
    assert code == 2 and err.startswith("error: No paraphrase pair has a human label")


def test_bad_mrpc_line_is_reported_by_number(db_url, tmp_path, capsys):
    path = tmp_path / "m.txt"
    path.write_text("1\t1\t2\tA.\tB.\nx\t1\t2\tA.\tB.\n")
    code, _, err = run(capsys, "import", "--db", db_url, "--format", "mrpc", str(path))
    assert code == 2 and "line 2: quality 'x' must be 0 or 1" in err and "nothing imported" in err


def test_report_prints_two_versions_beside_dimple(db_url, tmp_path, capsys):
    run(capsys, "import", "--db", db_url, "--format", "mrpc", str(write_mrpc(tmp_path / "m.txt")))
    assert run(capsys, "score", "--db", db_url, "--embedder", "none")[0] == 0
    run(
        capsys,
        "version",
        "save",
        "--db",
        db_url,
        "--name",
        "all",
        "--min",
        "length=0",
        "--max",
        "length=3",
        "--max",
        "rouge=1",
        "--min",
        "numbers=0",
        "--no-dedup",
    )
    run(capsys, "version", "save", "--db", db_url, "--name", "none", "--min", "embed=1")
    code, out, _ = run(capsys, "report", "--db", db_url, "--version", "all", "--compare", "none")
    lines = out.splitlines()
    assert code == 0 and lines[0].split()[:3] == ["version", "pairs", "source_len"]
    assert [line.split()[0] for line in lines[1:3]] == ["all", "none"] and lines[3].startswith(
        "DIMPLE (paper)"
    )
    # accepted pairs are in every version, rejected ones in none
    assert lines[1].split()[1] == lines[2].split()[1] == "2"
    code, _, err = run(capsys, "report", "--db", db_url, "--version", "missing")
    assert code == 2 and err.startswith("error:")
