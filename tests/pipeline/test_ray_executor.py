"""The Ray executor on a local 2-CPU Ray started once for this module: the same rows as the local executor
(generate, with a Ray worker SIGKILLed mid-job, and score), a failing unit, cancel, a SIGKILLed driver then
resume, and one sentence when Ray is missing or unreachable."""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import sys
import threading
import time
from importlib.util import find_spec
from pathlib import Path

import pytest
from sqlalchemy import func, select

from cli import main as cli_main
from db import connect
from db import jobs as job_rows
from db.queries import insert_pairs
from db.schema import SCORE_COLUMNS, contexts, pairs, sentences
from db.types import Pair
from pipeline import ray_executor, runner
from pipeline.runner import UserError
from tests.pipeline.scripted_teacher import build_scripted_teacher
from tests.pipeline.test_generate_job import snapshot

REPO = Path(__file__).resolve().parents[2]
CONTEXTS = 12
needs_ray = pytest.mark.skipif(
    find_spec("ray") is None, reason="ray is not installed (pip install '.[ray]'): no Ray executor to test"
)
pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def local_ray():
    """One local Ray for the module (2 CPUs: two actors of one thread each). Its workers inherit this
    environment, so they import this checkout and stay offline."""
    import ray

    saved = {k: os.environ.get(k) for k in ("PYTHONPATH", "OMP_NUM_THREADS")}
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), saved["PYTHONPATH"]) if p)
    os.environ["OMP_NUM_THREADS"] = "1"
    ray.init(num_cpus=2, include_dashboard=False, logging_level="warning", log_to_driver=False)
    yield ray
    ray.shutdown()
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="module")
def teacher(tmp_path_factory) -> str:
    return str(build_scripted_teacher(tmp_path_factory.mktemp("scripted")))


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("corpus") / "corpus.txt"
    path.write_text("".join(f"Report {i} arrived on day {i}.\n" for i in range(CONTEXTS)))
    return str(path)


def generate_params(teacher: str, corpus: str, **overrides) -> dict:
    return {
        "teacher": teacher,
        "corpus": corpus,
        "contexts": None,
        "samples": 6,
        "batch_contexts": 2,
        "device": "cpu",
        "backend": "torch",
        "seed": 5,
        **overrides,
    }


@pytest.fixture(scope="module")
def local_rows(tmp_path_factory, teacher, corpus, one_torch_thread) -> dict:
    """What the local executor stores for these parameters (the reference for every Ray run)."""
    engine = connect(f"sqlite:///{tmp_path_factory.mktemp('local') / 'local.db'}")
    job_id = job_rows.submit(engine, "generate", generate_params(teacher, corpus))
    assert runner.run_job(engine, job_id) == "done"
    assert "executor local: 1 worker" in job_rows.get(engine, job_id)["log"]
    rows = snapshot(engine)
    engine.dispose()
    return rows


def generated(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(
            select(func.count()).select_from(contexts).where(contexts.c.generated_at.is_not(None))
        ).scalar_one()


def assert_no_duplicates(engine) -> None:
    with engine.connect() as conn:
        keys = conn.execute(select(sentences.c.context_id, sentences.c.sample_index)).all()
        pair_keys = conn.execute(select(pairs.c.pair_key)).scalars().all()
    assert len(keys) == len(set(keys)) and len(pair_keys) == len(set(pair_keys))


def when(engine, condition, action, timeout_s: float = 120.0) -> threading.Thread:
    """Run ``action()`` in a thread as soon as ``condition(engine)`` holds (polling every 20 ms)."""

    def watch() -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if condition(engine):
                action()
                return
            time.sleep(0.02)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def actor_pids(name: str, *, busy: bool) -> list[int]:
    """Processes whose title Ray set to ``ray::<name>`` (idle) or ``ray::<name>.<method>`` (running one)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            title = (entry / "cmdline").read_bytes().split(b"\0")[0].decode(errors="replace")
        except OSError:
            continue
        if title.startswith(f"ray::{name}") and (not busy or title.startswith(f"ray::{name}.")):
            found.append(int(entry.name))
    return found


@needs_ray
def test_generate_on_ray_stores_what_local_stores_even_when_a_ray_worker_is_killed_mid_job(
    local_ray, engine, teacher, corpus, local_rows
):
    """Same seed, same rows as the local executor (other batches, other processes), with one actor
    SIGKILLed while it decodes a unit: Ray restarts it and retries the unit; only the driver writes."""
    params = generate_params(teacher, corpus, executor="ray", batch_contexts=1)
    job_id = job_rows.submit(engine, "generate", params)
    killed: list[int] = []

    def kill_a_worker() -> None:
        deadline = time.monotonic() + 30
        while not killed and time.monotonic() < deadline:
            pids = actor_pids("GenerateWorker", busy=True)
            if pids:
                os.kill(pids[0], signal.SIGKILL)
                killed.append(pids[0])
            time.sleep(0.005)

    watcher = when(engine, lambda e: generated(e) >= 1, kill_a_worker)
    assert runner.run_job(engine, job_id) == "done"
    watcher.join(timeout=5)
    assert killed, "no busy Ray worker was found to kill"
    assert generated(engine) == CONTEXTS
    assert_no_duplicates(engine)
    assert snapshot(engine) == local_rows
    log = job_rows.get(engine, job_id)["log"]
    assert "executor ray: 2 worker(s) with 1 CPU thread(s) each" in log
    assert "ray worker 1 of 2 ready" in log
    with engine.connect() as conn:  # provenance: every sentence records its context's seed
        rows = conn.execute(select(sentences.c.seed, contexts.c.seq).join(contexts)).all()
    assert rows and all(seed == 5 + seq for seed, seq in rows)


@needs_ray
def test_cancel_stops_handing_out_units(local_ray, engine, teacher, corpus, local_rows):
    """Resuming a stopped job is the killed-driver test's second half; here: nothing after the cancel."""
    params = generate_params(teacher, corpus, executor="ray", batch_contexts=1)
    job_id = job_rows.submit(engine, "generate", params)
    when(engine, lambda e: generated(e) >= 1, lambda: job_rows.request_cancel(engine, job_id))
    assert runner.run_job(engine, job_id) == "cancelled"
    stopped_at = generated(engine)
    assert 1 <= stopped_at < CONTEXTS
    time.sleep(0.5)
    assert generated(engine) == stopped_at  # nothing arrives after the cancel: the actors are gone
    assert_no_duplicates(engine)
    rows = snapshot(engine)
    assert set(rows["sentences"]) <= set(local_rows["sentences"])  # whole units, the local executor's rows
    assert "cancelled" in job_rows.get(engine, job_id)["log"]


def scored(engine) -> dict:
    columns = [pairs.c.source, pairs.c.target, *[pairs.c[c] for c in (*SCORE_COLUMNS, "score_error")]]
    with engine.connect() as conn:
        return {(r[0], r[1]): tuple(r[2:]) for r in conn.execute(select(*columns))}


def seed_pairs(engine) -> None:
    topics = ["Storms flooded the coastal town on Monday.", "Markets fell sharply after the report."]
    items = [
        Pair(f"{text[:-1]} ({i}).", f"On day {i}, {text[0].lower()}{text[1:]}")
        for i in range(5)
        for text in topics
    ]
    items.append(Pair("Storms flooded the town.", ""))  # an empty target: score_error, the job goes on
    with engine.begin() as conn:
        insert_pairs(conn, items)


@needs_ray
def test_score_on_ray_stores_exactly_what_local_stores(local_ray, tmp_path, tiny_nli):
    params = {"nli": str(tiny_nli), "embedder": None, "parser": None, "device": "cpu", "batch_size": 4}
    results = {}
    for executor in ("local", "ray"):
        engine = connect(f"sqlite:///{tmp_path / f'{executor}.db'}")
        seed_pairs(engine)
        job_id = job_rows.submit(engine, "score", {**params, "executor": executor})
        assert runner.run_job(engine, job_id) == "done", job_rows.get(engine, job_id)["error"]
        results[executor] = scored(engine)
        log = job_rows.get(engine, job_id)["log"]
        engine.dispose()
    assert results["ray"] == results["local"]
    assert any(values[SCORE_COLUMNS.index("nli_forward")] is not None for values in results["ray"].values())
    assert "nli: executor ray: 2 worker(s)" in log


def test_ray_missing_is_one_sentence(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    with pytest.raises(UserError) as caught:
        ray_executor.connect(None)
    assert str(caught.value) == ray_executor.RAY_MISSING
    assert "pip install" in str(caught.value) and "--executor local" in str(caught.value)


def test_an_unreachable_ray_cluster_is_one_sentence_and_fails_the_job_at_once(engine, teacher, corpus):
    params = generate_params(teacher, corpus, executor="ray", ray_address="127.0.0.1:1")
    job_id = job_rows.submit(engine, "generate", params)
    began = time.monotonic()
    if find_spec("ray") is None:
        pytest.skip("ray is not installed: the missing-Ray sentence is tested above")
    assert runner.run_job(engine, job_id) == "failed"
    assert time.monotonic() - began < 30
    error = job_rows.get(engine, job_id)["error"]
    assert error.startswith("Cannot reach a Ray cluster at 127.0.0.1:1")
    assert "ray start --head" in error and "--executor local" in error and "\n" not in error
    assert generated(engine) == 0


def test_the_cli_refuses_an_unreachable_ray_before_queueing(db_url, teacher, corpus, capsys):
    if find_spec("ray") is None:
        pytest.skip("ray is not installed")
    argv = ["generate", "--db", db_url, "--teacher", teacher, "--corpus", corpus, "--samples", "2"]
    assert cli_main([*argv, "--executor", "ray", "--ray-address", "127.0.0.1:1"]) == 2
    assert "error: Cannot reach a Ray cluster at 127.0.0.1:1" in capsys.readouterr().err
    assert job_rows.recent(connect(db_url)) == []


def test_the_generate_page_queues_a_ray_job_and_previews_its_command(tmp_path):
    from cli import build_parser
    from ui.job_forms import generate_command, generation_params

    form = dict(teacher="embedded", task="paraphrase", context_source="teacher", corpus="", contexts=20,
                samples=16, temperature=0.5, top_p=0.9, seed=0, device="auto", upload_dir=tmp_path)  # fmt: skip
    assert "executor" not in generation_params(**form)  # a local job's parameters are as before
    params = generation_params(**form, executor="ray", ray_address=" head:6379 ")
    assert (params["executor"], params["ray_address"]) == ("ray", "head:6379")
    command = generate_command("sqlite:///s.db", params)
    args = build_parser().parse_args(shlex.split(command)[1:])
    assert (args.executor, args.ray_address) == ("ray", "head:6379")


class StubContext:
    """The part of ``JobContext`` a pool uses."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def check_cancelled(self) -> None:
        pass

    def log(self, message: str) -> None:
        self.lines.append(message)


@needs_ray
def test_a_unit_failing_on_its_data_is_recorded_and_the_others_commit_in_order(local_ray):
    from tests.pipeline.ray_fakes import Flaky

    pool = ray_executor.Pool(local_ray, Flaky, (1,), ray_executor.Plan(2, 1, 0, 2, 0))
    units = [ray_executor.Unit(f"unit {x}", (x,)) for x in range(6)]
    committed: list[int] = []
    ctx = StubContext()
    try:
        failures = pool.run(ctx, units, "work", lambda unit, result: committed.append(result))
    finally:
        pool.close()
    assert committed == [0, 10, 30, 40, 50]
    assert [(f.label, f.error) for f in failures] == [("unit 2", "ValueError: bad row 2")]
    assert any(line.startswith("unit 2: failed, the other units go on") for line in ctx.lines)
    assert ray_executor.failure_summary(failures, 6).startswith("1 of 6 work unit(s) failed")


@needs_ray
def test_a_killed_driver_leaves_whole_units_and_resume_runs_the_rest(
    local_ray, tmp_path, teacher, corpus, local_rows
):
    """`impossible generate --executor ray` SIGKILLed after its first committed unit (its actors die with
    it); resuming the job runs only the remaining units, and the rows are the local executor's."""
    import subprocess

    url = f"sqlite:///{tmp_path / 'driver.db'}"
    engine = connect(url)
    address = local_ray.get_runtime_context().gcs_address
    args = ["--teacher", teacher, "--corpus", corpus, "--samples", "6", "--batch-contexts", "1"]
    args += ["--device", "cpu", "--backend", "torch", "--seed", "5", "--executor", "ray"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli", "generate", "--db", url, *args, "--ray-address", address],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 180
        while generated(engine) < 1:
            assert proc.poll() is None, proc.stdout.read().decode()
            assert time.monotonic() < deadline, "the driver committed no unit within 180 s"
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    job_id = int(proc.stdout.readline().decode().split()[1])
    if generated(engine) == CONTEXTS:
        pytest.fail("the job finished before its driver could be killed; raise CONTEXTS")
    assert job_rows.get(engine, job_id)["status"] == "running"  # what a dead driver leaves behind

    assert runner.run_job(engine, job_id) == "done"  # = `impossible resume JOB` (a dead pid is claimable)
    assert_no_duplicates(engine)
    assert snapshot(engine) == local_rows
    assert "generate resumed" in job_rows.get(engine, job_id)["log"]


def student_rows(engine) -> list[tuple]:
    """Every student pair as the user sees it: source, target, round and provenance but the job id."""
    with engine.connect() as conn:
        found = conn.execute(select(pairs).where(pairs.c.origin == "student").order_by(pairs.c.id)).mappings()
        return [(r["source"], r["target"], r["round"], {k: v for k, v in r["provenance"].items() if k != "job"})
                for r in found]  # fmt: skip


@needs_ray
def test_distill_on_ray_stores_what_local_stores(local_ray, tmp_path, tiny_teacher):
    """The same trained student, corpus and seed: three units of two sources on two actors give exactly the
    local executor's student pairs, committed in the local order, and the log names the executor."""
    from tests.pipeline.students import trained_run

    local = connect(f"sqlite:///{tmp_path / 'local.db'}")
    trained_run(local, tiny_teacher, tmp_path)
    local.dispose()
    shutil.copy(tmp_path / "local.db", tmp_path / "ray.db")
    corpus = tmp_path / "sources.txt"
    corpus.write_text("Stocks fell sharply. Bonds rallied.\nThe storm moved north.\nRain is due on Friday.\n"
                      "The mayor spoke at noon. Schools stay shut.\n")  # fmt: skip
    params = {"run": 1, "corpus": str(corpus), "contexts": 6, "samples": 3, "max_new_tokens": 6,
              "batch_size": 2, "score": False, "device": "cpu", "seed": 3}  # fmt: skip
    rows = {}
    for name, extra in (("local", {}), ("ray", {"executor": "ray"})):
        engine = connect(f"sqlite:///{tmp_path / f'{name}.db'}")
        job_id = job_rows.submit(engine, "distill", {**params, **extra})
        assert runner.run_job(engine, job_id) == "done", job_rows.get(engine, job_id)["error"]
        rows[name], log = student_rows(engine), job_rows.get(engine, job_id)["log"]
        engine.dispose()
    assert rows["local"] and rows["ray"] == rows["local"]
    assert len({seed for *_, provenance in rows["ray"] for seed in [provenance["seed"]]}) == 3  # 3 units
    assert "executor ray: 2 worker(s) with 1 CPU thread(s) each" in log
    assert "student decoding: ctranslate2" in log


def test_distill_refuses_a_bad_value_before_queueing(db_url, capsys):
    assert cli_main(["distill", "--db", db_url, "--run", "1", "--samples", "0"]) != 0
    assert (
        "distill parameter samples must be a whole number from 1 to 1,000, got 0" in capsys.readouterr().err
    )
    assert job_rows.recent(connect(db_url)) == []
