"""The launched studio driven through gradio_client, as a script (or the browser) would drive it."""

from __future__ import annotations

import json
import os
import re
import signal
from pathlib import Path

import pytest
from gradio_client import Client, handle_file

from db import jobs as job_rows
from tests.ui.conftest import load_candidates
from tests.ui.studio import running_studio, wait_for
from ui.context import AppContext
from ui.recipe_controls import N_CONTROLS, THRESHOLDS

AppError = Exception  # gradio_client raises AppError (a subclass) carrying the handler's message


@pytest.fixture
def studio_ctx(engine, db_url, tmp_path):
    load_candidates(engine)
    # the data folder the studio may read models from: pytest's base folder, which holds the tiny models
    return AppContext(
        db_url=db_url, engine=engine, export_dir=tmp_path / "exports", data_dirs=[tmp_path.parent]
    )


def survivors(headline: str) -> int:
    return int(re.search(r"### ([\d,]+) of", headline).group(1).replace(",", ""))


def job_row(client: Client, job_id: int) -> list:
    table = client.predict(job_id, api_name="/list_jobs")[0]
    return next(row for row in table["data"] if row[0] == job_id)


def curate(client: Client, controls: list, which: str = "kept") -> tuple:
    return client.predict(*controls, which, "id", 1, api_name="/curate")


def test_curate_review_version_export_import_over_the_api(studio_ctx, tmp_path):
    with running_studio(studio_ctx, worker=False) as url:
        client = Client(url, verbose=False)
        loaded = client.predict("paraphrase", "kept", "id", api_name="/load_curate")
        controls = list(loaded[:N_CONTROLS])
        before = survivors(loaded[N_CONTROLS])
        assert before > 0

        # a stricter embedding threshold keeps fewer pairs; a junk value is refused with its name
        cos = 4 + 2 * [t.column for t in THRESHOLDS].index("embed_cosine")  # (on, value) per threshold
        assert controls[cos - 1] is True and controls[cos] == 0.8  # the default embedding recipe's check
        strict = [*controls[:cos], 0.88, *controls[cos + 1 :]]
        assert survivors(curate(client, strict)[0]) < before
        with pytest.raises(AppError, match="Embedding cosine.*must be a number, not 'abc'"):
            curate(client, [*controls[:cos], "abc", *controls[cos + 1 :]])
        curate(client, controls)

        # review: two accepts and a reject from the random queue give a precision estimate
        client.predict("random", api_name="/review_queue")
        for decision in ("accept", "accept", "reject"):
            card, status, progress, precision, note = client.predict("checked", api_name=f"/{decision}")
        assert "from 2 accepted of 3 random-queue labels" in precision
        assert "3 labelled in this session" in status and "3 labelled of" in progress
        assert survivors(curate(client, controls)[0]) == before - 1  # the rejected pair left the selection

        message, table, *_ = client.predict("v1", api_name="/save_version")
        assert f"Saved **v1**: {before - 1} pairs" in message
        with pytest.raises(AppError, match="already exists"):
            client.predict("v1", api_name="/save_version")

        message, download = client.predict("v1", "", api_name="/export_jsonl")
        exported = studio_ctx.export_dir / Path(download).name
        records = [json.loads(line) for line in exported.read_text().splitlines()]
        assert len(records) == before - 1
        assert {"source", "target", "task", "scores", "recipe"} <= set(records[0])
        with pytest.raises(AppError, match="outside|escape|not allowed|refus"):
            client.predict("v1", "../outside.jsonl", api_name="/export_jsonl")
        assert not (studio_ctx.export_dir.parent / "outside.jsonl").exists()

        bad = tmp_path / "bad.jsonl"
        bad.write_text('{"source": "A cat sat.", "target": "A cat was sitting."}\n{"source": "x"\n')
        with pytest.raises(AppError, match="line 2"):
            client.predict(handle_file(str(bad)), "paraphrase", api_name="/import_jsonl")
        good = tmp_path / "good.jsonl"
        good.write_text('{"source": "The vote was delayed.", "target": "The vote was postponed."}\n')
        message = client.predict(handle_file(str(good)), "paraphrase", api_name="/import_jsonl")
        assert "Imported **1** new pairs" in message

        # what the browser's Versions page lists, a script lists too
        [version] = client.predict(api_name="/list_versions")
        assert version["name"] == "v1" and version["pair_count"] == before - 1


def test_bad_job_values_are_refused_with_a_clear_message(studio_ctx, tmp_path):
    with running_studio(studio_ctx, worker=False) as url:
        client = Client(url, verbose=False)
        form = ["embedded", "paraphrase", "teacher", "", 20, 16, 0.5, 0.9, 0, "auto", "auto"]
        for index, bad, message in [
            (5, -3, "samples must be a whole number from 2 to 1,000"),
            (5, 5000, "samples must be a whole number from 2 to 1,000"),
            (4, "abc", "Number of contexts must be a number"),
            (0, "/no/such/teacher", "reads teacher models only from"),
            (10, "llamacpp", "Backend"),
        ]:
            with pytest.raises(AppError, match=message):
                client.predict(*form[:index], bad, *form[index + 1 :], api_name="/start_generate")
        with pytest.raises(AppError, match="Batch size"):
            client.predict("", "none", 0, "auto", api_name="/start_score")
        binary = tmp_path / "corpus.txt"
        binary.write_bytes(b"GIF89a\x01\x00\x01\x00")
        with pytest.raises(AppError, match=r"Corpus corpus.txt looks binary"):
            client.predict(handle_file(str(binary)), api_name="/upload_corpus")
        assert not list(studio_ctx.upload_dir.glob("*"))  # a refused corpus is not kept
        assert job_rows.recent(studio_ctx.engine) == []  # nothing was queued


def test_a_tiny_generation_job_runs_in_the_worker_and_survives_a_reload(studio_ctx, tiny_teacher, tmp_path):
    with running_studio(studio_ctx) as url:
        client = Client(url, verbose=False)
        corpus = tmp_path / "corpus.txt"
        corpus.write_text("The council met on Monday.\nThe river rose overnight.\n")
        on_server = client.predict(handle_file(str(corpus)), api_name="/upload_corpus")
        assert Path(on_server).parent == studio_ctx.upload_dir
        form = [str(tiny_teacher), "paraphrase", "corpus", on_server, 2, 3, 0.8, 0.9, 0, "cpu", "ctranslate2"]
        message, job_id, *_ = client.predict(*form, api_name="/start_generate")
        assert f"Queued generation job **{job_id}**" in message
        row = wait_for(
            lambda: job_row(client, job_id)[2] in ("done", "failed") and job_row(client, job_id),
            what="job end",
        )
        assert row[2] == "done", job_rows.get(studio_ctx.engine, job_id)["error"]
        # a new session (a reloaded page, another tab) sees the same job: it lives in the database
        fresh = Client(url, verbose=False)
        assert job_row(fresh, job_id)[2] == "done"
        assert studio_ctx.worker.started >= 1 and studio_ctx.worker.pid != os.getpid()  # not in the server
        # the worker exits once the queue is empty, so a GPU's memory is released between jobs
        wait_for(lambda: not studio_ctx.worker.alive(), timeout_s=60, what="the worker to exit when idle")


def test_a_worker_killed_mid_job_is_restarted_and_the_job_resumes(studio_ctx, tiny_nli):
    with running_studio(studio_ctx) as url:
        client = Client(url, verbose=False)
        # one pair per batch: the tiny NLI scores all 117 pairs in well under a second at 8 per batch,
        # too fast to be killed between its first and its last commit
        message, job_id, *_ = client.predict(str(tiny_nli), "none", 1, "cpu", api_name="/start_score")
        wait_for(
            lambda: job_rows.get(studio_ctx.engine, job_id)["progress_done"] > 0,
            every_s=0.02,
            what="first batch",
        )
        killed = studio_ctx.worker.pid
        os.kill(killed, signal.SIGKILL)
        wait_for(lambda: studio_ctx.worker.pid != killed and studio_ctx.worker.alive(), what="worker restart")
        final = wait_for(
            lambda: (
                job_rows.get(studio_ctx.engine, job_id)["status"] in ("done", "failed")
                and job_rows.get(studio_ctx.engine, job_id)
            ),
            what="job end",
        )
        assert final["status"] == "done", final["error"]
        assert "resumed" in final["log"]
        assert studio_ctx.worker.restarts == 1
