"""The studio's gradio-free helpers: form checks, the controls <-> recipe mapping, job rows, drawings."""

from __future__ import annotations

import datetime as dt

import pytest

from curation.recipe import Recipe
from ui.forms import FormError, as_float, as_int, file_inside, model_spec
from ui.job_forms import generate_command, generation_params, score_command, score_params
from ui.jobview import eta_text, job_summary, job_table
from ui.plots import histogram_svg, histograms_html
from ui.recipe_controls import N_CONTROLS, THRESHOLDS, controls_from_recipe, recipe_from_controls


@pytest.mark.parametrize("value", ["abc", None, "", float("nan"), "inf", [1]])
def test_as_float_rejects_non_numbers_with_the_field_name(value):
    with pytest.raises(FormError, match="Temperature"):
        as_float(value, "Temperature")


def test_as_float_and_as_int_check_ranges():
    assert as_float(" 0.5 ", "x", low=0, high=1) == 0.5
    with pytest.raises(FormError, match="out of range"):
        as_float(1.5, "x", low=0, high=1)
    assert as_int("3", "n") == 3 and as_int(3.0, "n") == 3
    with pytest.raises(FormError, match="whole number"):
        as_int(2.5, "n")
    with pytest.raises(FormError, match="between 1 and"):
        as_int(-4, "Samples per context", low=1)


def test_model_spec_accepts_embedded_and_hub_ids_but_not_missing_paths(tmp_path, monkeypatch):
    from models import availability

    assert model_spec("embedded", "teacher") == "embedded"
    monkeypatch.setattr(availability, "hub_reachable", lambda: True)
    assert model_spec("HuggingFaceTB/SmolLM2-135M", "teacher") == "HuggingFaceTB/SmolLM2-135M"
    assert model_spec(str(tmp_path), "teacher") == str(tmp_path)
    with pytest.raises(FormError, match="does not exist"):
        model_spec(str(tmp_path / "nope"), "teacher")
    with pytest.raises(FormError, match="does not exist"):
        model_spec("model.gguf", "teacher")
    assert model_spec("", "NLI", allow_empty=True) == ""
    with pytest.raises(FormError, match="Give a teacher"):
        model_spec("  ", "teacher")


def test_file_inside_refuses_paths_outside_the_upload_folder(tmp_path):
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    (uploads / "c.txt").write_text("x")
    (tmp_path / "secret.txt").write_text("x")
    assert file_inside(uploads / "c.txt", uploads, "corpus").endswith("c.txt")
    with pytest.raises(FormError, match="uploaded through the studio"):
        file_inside(uploads / ".." / "secret.txt", uploads, "corpus")
    with pytest.raises(FormError, match="Upload a corpus"):
        file_inside("", uploads, "corpus")


def test_controls_round_trip_every_default_recipe():
    for task in ("paraphrase", "summary"):
        for semantic in ("nli", "embedding"):
            recipe = Recipe.default(task, semantic)
            values = controls_from_recipe(recipe)
            assert len(values) == N_CONTROLS
            assert recipe_from_controls(values) == recipe


def test_controls_switch_checks_off_and_name_bad_values():
    values = controls_from_recipe(Recipe.default("paraphrase", "embedding"))
    rouge = 3 + 2 * [t.column for t in THRESHOLDS].index("rouge_l")
    values[rouge] = False
    assert "rouge_l" not in recipe_from_controls(values).max
    values[rouge], values[rouge + 1] = True, "abc"
    with pytest.raises(FormError, match="ROUGE-L.*must be a number, not 'abc'"):
        recipe_from_controls(values)
    values[rouge + 1] = 1.7
    with pytest.raises(FormError, match="out of range"):
        recipe_from_controls(values)
    values[rouge + 1] = 0.7
    values[0] = "translation"
    with pytest.raises(FormError, match="Task must be one of"):
        recipe_from_controls(values)


def test_generation_params_validate_every_field(tmp_path):
    good = dict(
        teacher="embedded", task="paraphrase", context_source="teacher", corpus="", contexts=20,
        samples=16, temperature=0.5, top_p=0.9, seed=None, device="auto", upload_dir=tmp_path,
    )  # fmt: skip
    params = generation_params(**good)
    assert params["contexts"] == 20 and params["samples"] == 16 and "corpus" not in params
    for field, bad, message in [
        ("samples", -3, "samples must be a whole number from 2 to 1,000, got -3"),
        ("samples", 100_000, "samples must be a whole number from 2 to 1,000"),  # the job's own limits
        ("temperature", 50, "temperature must be a number from 0.01 to 5"),
        ("temperature", "nan", "Temperature must be a finite number"),
        ("contexts", "abc", "Number of contexts must be a number"),
        ("top_p", 1.5, "top_p must be a number from 0.01 to 1"),
        ("teacher", "/no/such/model", "does not exist"),
        ("context_source", "corpus", "Upload a corpus"),
    ]:
        with pytest.raises(FormError, match=message):
            generation_params(**{**good, field: bad})
    command = generate_command("sqlite:///s.db", params)
    assert command.startswith("impossible generate --db sqlite:///s.db --teacher embedded --task paraphrase")


def test_score_params_use_the_score_jobs_own_validation():
    params = score_params(nli="", embedder="embedded", batch_size=64, device="cpu")
    assert params == {"nli": None, "embedder": "embedded", "batch_size": 64, "device": "cpu"}
    assert score_command("sqlite:///s.db", params) == (
        "impossible score --db sqlite:///s.db --embedder embedded --batch-size 64 --device cpu"
    )
    with pytest.raises(FormError, match="Batch size"):
        score_params(nli="", embedder="none", batch_size=0, device="cpu")


def test_job_table_shows_progress_rate_and_eta():
    now = dt.datetime(2026, 1, 1, 12, 0, 0)
    phase = {"name": "generating", "unit": "samples", "done": 30, "total": 90, "from": 0,
             "since": (now - dt.timedelta(seconds=60)).isoformat()}  # fmt: skip
    row = {
        "id": 7, "kind": "generate", "status": "running", "progress_done": 30, "progress_total": 90,
        "started_at": now - dt.timedelta(seconds=60), "finished_at": None, "error": None, "params": {}, "log": "",
        "phase": phase,
    }  # fmt: skip
    [table_row] = job_table([row], now)
    assert table_row[:6] == [7, "generate", "running", "generating: 30/90 samples (33%)", "30.0 samples/min",
                             "2m 00s"]  # fmt: skip
    failed = {**row, "status": "failed", "error": "Cannot load teacher 'x': no such folder.\ntrace"}
    assert eta_text(failed, now) == ""
    assert job_table([failed], now)[0][-1] == "Cannot load teacher 'x': no such folder."
    assert "**Error:** Cannot load teacher" in job_summary(failed)


def test_a_generate_jobs_rate_is_in_sentences_per_second_with_its_backend():
    now = dt.datetime(2026, 1, 1, 12, 0, 0)
    row = {
        "id": 8, "kind": "generate", "status": "running", "progress_done": 4, "progress_total": 8,
        "started_at": now - dt.timedelta(seconds=40), "finished_at": None, "error": None,
        "params": {"backend": "auto"}, "log": "",
    }  # fmt: skip
    stats = {8: {"sentences": 150, "since": 100, "backend": "ctranslate2"}}  # 100 since the latest start
    assert job_table([row], now, stats)[0][4] == "2.50 sentences/s"
    assert "decoded with **ctranslate2**, 150 sentences" in job_summary(row, stats[8])


def test_histogram_draws_bars_and_threshold_lines():
    hist = {
        "edges": [0.0, 0.5, 1.0], "all": [4, 2], "survivors": [0, 2], "missing_all": 1,
        "min": 0.75, "max": None,
    }  # fmt: skip
    svg = histogram_svg("embed_cosine", hist)
    assert svg.count("<rect") == 3  # two grey bars, one survivor bar (the empty one is not drawn)
    assert "≥0.75" in svg and "1 not scored" in svg
    empty = {**hist, "all": [0, 0], "survivors": [0, 0]}
    assert "No scored pairs yet" in histograms_html({"embed_cosine": empty})


def test_the_shown_commands_parse_with_the_real_cli_to_the_same_settings(tmp_path):
    import shlex

    from cli import build_parser

    corpus = tmp_path / "uploads" / "c.txt"
    corpus.parent.mkdir()
    corpus.write_text("A context.\n")
    params = generation_params(
        teacher="embedded", task="summary", context_source="corpus", corpus=str(corpus), contexts=7,
        samples=5, temperature=0.7, top_p=0.8, seed=3, device="cpu", upload_dir=corpus.parent,
        backend="ctranslate2",
    )  # fmt: skip
    args = build_parser().parse_args(shlex.split(generate_command("sqlite:///s.db", params))[1:])
    assert (args.teacher, args.task, args.contexts, args.samples) == ("embedded", "summary", 7, 5)
    assert (args.temperature, args.top_p, args.seed, args.device) == (0.7, 0.8, 3, "cpu")
    assert args.backend == "ctranslate2"
    assert args.corpus == str(corpus.resolve())
    scoring = score_params(nli="", embedder="embedded", batch_size=64, device="cpu")
    args = build_parser().parse_args(shlex.split(score_command("sqlite:///s.db", scoring))[1:])
    assert (args.nli, args.embedder, args.batch_size, args.device) == (None, "embedded", 64, "cpu")


def test_unset_means_use_the_default_for_empty_boxes_and_the_zero_a_number_box_sends():
    from ui.forms import unset

    assert all(unset(v) for v in (None, "", "  ", 0, 0.0, "0"))
    assert not any(unset(v) for v in (1, 5e-5, "3", "abc"))


def test_offline_a_hub_id_outside_the_local_cache_is_refused_before_queueing(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path / "hub"))
    with pytest.raises(FormError, match="Cannot load nli 'alisawuffles/roberta-large-wanli': it is not in"):
        score_params(nli="alisawuffles/roberta-large-wanli", embedder="embedded", batch_size=64, device="cpu")
    with pytest.raises(FormError, match="HF_HUB_OFFLINE is set"):
        model_spec("nobody/no-such-student", "student")


def test_the_nli_field_suggests_the_papers_model_only_where_it_can_load(monkeypatch, tmp_path):
    from ui import job_forms

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path / "hub"))
    assert "roberta" not in job_forms.nli_placeholder() and "offline" in job_forms.nli_placeholder()
    assert "**Offline:**" in job_forms.nli_note() and "HF_HUB_OFFLINE" in job_forms.nli_note()
    monkeypatch.setattr(job_forms, "hub_reachable", lambda: True)
    assert job_forms.nli_placeholder().startswith("e.g. alisawuffles/roberta-large-wanli")
    assert "Offline" not in job_forms.nli_note()


def test_an_emptied_evaluate_limit_means_every_row():
    from ui.evaluate import form_params

    for cleared in (None, "", 0):
        assert form_params(1, "bench.jsonl", "auto", cleared, 0.7, 0)["limit"] is None
    assert form_params(1, "bench.jsonl", "auto", 200, 0.7, 0)["limit"] == 200


def test_the_train_form_can_ask_for_a_syntax_controlled_student():
    from cli.student_cmds import train_command
    from pipeline.train_job import train_config
    from ui.train import form_params

    form = ("v1", "embedded", 1, None, None, 8, False, 0.1, 0, "cpu")
    plain, controlled = form_params(*form), form_params(*form, True)
    assert plain["syntax"] is None and "--syntax" not in train_command("sqlite:///s.db", plain)
    assert controlled["syntax"] is True
    assert train_command("sqlite:///s.db", controlled).split()[:7] == [
        "impossible", "train", "--db", "sqlite:///s.db", "--version", "v1", "--syntax"
    ]  # fmt: skip
    train_config(controlled, "paraphrase")  # the job accepts what the form queues
