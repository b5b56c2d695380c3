"""Every job form starts a job with the values it first shows, as a browser would send them."""

from __future__ import annotations

from typing import Any

import gradio as gr
import pytest
from gradio_client import Client

from db import jobs as job_rows
from db import runs
from tests.pipeline.students import make_version
from tests.ui.studio import running_studio
from ui import build_app
from ui.context import AppContext

FORMS = ("start_generate", "start_score", "start_training", "start_evaluation")


def shown_value(component: Any) -> Any:
    """What the browser shows, and sends, for a component's first value. Gradio's number box shows 0 for
    ``None`` unless it has a placeholder (``gr.Number`` docs), so that is what a click submits."""
    if isinstance(component, gr.Number) and component.value is None and not component.placeholder:
        return 0
    return component.value


def loaded(update: Any) -> Any:
    """The value a load event sets (a component update arrives as a dict)."""
    return update["value"] if isinstance(update, dict) else update


def first_values(ctx: AppContext) -> dict[str, list[Any]]:
    app = build_app(ctx)
    by_name = {fn.api_name: fn for fn in app.fns.values()}
    return {name: [shown_value(c) for c in by_name[name].inputs] for name in FORMS}


@pytest.fixture
def form_ctx(engine, db_url, tmp_path):
    version = make_version(engine)
    run_id = runs.create_run(
        engine, job_id=None, version_id=version["id"], recipe_hash=version["recipe_hash"],
        student="embedded", config={}, output_dir=str(tmp_path / "run"),
    )  # fmt: skip
    runs.set_run_status(engine, run_id, "done")
    return AppContext(db_url=db_url, engine=engine, export_dir=tmp_path / "exports")


def test_every_job_form_queues_a_job_from_its_first_values(form_ctx, tmp_path):
    values = first_values(form_ctx)
    benchmark = form_ctx.data_dirs[0] / "bench.jsonl"  # the studio reads benchmarks from its data folder
    benchmark.parent.mkdir(parents=True, exist_ok=True)
    benchmark.write_text('{"src": "A cat sat.", "trg": "A cat was sitting."}\n')
    with running_studio(form_ctx, worker=False) as url:
        client = Client(url, verbose=False)
        # fields a page fills when it loads (the newest version, the finished runs)
        values["start_training"][0] = loaded(client.predict(api_name="/train_page")[0])
        evaluate_run = loaded(client.predict(api_name="/evaluate_page")[0])
        assert evaluate_run, "the Evaluate page picks a finished run when it loads"
        values["start_evaluation"][0] = evaluate_run
        # the one field no form can fill for the user: which benchmark file to evaluate on
        assert values["start_evaluation"][1] in (None, "")
        values["start_evaluation"][1] = str(benchmark)
        messages = {name: client.predict(*values[name], api_name=f"/{name}")[0] for name in FORMS}
    for name, message in messages.items():
        assert "Queued" in message, (name, message)
    jobs = {row["kind"]: row["params"] for row in job_rows.recent(form_ctx.engine)}
    assert set(jobs) == {"generate", "score", "train", "evaluate"}
    assert jobs["train"]["lr"] is None and jobs["train"]["max_steps"] is None  # = the defaults


def test_the_queued_parameters_pass_each_jobs_own_validation(form_ctx):
    from pipeline.generate_job import validate_params
    from pipeline.score_job import ScoreSettings
    from pipeline.train_job import train_config
    from ui.job_forms import generation_params, score_params
    from ui.train import form_params

    values = first_values(form_ctx)
    names = ("teacher", "task", "context_source", "corpus", "contexts", "samples", "temperature", "top_p",
             "seed", "device", "backend", "executor", "ray_address")  # fmt: skip
    generate = generation_params(**dict(zip(names, values["start_generate"], strict=True)),
                                 upload_dir=form_ctx.upload_dir)  # fmt: skip
    assert validate_params(generate)["samples"] == 16
    nli, embedder, batch_size, device = values["start_score"]
    ScoreSettings.from_params(score_params(nli=nli, embedder=embedder, batch_size=batch_size, device=device))
    train = form_params("v1", *values["start_training"][1:])
    config = train_config(train, "paraphrase")
    assert config.resolved_lr() == 5e-5 and config.max_steps is None
