"""Benchmark readers: every shared format, generic JSONL/TSV, and clear errors for the wrong format."""

from __future__ import annotations

import pytest

from models.benchmarks import BenchmarkFormatError, detect_format, read_benchmark


def test_mrpc_keeps_quality_1_rows_sentence1_as_source(benchmarks_dir):
    bench = read_benchmark(benchmarks_dir / "mrpc" / "msr_paraphrase_test.txt", "mrpc")
    assert len(bench.rows) == 1147 and bench.format == "mrpc"
    assert bench.rows[0].source.startswith("PCCW's chief operating officer")  # BOM stripped
    assert bench.rows[0].reference.startswith("Current Chief Operating Officer")


def test_qqp_jsonl_without_trailing_newline(benchmarks_dir):
    bench = read_benchmark(benchmarks_dir / "qqp" / "valid.jsonl")
    assert bench.format == "jsonl" and len(bench.rows) == 2048
    assert bench.rows[-1].line == 2048 and bench.rows[0].source.startswith("Why does he want")


def test_parallel_line_files_by_folder_or_input_file(benchmarks_dir):
    folder = benchmarks_dir / "google_compression"
    by_folder = read_benchmark(folder, limit=3)
    by_file = read_benchmark(folder / "input.txt", "lines", limit=3)
    assert by_folder.rows == by_file.rows and len(by_folder.rows) == 3
    assert by_folder.rows[0].reference.startswith("Five people have been taken to hospital")


def test_generic_jsonl_and_tsv(tmp_path):
    jsonl = tmp_path / "mine.jsonl"
    jsonl.write_text(
        '{"source": "a b", "target": "c d", "task": "paraphrase"}\n\n{"source": "e", "target": "f"}'
    )
    assert [(r.source, r.reference, r.line) for r in read_benchmark(jsonl).rows] == [
        ("a b", "c d", 1),
        ("e", "f", 3),
    ]
    tsv = tmp_path / "mine.tsv"
    tsv.write_text("source\ttarget\nx y\tz w\n")
    assert detect_format(tsv) == "tsv" and read_benchmark(tsv).rows[0].reference == "z w"


@pytest.mark.parametrize(
    ("relative", "fmt", "message"),
    [
        ("mrpc/msr_paraphrase_test.txt", "jsonl", "line 1: not valid JSON"),
        ("qqp/valid.jsonl", "mrpc", "line 1: expected 5 tab-separated fields, found 1"),
        ("qqp/valid.jsonl", "tsv", "line 1: expected 2 tab-separated fields"),
        ("mrpc/msr_paraphrase_test.txt", "lines", "need gold.txt"),
    ],
)
def test_wrong_format_is_a_clear_error(benchmarks_dir, relative, fmt, message):
    with pytest.raises(BenchmarkFormatError, match=message):
        read_benchmark(benchmarks_dir / relative, fmt)


def test_bad_rows_name_their_line(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"src": "a", "trg": "b"}\n{"question": "a"}\n')
    with pytest.raises(BenchmarkFormatError, match=r"bad.jsonl, line 2: expected keys"):
        read_benchmark(bad)
    mrpc = tmp_path / "mrpc.txt"
    mrpc.write_text("1\t1\t2\ta\tb\nyes\t1\t2\ta\tb\n")
    with pytest.raises(BenchmarkFormatError, match="line 2: quality must be 0 or 1"):
        read_benchmark(mrpc, "mrpc")
    (tmp_path / "input.txt").write_text("a\nb\n")
    (tmp_path / "gold.txt").write_text("a\n")
    with pytest.raises(BenchmarkFormatError, match="has 2 lines but .* has 1"):
        read_benchmark(tmp_path, "lines")


def test_missing_file_unknown_format_and_bad_limit(tmp_path):
    with pytest.raises(BenchmarkFormatError, match="does not exist"):
        read_benchmark(tmp_path / "nope.tsv")
    (tmp_path / "x.tsv").write_text("a\tb\n")
    with pytest.raises(BenchmarkFormatError, match="Unknown benchmark format 'csv'"):
        read_benchmark(tmp_path / "x.tsv", "csv")
    with pytest.raises(BenchmarkFormatError, match="--limit must be a positive"):
        read_benchmark(tmp_path / "x.tsv", limit=0)
