"""The studio in a real browser (headless Debian Chromium via Playwright): move a slider and see the
survivor count change, label pairs with the keyboard, save and compare versions, and save a screenshot of
every page to docs/screenshots/ (the README's tour uses them)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from db import jobs as job_rows
from tests.ui.conftest import load_candidates
from tests.ui.studio import running_studio
from ui import load_pages
from ui.context import AppContext

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parents[1] / "docs" / "screenshots"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture
def browser():
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        pytest.skip("Debian's chromium is not installed (apt-get install -y chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def studio_ctx(engine, db_url, tmp_path, tiny_seq2seq):
    """Realistic candidates, scored for dedup by a real (embedded) scoring job when the embedder is
    installed, so the job list and the dedup numbers on the screenshots are real."""
    load_candidates(engine)
    try:
        from models.loading import embedded_embedder_dir

        embedded_embedder_dir()
    except Exception:
        pass
    else:
        from pipeline.runner import run_job

        run_job(engine, job_rows.submit(engine, "score", {"embedder": "embedded", "batch_size": 64}))
    _train_and_evaluate_a_tiny_student(engine, tiny_seq2seq, tmp_path)
    return AppContext(db_url=db_url, engine=engine, export_dir=tmp_path / "exports")


def _train_and_evaluate_a_tiny_student(engine, student, tmp_path) -> None:
    """A real (tiny, config-built) T5 trained on every candidate and evaluated on the first MRPC rows, so
    the Train and Evaluate screenshots show a real loss curve and a real results table."""
    from curation.recipe import Recipe
    from curation.versions import save_version
    from pipeline.runner import run_job
    from tests.conftest import BENCHMARKS

    save_version(engine, "all-candidates", Recipe("paraphrase", {}, {}, dedup=False))
    params = {"version": "all-candidates", "student": str(student), "max_steps": 40, "batch_size": 8,
              "lr": 3e-3, "eval_fraction": 0.2, "eval_every": 5, "device": "cpu",
              "output_dir": str(tmp_path / "run")}  # fmt: skip
    assert run_job(engine, job_rows.submit(engine, "train", params)) == "done"
    mrpc = BENCHMARKS / "mrpc" / "msr_paraphrase_test.txt"
    if mrpc.exists():
        evaluation = {"run": 1, "benchmark": str(mrpc), "format": "mrpc", "limit": 20, "embedder": ""}
        assert run_job(engine, job_rows.submit(engine, "evaluate", evaluation)) == "done"


def survivors(page) -> int:
    text = page.locator("#curate-count").inner_text()
    return int(re.search(r"([\d,]+) of [\d,]+ \w+ pairs survive", text).group(1).replace(",", ""))


def open_tab(page, title: str) -> None:
    page.get_by_role("tab", name=title).click()
    page.wait_for_timeout(800)


def wait_for_count_change(page, before: int) -> int:
    """Wait until the survivor count shows a number other than ``before``; return it."""
    page.wait_for_function(
        "([n]) => { const m = /([\\d,]+) of [\\d,]+ \\w+ pairs survive/.exec("
        "document.querySelector('#curate-count')?.innerText || ''); return m && m[1].replace(/,/g, '') !== n; }",
        arg=[str(before)],
        timeout=15_000,
    )
    settled, now = -1, survivors(page)
    while now != settled:  # key presses move the slider step by step: wait for the last update
        page.wait_for_timeout(1000)
        settled, now = now, survivors(page)
    return now


def move_slider(page, elem_id: str, presses: int) -> None:
    handle = page.locator(f"#{elem_id} input[type=range]")
    handle.focus()
    for _ in range(abs(presses)):
        handle.press("ArrowRight" if presses > 0 else "ArrowLeft")


def labelled_count(page) -> int:
    return int(re.search(r"(\d+) labelled", page.locator("#review-status").inner_text()).group(1))


def test_studio_in_a_real_browser(studio_ctx, browser):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with running_studio(studio_ctx) as url:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(url)
        page.wait_for_selector("#jobs-table", timeout=30_000)
        page.wait_for_timeout(2500)  # the job list's first poll
        page.screenshot(path=str(SCREENSHOTS / "generate.png"), full_page=True)

        open_tab(page, "Curate")
        page.wait_for_function("document.querySelector('#curate-count')?.innerText.includes('survive')")
        before = survivors(page)
        move_slider(page, "threshold-min-embed_cosine", 5)  # 0.80 -> 0.85: stricter
        stricter = wait_for_count_change(page, before)
        assert stricter < before
        page.screenshot(path=str(SCREENSHOTS / "curate.png"), full_page=True)

        open_tab(page, "Review")
        page.wait_for_function("document.querySelector('#review-card')?.innerText.includes('pair ')")
        page.locator("body").click(position={"x": 5, "y": 5})  # focus off any text field
        for key, expected in (("a", 1), ("r", 2), ("s", 2)):
            first = page.locator("#review-card").inner_text()
            page.keyboard.press(key)
            page.wait_for_function(
                "([t, n]) => document.querySelector('#review-card').innerText !== t"
                " && document.querySelector('#review-status').innerText.startsWith(n + ' labelled')",
                arg=[first, str(expected)],
                timeout=15_000,
            )
        page.locator("#review-note textarea").fill("typing a, r or s here must not label anything")
        page.wait_for_timeout(500)
        assert labelled_count(page) == 2
        decisions = sorted(label["decision"] for label in _labels(studio_ctx))
        assert decisions == ["accept", "reject"]
        page.locator("#review-note textarea").fill("")
        page.screenshot(path=str(SCREENSHOTS / "review.png"), full_page=True)

        open_tab(page, "Versions")
        _save_version(page, "strict-cos-0.85")
        open_tab(page, "Curate")
        move_slider(page, "threshold-min-embed_cosine", -10)  # 0.85 -> 0.75: looser
        assert wait_for_count_change(page, stricter) > stricter
        open_tab(page, "Versions")
        _save_version(page, "loose-cos-0.75")
        page.get_by_role("button", name="Compare", exact=True).click()
        page.wait_for_function("document.body.innerText.includes('strict-cos-0.85 → loose-cos-0.75')")
        page.screenshot(path=str(SCREENSHOTS / "versions.png"), full_page=True)

        for title, _module in load_pages():
            if title not in ("Generate", "Curate", "Review", "Versions"):
                open_tab(page, title)
                if title == "Train":
                    page.get_by_label("Run", exact=True).click()
                    page.get_by_role("option").first.click()
                page.wait_for_timeout(1500)
                page.screenshot(path=str(SCREENSHOTS / f"{title.lower()}.png"), full_page=True)


def _save_version(page, name: str) -> None:
    page.get_by_label("Version name").fill(name)
    page.get_by_role("button", name="Save version").click()
    page.wait_for_function(f"document.body.innerText.includes('Saved {name}')", timeout=15_000)


def _labels(ctx: AppContext) -> list[dict]:
    from sqlalchemy import select

    from db.schema import labels

    with ctx.engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(labels)).mappings()]
