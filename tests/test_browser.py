"""The studio in a real browser (headless Debian Chromium via Playwright): every page on a fresh database
starts its jobs from the form's first values; move a slider and see the survivor count change, label
pairs with the keyboard, save and compare versions; form values survive a reload; tables and charts
read well. Screenshots of every page go to a temporary folder, or to ``$IMPOSSIBLE_SCREENSHOTS`` (``make
screenshots`` points it at docs/screenshots/, which the README's tour uses), so a test run never
rewrites tracked files."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from db import jobs as job_rows
from tests.conftest import BENCHMARKS
from tests.ui.conftest import load_candidates
from tests.ui.studio import running_studio
from ui import load_pages, route_of
from ui.context import AppContext

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS_ENV = "IMPOSSIBLE_SCREENSHOTS"
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
def screenshots(tmp_path) -> Path:
    """Where this run's screenshots go: ``$IMPOSSIBLE_SCREENSHOTS`` when set, else a temporary folder."""
    folder = Path(os.environ.get(SCREENSHOTS_ENV) or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


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
    """Open the studio's page ``title``: through the navigation bar when its route is not the one shown
    (each route is its own browser page), then its tab."""
    tab = page.get_by_role("tab", name=title, exact=True)
    if not tab.count():
        route, _path = route_of(title)
        page.get_by_role("link", name=route, exact=True).first.click()
        tab.wait_for(timeout=30_000)
    tab.click()
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


def test_studio_in_a_real_browser(studio_ctx, browser, screenshots):
    with running_studio(studio_ctx) as url:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(url)  # the front page: what the database holds, the worker's state, the steps
        page.wait_for_function(
            "document.querySelector('#overview-counts')?.innerText.includes('candidate pairs')"
        )
        assert "worker" in page.locator("#worker-status").inner_text()
        page.screenshot(path=str(screenshots / "overview.png"), full_page=True)
        open_tab(page, "Generate")
        page.wait_for_selector("#jobs-table", timeout=30_000)
        page.wait_for_timeout(2500)  # the job list's first poll
        page.screenshot(path=str(screenshots / "generate.png"), full_page=True)

        open_tab(page, "Curate")
        page.wait_for_function("document.querySelector('#curate-count')?.innerText.includes('survive')")
        before = survivors(page)
        move_slider(page, "threshold-min-embed_cosine", 5)  # 0.80 -> 0.85: stricter
        stricter = wait_for_count_change(page, before)
        assert stricter < before
        page.screenshot(path=str(screenshots / "curate.png"), full_page=True)

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
        page.get_by_role("button", name="New queue").click()  # a new queue keeps the session's count
        page.wait_for_function(
            "document.querySelector('#review-progress')?.innerText.includes('0 labelled of')"
        )
        assert labelled_count(page) == 2
        card = page.locator("#review-card").inner_text()
        word = max(re.findall(r"[A-Za-z]{4,}", card.split("Source", 1)[1].split("Target", 1)[0]), key=len)
        page.locator("#review-search input, #review-search textarea").first.fill(word)
        page.keyboard.press("Enter")
        page.wait_for_function(f"document.querySelector('#review-status').innerText.includes('{word}')")
        assert word.lower() in page.locator("#review-card").inner_text().lower()
        assert "Guidelines" in page.locator("#review-guidelines").inner_text()
        page.screenshot(path=str(screenshots / "review.png"), full_page=True)

        open_tab(page, "Versions")
        _save_version(page, "strict-cos-0.85")
        open_tab(page, "Curate")
        move_slider(page, "threshold-min-embed_cosine", -10)  # 0.85 -> 0.75: looser
        assert wait_for_count_change(page, stricter) > stricter
        open_tab(page, "Versions")
        _save_version(page, "loose-cos-0.75")
        page.get_by_role("button", name="Compare", exact=True).click()
        page.wait_for_function("document.body.innerText.includes('strict-cos-0.85 → loose-cos-0.75')")
        page.screenshot(path=str(screenshots / "versions.png"), full_page=True)

        # the unsaved thresholds, the Generate fields and the Evaluate benchmark survive a reload
        open_tab(page, "Curate")
        loose = survivors(page)
        open_tab(page, "Generate")
        page.get_by_label("Contexts", exact=True).fill("7")
        page.get_by_label("Contexts", exact=True).press("Tab")
        open_tab(page, "Evaluate")
        mrpc = str(BENCHMARKS / "mrpc" / "msr_paraphrase_test.txt")
        page.get_by_label(re.compile("Benchmark file or folder")).fill(mrpc)
        page.get_by_label("Format").click()
        page.get_by_role("option", name="mrpc", exact=True).click()
        page.wait_for_timeout(1000)
        page.reload()
        open_tab(page, "Generate")
        page.wait_for_selector("#jobs-table", timeout=30_000)
        page.wait_for_timeout(2000)
        assert page.get_by_label("Contexts", exact=True).input_value() == "7"
        open_tab(page, "Curate")
        page.wait_for_function("document.querySelector('#curate-count')?.innerText.includes('survive')")
        assert survivors(page) == loose
        open_tab(page, "Evaluate")
        assert page.get_by_label(re.compile("Benchmark file or folder")).input_value() == mrpc
        assert page.get_by_label("Format").input_value() == "mrpc"
        open_tab(page, "Curate")
        page.locator("#curate-search input, #curate-search textarea").first.fill("budget")
        _search_shown(page, "budget")
        rows = page.locator("#curate-table tbody tr").all_inner_texts()
        assert rows and all("budget" in row.lower() for row in rows)

        for title, _module in load_pages():
            if title not in ("Generate", "Curate", "Review", "Versions"):
                open_tab(page, title)
                if title == "Train":
                    page.locator("#train-run input").click()
                    page.get_by_role("option").first.click()
                    page.wait_for_function(
                        "document.querySelector('#runs-table')?.innerText.includes('0.003')"
                    )
                page.wait_for_timeout(1500)
                assert page.evaluate(SPLIT_HEADERS_JS) == [], title
                page.screenshot(path=str(screenshots / f"{title.lower()}.png"), full_page=True)
                if title == "Evaluate":
                    for table in ("evaluation-results", "evaluation-examples"):
                        assert not page.evaluate(SCROLLS_SIDEWAYS_JS, table), f"{table} scrolls sideways"


SEARCH_SHOWN_JS = """(word) => {
  const rows = [...document.querySelectorAll('#curate-table tbody tr')];
  return (document.querySelector('#curate-page-info')?.innerText || '').includes(word)
    && rows.length > 0 && rows.every(r => r.innerText.toLowerCase().includes(word));
}"""


def _search_shown(page, word: str, attempts: int = 3) -> None:
    """Submit the Curate search until its page line and every table row show ``word``. The page line and the
    table are two outputs of one event, so both are waited for together; a view requested before the search
    (the tab's restored controls) may land after it on a loaded machine, so the search is submitted again
    then, as a user would, and must win within ``attempts``."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    for attempt in range(attempts):
        page.locator("#curate-search input, #curate-search textarea").first.press("Enter")
        try:
            page.wait_for_function(SEARCH_SHOWN_JS, arg=word, timeout=10_000)
            return
        except PlaywrightTimeout:
            if attempt == attempts - 1:
                info = page.locator("#curate-page-info").inner_text()
                rows = page.locator("#curate-table tbody tr").all_inner_texts()
                raise AssertionError(
                    f"search {word!r} not shown: page line {info!r}, rows {rows[:3]!r}"
                ) from None


def _save_version(page, name: str) -> None:
    page.get_by_label("Version name").fill(name)
    page.get_by_role("button", name="Save version").click()
    page.wait_for_function(f"document.body.innerText.includes('Saved {name}')", timeout=15_000)


def _labels(ctx: AppContext) -> list[dict]:
    from sqlalchemy import select

    from db.schema import labels

    with ctx.engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(labels)).mappings()]


# ---- a fresh database -------------------------------------------------------------------------------
#: JavaScript: header words broken across lines, e.g. "ev al ua ti on".
SPLIT_HEADERS_JS = """() => {
  const split = [];
  for (const th of document.querySelectorAll('th')) {
    if (th.offsetParent === null) continue;
    const walker = document.createTreeWalker(th, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      for (const match of node.textContent.matchAll(/[^\\s-]+/g)) {
        const range = document.createRange();
        range.setStart(node, match.index);
        range.setEnd(node, match.index + match[0].length);
        const tops = new Set([...range.getClientRects()].filter(r => r.width > 0).map(r => Math.round(r.top)));
        if (tops.size > 1) split.push(match[0]);  // one word drawn on two or more lines
      }
    }
  }
  return split;
}"""

#: JavaScript: does anything inside the element ``arg`` (an id) scroll sideways?
SCROLLS_SIDEWAYS_JS = """(id) => [document.getElementById(id), ...document.getElementById(id).querySelectorAll('*')]
  .some(e => ['auto', 'scroll'].includes(getComputedStyle(e).overflowX) && e.scrollWidth > e.clientWidth + 2)"""


def error_toasts(page) -> list[str]:
    """The text of every error message Gradio shows (toasts)."""
    return [t for t in page.locator(".toast-wrap").all_inner_texts() if "error" in t.lower()]


def headers_of(page, elem_id: str) -> list[str]:
    return [h.strip() for h in page.locator(f"#{elem_id} th").all_inner_texts() if h.strip()]


def test_every_page_of_a_fresh_database_opens_and_starts_its_jobs(
    engine, db_url, tmp_path, browser, screenshots
):
    ctx = AppContext(db_url=db_url, engine=engine, export_dir=tmp_path / "exports")
    with running_studio(ctx, worker=False) as url:  # no worker: jobs that need real models stay queued
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(url)
        page.wait_for_function(
            "document.querySelector('#overview-counts')?.innerText.includes('0 candidate pairs')"
        )
        assert error_toasts(page) == []
        open_tab(page, "Generate")
        page.wait_for_selector("#jobs-table", timeout=30_000)
        page.get_by_role("button", name="Start generation").click()
        page.wait_for_function("document.querySelector('#generate-message')?.innerText.includes('Queued')")
        assert page.locator("#score-message").inner_text().strip() == ""  # each form has its own message
        page.get_by_role("button", name="Start scoring").click()
        page.wait_for_function("document.querySelector('#score-message')?.innerText.includes('Queued')")
        assert "Queued generation job" not in page.locator("#score-message").inner_text()
        jobs = job_rows.recent(engine)
        assert sorted((j["kind"], j["status"]) for j in jobs) == [("generate", "queued"), ("score", "queued")]
        assert jobs[-1]["params"]["contexts"] == 20 and jobs[-1]["params"]["samples"] == 16  # first values
        page.wait_for_timeout(2500)  # the job list's first poll
        assert page.evaluate(SPLIT_HEADERS_JS) == []
        page.screenshot(path=str(screenshots / "fresh-generate.png"), full_page=True)

        for title, _module in load_pages():
            open_tab(page, title)
            page.wait_for_timeout(1000)
            assert error_toasts(page) == [], title
            assert page.evaluate(SPLIT_HEADERS_JS) == [], title
            page.screenshot(path=str(screenshots / f"fresh-{title.lower()}.png"), full_page=True)
            if title == "Curate":
                labels = page.locator("input[type=range]").evaluate_all("es => es.map(e => e.ariaLabel)")
                assert labels and not [label for label in labels if "undefined" in label], labels
            if title == "Train":
                assert "-Infinity" not in page.locator("#loss-chart").inner_text()
            if title == "Evaluate":
                assert headers_of(page, "evaluation-examples")[:3] == ["line", "source", "reference"]
        assert error_toasts(page) == []
