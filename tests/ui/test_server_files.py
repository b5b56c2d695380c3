"""The studio reads only what Gradio received as an upload, and typed paths only inside its data folders."""

from __future__ import annotations

import json

import gradio as gr
import pytest

import ui
from db.queries import count_pairs
from ui.evaluate import form_params as evaluate_params
from ui.forms import FormError
from ui.job_forms import generation_params, score_params

SECRET = json.dumps({"source": "a b c", "target": "d e f", "task": "TOPSECRET-VALUE"}) + "\n"


def handler(ctx, api_name: str):
    app = ui.build_app(ctx)
    return next(fn.fn for fn in app.fns.values() if fn.api_name == api_name)


@pytest.fixture
def upload_folder(tmp_path, monkeypatch):
    folder = tmp_path / "gradio-uploads"
    folder.mkdir()
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(folder))
    return folder


def test_import_and_corpus_upload_refuse_a_server_path_without_reading_it(ctx, tmp_path, upload_folder):
    secret = tmp_path / "elsewhere" / "secret.jsonl"
    secret.parent.mkdir()
    secret.write_text(SECRET)
    before = count_pairs(ctx.engine)
    with pytest.raises(gr.Error) as refused:
        handler(ctx, "import_jsonl")(str(secret), "from file")
    assert "must be a file uploaded through the studio" in refused.value.message
    assert "TOPSECRET" not in refused.value.message and str(secret) not in refused.value.message
    assert count_pairs(ctx.engine) == before
    with pytest.raises(gr.Error, match="must be a file uploaded through the studio"):
        handler(ctx, "upload_corpus")(str(secret))
    assert not ctx.upload_dir.exists() or not any(ctx.upload_dir.iterdir())  # nothing copied
    # a path that climbs out of the upload folder is the same
    with pytest.raises(gr.Error, match="must be a file uploaded through the studio"):
        handler(ctx, "import_jsonl")(str(upload_folder / ".." / "elsewhere" / "secret.jsonl"), "from file")


def test_an_import_error_names_the_uploaded_file_not_its_temporary_path(ctx, upload_folder):
    received = upload_folder / "0123abcd" / "pairs.jsonl"
    received.parent.mkdir()
    received.write_text("not json\n")
    with pytest.raises(gr.Error) as refused:
        handler(ctx, "import_jsonl")(str(received), "from file")
    assert "pairs.jsonl" in refused.value.message and str(upload_folder) not in refused.value.message
    received.write_text(
        json.dumps({"source": "One two three.", "target": "Three two one.", "task": "paraphrase"})
    )
    assert "Imported **1** new pairs" in handler(ctx, "import_jsonl")(str(received), "from file")
    corpus = upload_folder / "4567cdef" / "news.txt"
    corpus.parent.mkdir()
    corpus.write_text("The council approved the budget on Tuesday. It takes effect in May.\n")
    assert handler(ctx, "upload_corpus")(str(corpus)).startswith(str(ctx.upload_dir))


def test_typed_model_paths_are_confined_to_the_data_and_model_cache_folders(ctx, tmp_path, tiny_teacher):
    form = dict(task="paraphrase", context_source="teacher", corpus="", contexts=2, samples=3,
                temperature=0.5, top_p=0.9, seed=0, device="cpu", upload_dir=ctx.upload_dir)  # fmt: skip
    roots = [tiny_teacher]  # the model folder itself is the data folder here
    inside = generation_params(teacher=str(tiny_teacher), model_roots=roots, **form)
    assert inside["teacher"] == str(tiny_teacher.resolve())
    relative = generation_params(teacher=".", model_roots=roots, **form)
    assert relative["teacher"] == str(tiny_teacher.resolve())  # taken from the first data folder
    outside_existing, outside_missing = str(tmp_path), str(tmp_path / "no-such-model")
    messages = []
    for teacher in (outside_existing, outside_missing, f"{tiny_teacher}/../x"):
        with pytest.raises(FormError, match="reads teacher models only from") as refused:
            generation_params(teacher=teacher, model_roots=roots, **form)
        messages.append(str(refused.value).replace(teacher, "PATH"))
    assert messages[0] == messages[1]  # the answer says nothing about whether a path outside exists
    with pytest.raises(FormError, match="reads NLI models only from"):
        score_params(nli="/etc", embedder="none", batch_size=8, device="cpu", model_roots=roots)
    assert ctx.model_roots[0] == ctx.data_dirs[0] and len(ctx.model_roots) == 2  # + the Hugging Face cache


def test_typed_benchmark_paths_are_confined_to_the_data_folders(ctx, tmp_path):
    data = ctx.data_dirs[0]
    data.mkdir(parents=True, exist_ok=True)
    (data / "mrpc.txt").write_text("x\n")
    params = evaluate_params(1, "mrpc.txt", "auto", 10, 0.7, 0, roots=ctx.data_dirs)
    assert params["benchmark"] == str(data / "mrpc.txt")
    (tmp_path / "private.txt").write_text("x\n")
    for path in (str(tmp_path / "private.txt"), "../private.txt"):
        with pytest.raises(FormError, match="reads benchmarks only from"):
            evaluate_params(1, path, "auto", 10, 0.7, 0, roots=ctx.data_dirs)
    with pytest.raises(FormError, match="No benchmark file or folder 'missing.txt'"):
        evaluate_params(1, "missing.txt", "auto", 10, 0.7, 0, roots=ctx.data_dirs)
    # the exemplar file of a syntax evaluation is confined the same way
    (data / "shapes.txt").write_text("One shape.\n")
    params = evaluate_params(1, "mrpc.txt", "auto", 10, 0.7, 0, "shapes.txt", roots=ctx.data_dirs)
    assert params["exemplars"] == str(data / "shapes.txt")
    assert evaluate_params(1, "mrpc.txt", "auto", 10, 0.7, 0, "", roots=ctx.data_dirs)["exemplars"] is None
    with pytest.raises(FormError, match="reads benchmarks only from"):
        evaluate_params(1, "mrpc.txt", "auto", 10, 0.7, 0, str(tmp_path / "private.txt"), roots=ctx.data_dirs)


def test_the_train_form_confines_a_local_student(ctx):
    from ui.train import studio_params

    form = ["v1", "/etc", 1, None, None, 8, False, 0.1, 0, "cpu"]
    with pytest.raises(FormError, match="reads student models only from"):
        studio_params(ctx, *form)
    assert studio_params(ctx, "v1", "embedded", *form[2:])["student"] == "embedded"
