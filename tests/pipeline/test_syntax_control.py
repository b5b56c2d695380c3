"""Syntax-controlled mode: templated training pairs, TED-R, and a tiny syntax-controlled run trained and
evaluated end to end with real link-grammar parses beside an unconstrained run and copy-input."""

from __future__ import annotations

import json

import pytest

from cli import main
from db import jobs as job_rows
from db import runs
from db.parses import parse_of
from models.trees import Tree
from pipeline.runner import UserError
from pipeline.syntax_control import SEPARATOR, controlled_source, read_exemplars, ted_r, templated_pairs
from tests.models.test_parser import needs_lg
from tests.pipeline.students import make_version, run_train_job, train_params


class ShapeParser:
    """S over one NP per word; rejects sentences containing REJECT."""

    name = "link-grammar"

    def parse(self, text):
        from models.parser import ParseError

        if "REJECT" in text:
            raise ParseError("no parse")
        return Tree("S", tuple(Tree("NP", (Tree("n"),)) for _ in text.split()))


def test_templated_pairs_read_source_plus_target_template_and_drop_rejected_targets(engine):
    pairs = [("A cat sat.", "The cat was sitting."), ("Rain fell.", "It REJECT rained.")]
    kept, dropped = templated_pairs(engine, ShapeParser(), pairs)
    assert dropped == 1
    assert kept == [("A cat sat." + SEPARATOR + "(S (NP n) (NP n) (NP n) (NP n))", "The cat was sitting.")]
    assert parse_of(engine, "link-grammar", "It REJECT rained.").error == "no parse"


def test_ted_r_compares_the_output_top_levels_with_the_template(engine):
    wanted = "(S (NP n) (NP n))"
    found = ted_r(engine, ShapeParser(), ["Two words.", "Now three words.", "REJECT this"], [wanted] * 3)
    assert found.rows == [0.0, 2.0, None]  # one more NP with its leaf: two insertions
    assert found.mean == 1.0
    assert controlled_source("x", wanted) == "x <syntax> (S (NP n) (NP n))"


def test_exemplars_come_one_per_row_from_text_or_jsonl_and_a_short_file_is_refused(tmp_path):
    text = tmp_path / "exemplars.txt"
    text.write_text("First shape here.\nSecond one.\nA third.\n")
    assert read_exemplars(str(text), 2) == ["First shape here.", "Second one."]  # --limit: the first rows
    jsonl = tmp_path / "exemplars.jsonl"
    jsonl.write_text('{"exemplar": "One."}\n\n{"text": "Two."}\n')
    assert read_exemplars(str(jsonl), 2) == ["One.", "Two."]
    with pytest.raises(UserError, match="holds 3 exemplar.*has 4 row"):
        read_exemplars(str(text), 4)
    jsonl.write_text('{"exemplar": "One."}\n{"id": 2}\n')
    with pytest.raises(UserError, match="line 2: not a JSON object"):
        read_exemplars(str(jsonl), 2)
    text.write_text("One.\n\nThree.\n")
    with pytest.raises(UserError, match="line 2 is empty"):
        read_exemplars(str(text), 3)
    with pytest.raises(UserError, match="does not exist"):
        read_exemplars(str(tmp_path / "missing.txt"), 1)


@needs_lg
@pytest.mark.usefixtures("one_torch_thread")
def test_a_tiny_syntax_controlled_run_end_to_end(engine, db_url, tiny_seq2seq, tmp_path, capsys):
    make_version(engine)
    plain_job, status = run_train_job(engine, train_params(tiny_seq2seq, output_dir=str(tmp_path / "plain")))
    assert status == "done"
    job_id, status = run_train_job(
        engine, train_params(tiny_seq2seq, output_dir=str(tmp_path / "syntax"), syntax=True)
    )
    assert status == "done", job_rows.get(engine, job_id)["error"]
    run = runs.run_for_job(engine, job_id)
    assert run["config"]["syntax"] is True
    assert "6 pairs with a target template" in job_rows.get(engine, job_id)["log"]

    bench = tmp_path / "bench.jsonl"
    rows = [
        ("The company said profits fell sharply.", "Profits fell sharply, the company said."),
        ("Storms flooded the town on Monday.", "On Monday, the town was flooded by storms."),
        ("She won the race easily.", "She easily won the race."),
    ]
    bench.write_text("".join(json.dumps({"src": s, "trg": t}) + "\n" for s, t in rows))
    argv = ["evaluate", "--db", db_url, "--benchmark", str(bench), "--format", "jsonl", "--embedder", ""]
    argv += ["--max-new-tokens", "6"]
    assert main([*argv, "--run", str(run["id"])]) == 0
    table = capsys.readouterr().out
    assert "TED-R" in table and "copy_input" in table
    plain = runs.run_for_job(engine, plain_job)
    assert main([*argv, "--run", str(plain["id"])]) == 0

    evaluations = {(e["run_id"], e["system"]): e for e in runs.list_evaluations(engine, with_examples=True)}
    syntax_student = evaluations[(run["id"], "student")]
    assert "ted_r" in syntax_student["metrics"] and all("ted_r" in e for e in syntax_student["examples"])
    assert evaluations[(run["id"], "copy_input")]["metrics"]["ted_r"] > 0  # source shape vs reference's
    assert "ted_r" in evaluations[(plain["id"], "student")]["metrics"]  # the unconstrained student too
    evaluate_log = job_rows.get(engine, syntax_student["metrics"]["job_id"])["log"]
    assert "syntax-controlled run: 3 of 3 rows have a template" in evaluate_log
    assert syntax_student["metrics"]["templates"] == "references"

    # exemplar-controlled: each row's template is its exemplar's shape, so copy-input's TED-R changes
    exemplars = tmp_path / "exemplars.txt"
    exemplars.write_text("".join(source + "\n" for source, _ in rows))  # the source's own shape
    assert main([*argv, "--run", str(run["id"]), "--syntax", "--exemplars", str(exemplars)]) == 0
    assert "TED-R" in capsys.readouterr().out
    by_exemplar = [e for e in runs.list_evaluations(engine, with_examples=True)
                   if e["metrics"].get("templates") == str(exemplars)]  # fmt: skip
    assert {e["system"] for e in by_exemplar} == {"student", "copy_input"}
    copy = next(e for e in by_exemplar if e["system"] == "copy_input")
    assert copy["metrics"]["ted_r"] == 0.0  # the source against its own template
    exemplars.write_text("Only one exemplar.\n")
    assert main([*argv, "--run", str(run["id"]), "--exemplars", str(exemplars)]) == 1
    assert "holds 1 exemplar(s), but the benchmark has 3 row(s)" in capsys.readouterr().out
    json.dumps(syntax_student["metrics"])  # stored metrics stay plain JSON
