"""Model specs checked before any work is queued: offline hub ids not in the cache are refused at once."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from models import availability
from models.availability import ModelUnavailable, check_model, where_from

REPO = "some-org/some-model"


def fake_cache(root, repo_id: str = REPO, filename: str = "config.json"):
    """The folder layout huggingface_hub writes: refs/main -> a snapshot holding the file."""
    folder = root / f"models--{repo_id.replace('/', '--')}"
    (folder / "refs").mkdir(parents=True)
    (folder / "refs" / "main").write_text("abc123")
    snapshot = folder / "snapshots" / "abc123"
    snapshot.mkdir(parents=True)
    (snapshot / filename).write_text("{}")
    return root


@pytest.fixture
def offline(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path / "hub"))


def test_offline_hub_id_not_in_the_cache_is_refused_at_once_saying_why_and_what_to_do(offline):
    began = time.monotonic()
    with pytest.raises(ModelUnavailable) as caught:
        check_model("nli", "alisawuffles/roberta-large-wanli")
    assert time.monotonic() - began < 1.0
    message = str(caught.value)
    assert message.startswith("Cannot load nli 'alisawuffles/roberta-large-wanli': it is not in")
    assert "HF_HUB_OFFLINE" in message and "hf download alisawuffles/roberta-large-wanli" in message
    assert "leave the NLI model empty" in message and "\n" not in message


def test_offline_hub_id_in_the_local_cache_is_accepted(offline, tmp_path):
    fake_cache(tmp_path / "hub")
    assert where_from("embedder", REPO) == "cache"
    fake_cache(tmp_path / "hub", "st-org/encoder", "modules.json")
    assert where_from("embedder", "st-org/encoder") == "cache"


def test_an_unreachable_hub_counts_as_offline(monkeypatch, tmp_path):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setattr(availability, "_probes", {})
    monkeypatch.setattr(availability, "_connects", lambda host, port: False)
    with pytest.raises(ModelUnavailable, match=r"huggingface\.co\) cannot be reached"):
        check_model("teacher", REPO)
    monkeypatch.setattr(availability, "_probes", {})
    monkeypatch.setattr(availability, "_connects", lambda host, port: True)
    assert where_from("teacher", REPO) == "hub"


def test_local_paths_embedded_and_empty_specs(offline, tmp_path):
    assert where_from("student", str(tmp_path)) == "local"
    with pytest.raises(ModelUnavailable, match="no such folder"):
        check_model("student", str(tmp_path / "missing"))
    with pytest.raises(ModelUnavailable, match="There is no embedded nli model"):
        check_model("nli", "embedded")
    check_model("nli", None)
    check_model("nli", "")
    check_model("embedder", "none")


def test_the_check_imports_no_torch():
    code = (
        "import sys, os; os.environ['HF_HUB_OFFLINE'] = '1'; from models.availability import check_model\n"
        "try: check_model('nli', 'a/b')\nexcept ValueError: pass\nprint('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
