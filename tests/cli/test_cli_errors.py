"""Errors the user can act on end in one line on stderr, never a traceback or a dump of row data."""

from __future__ import annotations

import json
import sqlite3

import pytest

from cli import main
from db import connect
from db import engine as engine_module
from db import jobs as job_rows
from db.queries import count_pairs
from tests.db.test_engine import _corrupt_a_middle_page


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def one_line(err: str) -> str:
    assert err.count("\n") == 1 and err.startswith("error: "), err
    return err


def test_stats_on_a_file_that_is_not_a_database(tmp_path, capsys):
    notes = tmp_path / "notes.txt"
    notes.write_text("shopping list\n" * 500)
    code, _, err = run(capsys, "stats", "--db", str(notes))
    assert code == 2 and "Not a database" in one_line(err)


@pytest.fixture
def corrupt_db(tmp_path):
    path = tmp_path / "studio.db"
    run_import = tmp_path / "many.jsonl"
    run_import.write_text(
        "".join(
            json.dumps({"source": f"Source {i} " * 5, "target": f"Target {i} " * 5}) + "\n"
            for i in range(1000)
        )
    )
    assert main(["import", "--db", str(path), str(run_import)]) == 0
    _corrupt_a_middle_page(path)
    return path


@pytest.mark.parametrize(
    "argv",
    [
        ["stats"],
        ["export", "--out", "{tmp}/out.jsonl"],
        ["import", "{tmp}/good.jsonl"],
    ],
)
def test_a_corrupt_database_is_refused_by_every_verb(corrupt_db, tmp_path, capsys, argv):
    (tmp_path / "good.jsonl").write_text(
        json.dumps({"source": "A new one.", "target": "A fresh one."}) + "\n"
    )
    capsys.readouterr()
    argv = [a.format(tmp=tmp_path) for a in argv]
    code, out, err = run(capsys, argv[0], "--db", str(corrupt_db), *argv[1:])
    assert code == 2 and "is corrupt (quick_check:" in one_line(err)
    assert not (tmp_path / "out.jsonl").exists()


def test_import_on_a_full_disk_is_one_line_without_row_data(tmp_path, capsys, monkeypatch):
    path = tmp_path / "studio.db"
    connect(f"sqlite:///{path}").dispose()
    pages = sqlite3.connect(path).execute("PRAGMA page_count").fetchone()[0]
    pragmas = engine_module._sqlite_pragmas

    def nearly_full(dbapi_connection, record):  # SQLite's own "database or disk is full" past this size
        pragmas(dbapi_connection, record)
        dbapi_connection.execute(f"PRAGMA max_page_count={pages + 4}")

    monkeypatch.setattr(engine_module, "_sqlite_pragmas", nearly_full)
    big = tmp_path / "big.jsonl"
    big.write_text(
        "".join(
            json.dumps({"source": f"PRIVATE {i} " * 20, "target": f"Text {i} " * 20}) + "\n"
            for i in range(3000)
        )
    )
    code, _, err = run(capsys, "import", "--db", str(path), str(big))
    assert code == 1 and "Disk full" in one_line(err) and "PRIVATE" not in err and "INSERT" not in err
    monkeypatch.setattr(engine_module, "_sqlite_pragmas", pragmas)
    assert count_pairs(connect(str(path))) == 0  # one transaction: nothing half-imported


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--temperature", "nan"], "temperature must be a number from 0.01 to 5, got nan"),
        (["--temperature", "inf"], "temperature must be a number from 0.01 to 5, got inf"),
        (["--samples", "100000"], "samples must be a whole number from 2 to 1,000"),
        (["--max-new-tokens", "100000000"], "max_new_tokens must be a whole number from 1 to 2,048"),
        (["--corpus", "{tmp}/empty.txt"], "holds no text"),
        (["--corpus", "{tmp}/bad.jsonl"], "bad.jsonl, line 1: invalid JSON"),
        (["--corpus", "{tmp}/binary.txt"], "looks binary"),
    ],
)
def test_generate_background_refuses_bad_values_before_queueing(
    db_url, engine, tmp_path, capsys, extra, message
):
    (tmp_path / "empty.txt").write_text("\n\n")
    (tmp_path / "bad.jsonl").write_text("{oops\n")
    (tmp_path / "binary.txt").write_bytes(b"\x7fELF\x02\x01\x01\x00\x00")
    argv = ["generate", "--db", db_url, "--background", *[a.format(tmp=tmp_path) for a in extra]]
    code, out, err = run(capsys, *argv)
    assert code == 2 and message in one_line(err) and "queued" not in out
    assert job_rows.recent(engine) == []


def test_generate_on_a_full_disk_is_one_line_without_row_data(tmp_path, capsys, monkeypatch):
    from tests.pipeline.scripted_teacher import build_scripted_teacher

    teacher = build_scripted_teacher(tmp_path / "teacher")
    capsys.readouterr()  # the checkpoint writer's progress bar
    path = tmp_path / "studio.db"
    connect(f"sqlite:///{path}").dispose()
    pages = sqlite3.connect(path).execute("PRAGMA page_count").fetchone()[0]
    pragmas = engine_module._sqlite_pragmas

    def nearly_full(dbapi_connection, record):
        pragmas(dbapi_connection, record)
        dbapi_connection.execute(f"PRAGMA max_page_count={pages + 4}")

    monkeypatch.setattr(engine_module, "_sqlite_pragmas", nearly_full)
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(
        "".join(f"PRIVATE context number {i} said something long. " * 4 + "\n" for i in range(400))
    )
    argv = [
        "generate",
        "--db",
        str(path),
        "--teacher",
        str(teacher),
        "--corpus",
        str(corpus),
        "--device",
        "cpu",
    ]
    code, out, err = run(capsys, *argv)
    assert code == 1 and "PRIVATE" not in out + err and "INSERT" not in out + err
    assert "error: Disk full: the database could not be written" in out + err
    assert len((out + err).strip().splitlines()) <= 3  # job id, status, the one-line error
    monkeypatch.setattr(engine_module, "_sqlite_pragmas", pragmas)
    job = job_rows.get(connect(str(path)), 1)
    assert job["status"] == "failed" and "PRIVATE" not in job["error"] + job["log"]
