"""The ted critic in the score job: parses stored once per sentence, a rejected sentence recorded and the
job going on, the parser's absence, a migrated old database, and real link-grammar end to end."""

import pytest
from sqlalchemy import func, inspect, select

from cli import main as cli_main
from db import connect
from db import jobs as job_rows
from db.parses import parse_of
from db.queries import insert_pairs
from db.schema import pairs, parses
from db.types import Pair
from models.parser import ParseError, ParserLoadError
from models.trees import Tree
from pipeline import runner
from pipeline.critics import syntax
from tests.models.test_parser import needs_lg


class WordCountParser:
    """S over one leaf per word: the TED of two sentences is the difference of their word counts.
    Rejects any sentence containing REJECT; records each text it parses."""

    name = "link-grammar"

    def __init__(self):
        self.parsed: list[str] = []

    def parse(self, text):
        self.parsed.append(text)
        if "REJECT" in text:
            raise ParseError("no parse for this one")
        return Tree("S", tuple(Tree("w") for _ in text.split()))


@pytest.fixture
def fake_parser(monkeypatch):
    parser = WordCountParser()
    monkeypatch.setattr(syntax, "open_parser", lambda spec: parser)
    monkeypatch.setattr(syntax, "import_linkgrammar", lambda: None)
    return parser


def add(engine, *items):
    with engine.begin() as conn:
        insert_pairs(conn, items)


def score(engine, **params):
    job_id = job_rows.submit(engine, "score", {"embedder": None, "parser": "link-grammar", **params})
    runner.run_job(engine, job_id)
    return job_rows.get(engine, job_id)


def rows_of(engine):
    """Stored pairs by (source, target)."""
    with engine.connect() as conn:
        return {(r["source"], r["target"]): r for r in conn.execute(select(pairs)).mappings()}


A = "Storms flooded the coastal town on Monday."
B = "On Monday, storms flooded the town on the coast."  # 9 words vs 7
C = "The town on the coast was flooded by storms on Monday."  # 11 words
REJECTED = "Storms REJECT the town flooded Monday."


def test_ted_fills_every_gated_paraphrase_pair_and_parses_each_sentence_once(any_engine, fake_parser):
    add(any_engine, Pair(A, B), Pair(A, C), Pair(B, C), Pair(A, A + " Again."))
    add(any_engine, Pair(C + " It rained for days and days.", "Storms flooded the town.", task="summary"))
    job = score(any_engine)
    assert job["status"] == "done", job["error"]
    rows = rows_of(any_engine)
    assert [rows[(A, B)]["ted"], rows[(A, C)]["ted"], rows[(B, C)]["ted"]] == [2.0, 4.0, 2.0]
    assert rows[(A, A + " Again.")]["ted"] is None  # rouge_l above the pre-gate: no parse for it
    summary = next(r for r in rows.values() if r["task"] == "summary")
    assert summary["ted"] is None  # summary pairs have no syntax critic
    assert sorted(fake_parser.parsed) == sorted({A, B, C})  # three sentences, three pairs, three parses
    stored = parse_of(any_engine, "link-grammar", B)
    assert stored.tree == "(S w w w w w w w w w)" and stored.error is None


def test_a_rejected_sentence_is_recorded_and_the_job_goes_on(engine, fake_parser):
    add(engine, Pair(A, REJECTED), Pair(A, B), Pair(REJECTED, B))
    job = score(engine)
    assert job["status"] == "done", job["error"]
    rows = rows_of(engine)
    assert rows[(A, REJECTED)]["ted"] is None
    assert rows[(A, REJECTED)]["ted_error"] == "the parser rejected the target: no parse for this one"
    assert rows[(REJECTED, B)]["ted_error"] == "the parser rejected the source: no parse for this one"
    assert rows[(A, B)]["ted"] == 2.0 and rows[(A, B)]["ted_error"] is None
    assert parse_of(engine, "link-grammar", REJECTED).error == "no parse for this one"
    parsed = len(fake_parser.parsed)
    assert score(engine)["status"] == "done"
    assert len(fake_parser.parsed) == parsed  # neither the rejected sentence nor any other is parsed again


def test_a_sentence_parsed_by_an_earlier_job_is_not_parsed_again(engine, fake_parser):
    add(engine, Pair(A, B))
    score(engine)
    add(engine, Pair(A, C))  # A was parsed by the first job
    score(engine)
    assert sorted(fake_parser.parsed) == sorted([A, B, C])
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(parses)).scalar_one() == 3


def test_explicit_parser_missing_fails_the_job_with_one_sentence(engine, monkeypatch):
    def missing():
        raise ParserLoadError(
            "Cannot load parser 'link-grammar': the linkgrammar module is missing; install X."
        )

    monkeypatch.setattr(syntax, "import_linkgrammar", missing)
    add(engine, Pair(A, B))
    job = score(engine)
    assert job["status"] == "failed"
    assert job["error"].splitlines()[0].endswith("the linkgrammar module is missing; install X.")


def test_auto_without_a_parser_skips_ted_and_says_so(engine, monkeypatch):
    def missing():
        raise ParserLoadError("missing")

    monkeypatch.setattr(syntax, "import_linkgrammar", missing)
    add(engine, Pair(A, B))
    job = score(engine, parser="auto")
    assert job["status"] == "done"
    row = rows_of(engine)[(A, B)]
    assert row["ted"] is None and row["length_ratio"] is not None
    assert "ted stays NULL" in job["log"]


def test_unknown_parser_is_refused_before_queueing(db_url, capsys):
    assert cli_main(["score", "--db", db_url, "--embedder", "none", "--parser", "stanza"]) == 2
    assert "Unknown parser 'stanza'" in capsys.readouterr().err


def test_a_database_made_before_the_ted_critic_migrates(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    with connect(url).begin() as conn:  # take the ted critic's migration back out
        conn.exec_driver_sql("DROP INDEX ix_pairs_ted")
        conn.exec_driver_sql("ALTER TABLE pairs DROP COLUMN ted")
        conn.exec_driver_sql("ALTER TABLE pairs DROP COLUMN ted_error")
        conn.exec_driver_sql("DROP TABLE parses")
        conn.exec_driver_sql("DELETE FROM schema_migrations WHERE name = '0007_syntax_parses'")
    engine = connect(url)
    columns = {c["name"] for c in inspect(engine).get_columns("pairs")}
    assert {"ted", "ted_error"} <= columns
    assert "parses" in inspect(engine).get_table_names()


@needs_lg
def test_impossible_score_with_link_grammar_fills_ted(db_url, capsys):
    engine = connect(db_url)
    add(
        engine,
        Pair("The cat sat on the mat.", "On the mat, the cat was sitting."),
        Pair("Profits fell sharply in the third quarter.", "In the third quarter, profits dropped a lot."),
        Pair("The cat sat on the mat.", "the the the the of of of"),
    )
    assert cli_main(["score", "--db", db_url, "--embedder", "none", "--parser", "link-grammar"]) == 0
    rows = {target: row for (_, target), row in rows_of(engine).items()}
    assert rows["On the mat, the cat was sitting."]["ted"] > 0
    assert rows["In the third quarter, profits dropped a lot."]["ted"] > 0
    assert "rejected the target" in rows["the the the the of of of"]["ted_error"]


class BracketParser(WordCountParser):
    """A parenthesis is its own leaf label, as link-grammar's punctuation is."""

    def parse(self, text):
        self.parsed.append(text)
        return Tree("S", tuple(Tree(word if word in "()" else "w") for word in text.split()))


def test_a_parenthesis_in_a_sentence_stores_a_tree_that_reads_back_and_an_unreadable_one_is_redone(engine):
    from db.parses import StoredParse, store_parses

    text = "Profits ( after tax fell ."
    parser = BracketParser()
    with engine.begin() as conn:  # what a studio before the escaping stored: "(" as a bare label
        store_parses(conn, "link-grammar", {text: StoredParse("(S w ( w w w)", None)})
    found = syntax.parse_all(engine, parser, [text])
    assert parser.parsed == [text]  # the unreadable stored tree was parsed again
    assert found[text].tree == "(S w -LRB- w w w w)"
    assert parse_of(engine, "link-grammar", text).tree == found[text].tree  # and stored in its place
    syntax.parse_all(engine, parser, [text])
    assert parser.parsed == [text]  # once readable, never again
