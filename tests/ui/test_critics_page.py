"""The Critics page and the Versions page's report, driven through the API as a script would."""

from __future__ import annotations

import pytest
from gradio_client import Client
from sqlalchemy import select

from db import jobs as job_rows
from db.schema import pairs
from tests.ui.conftest import load_candidates
from tests.ui.studio import running_studio
from ui.context import AppContext
from ui.recipe_controls import N_CONTROLS, THRESHOLDS

COSINE = 3 + 2 * [t.column for t in THRESHOLDS].index("embed_cosine")


@pytest.fixture
def studio_ctx(engine, db_url, tmp_path):
    load_candidates(engine)
    return AppContext(db_url=db_url, engine=engine, export_dir=tmp_path / "exports")


def test_agreement_use_threshold_train_critic_and_report(studio_ctx, engine):
    with engine.connect() as conn:
        scored = conn.execute(
            select(pairs.c.id, pairs.c.embed_cosine)
            .where(pairs.c.embed_cosine.is_not(None))
            .order_by(pairs.c.id)
        ).all()[:40]
    with running_studio(studio_ctx, worker=False) as url:
        client = Client(url, verbose=False)
        client.predict("paraphrase", "kept", "id", api_name="/load_curate")
        for pair_id, cosine in scored:  # a labeller who agrees with the embedder above 0.7
            client.predict(pair_id, "accept" if cosine >= 0.7 else "reject", "", api_name="/label_pair")
        summary, table, plots, column = client.predict(0.9, api_name="/agreement")
        assert "**40** labelled paraphrase pairs" in summary
        assert "<polyline" in plots and "Precision-recall" in plots and "embed_cosine" in plots
        rows = {row[0]: row for row in table["data"]}
        assert rows["embed_cosine"][3] == "1.000" and rows["embed_cosine"][1] == 40
        assert rows["nli_forward"][1:3] == [0, 40]  # no NLI model: every labelled pair unscored
        assert column["value"] == "embed_cosine"
        result = client.predict("embed_cosine", "kept", "id", api_name="/use_threshold")
        cut = float(rows["embed_cosine"][8].split()[-1])
        assert result[COSINE] is True and result[COSINE + 1] == pytest.approx(round(cut, 3))
        assert len(result) > N_CONTROLS

        message = client.predict("mine", "paraphrase", api_name="/train_critic")
        job = int(message.split("**")[1])
        row = job_rows.get(engine, job)
        assert row["kind"] == "critic" and row["params"]["out"].endswith("critics/mine")
        with pytest.raises(Exception, match="may not contain|outside"):
            client.predict("../elsewhere", "paraphrase", api_name="/train_critic")

        client.predict("v1", api_name="/save_version")
        report = client.predict("v1", "v1", api_name="/version_report")
        data = report["value"]["data"] if "value" in report else report["data"]  # an update: shown now
        assert [r[0] for r in data] == ["v1", "DIMPLE (paper)"]
