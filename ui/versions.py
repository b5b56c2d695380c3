"""Versions page: save the current recipe as a named version, list and compare versions, load a version's
recipe back into the Curate page, export a version (or the current selection) as JSONL, import JSONL.

Exports are written inside the export folder only (``safe_export_path``) and offered as a download;
imports are size-limited and validated line by line before anything is written.
"""

from __future__ import annotations

import re
from types import SimpleNamespace
from typing import Any

import gradio as gr

from curation.export import export_jsonl, human_overrides, import_jsonl, safe_export_path
from curation.report import COLUMNS as REPORT_COLUMNS
from curation.report import report_rows, version_report
from curation.versions import diff_versions, get_version, list_versions, save_version, version_recipe
from db.types import TASKS
from ui.common import current_recipe, received_upload, user_errors
from ui.context import AppContext, bind
from ui.forms import FormError, choice

CURRENT = "current selection"
VERSION_COLUMNS = ["id", "name", "pairs", "recipe hash", "thresholds", "dedup", "created"]


def _thresholds(recipe: dict[str, Any]) -> str:
    mins = [f"{c} ≥ {v:g}" for c, v in (recipe.get("min") or {}).items()]
    maxs = [f"{c} ≤ {v:g}" for c, v in (recipe.get("max") or {}).items()]
    return f"{recipe.get('task')}: " + ", ".join(mins + maxs)


def version_table(ctx: AppContext) -> list[list[Any]]:
    return [
        [
            v["id"],
            v["name"],
            v["pair_count"],
            v["recipe_hash"],
            _thresholds(v["recipe"]),
            v["recipe"].get("dedup"),
            v["created_at"].strftime("%Y-%m-%d %H:%M"),
        ]
        for v in reversed(list_versions(ctx.engine))
    ]


def recipe_change_text(diff: dict[str, Any]) -> str:
    """What differs in the recipes, and when nothing does, why the pairs may still differ."""
    if diff["a"]["id"] == diff["b"]["id"]:
        return "none: this is the same version on both sides."
    if diff["recipe_changes"]:
        return "; ".join(diff["recipe_changes"])
    if diff["added"] or diff["removed"]:
        return (
            "none (the same thresholds); the pairs differ because human labels, new pairs or new scores "
            "changed between the two saves."
        )
    return "none: the same thresholds and the same pairs."


def diff_markdown(diff: dict[str, Any]) -> str:
    a, b = diff["a"], diff["b"]
    lines = [
        f"### {a['name']} → {b['name']}",
        f"**+{diff['added']:,} added · −{diff['removed']:,} removed · {diff['common']:,} in both** "
        f"({a['pair_count']:,} → {b['pair_count']:,} pairs)",
        "Recipe changes: " + recipe_change_text(diff),
    ]
    for title, key in (("Added (sample)", "added_sample"), ("Removed (sample)", "removed_sample")):
        if diff[key]:
            lines.append(f"**{title}**")
            lines += [f"- `{r['id']}` {r['source']} → {r['target']}" for r in diff[key]]
    return "\n\n".join(lines)


def export_message(count: int, path: Any, overrides: int) -> str:
    """What an export wrote, and how many of its pairs a human accepted against the critics."""
    text = f"Wrote {count:,} pairs to `{path}`."
    if overrides:
        text += (
            f" {overrides:,} of them are in only because a human accepted them against the critics "
            '(`"kept_by": "human"` in the file).'
        )
    return text


def export_name(which: str, given: str, recipe_hash: str) -> str:
    """The file name to write: the user's (``.jsonl`` added) or ``<version or selection>-<hash>.jsonl``."""
    name = (given or "").strip()
    if not name:
        stem = "selection" if which == CURRENT else re.sub(r"[^A-Za-z0-9_.-]+", "_", which)
        name = f"{stem}-{recipe_hash}"
    return name if name.endswith(".jsonl") else name + ".jsonl"


def refresh(ctx: AppContext) -> list[Any]:
    names = [v["name"] for v in list_versions(ctx.engine)]
    newest = names[-1] if names else None
    older = names[-2] if len(names) > 1 else newest
    return [
        version_table(ctx),
        gr.Dropdown(choices=names, value=older),
        gr.Dropdown(choices=names, value=newest),
        gr.Dropdown(choices=[CURRENT, *names]),
    ]


@user_errors
def save_current(ctx: AppContext, name_value: str, recipe_value: dict | None) -> list[Any]:
    version = save_version(ctx.engine, name_value, current_recipe(ctx.engine, recipe_value))
    message = (
        f"Saved **{version['name']}**: {version['pair_count']:,} pairs, recipe `{version['recipe_hash']}`."
    )
    return [message, *refresh(ctx)]


@user_errors
def compare_versions(ctx: AppContext, a: str, b: str) -> str:
    if not a or not b:
        raise FormError("Pick two versions to compare.")
    return diff_markdown(diff_versions(ctx.engine, a, b))


@user_errors
def dataset_report(ctx: AppContext, a: str, b: str) -> Any:
    if not a:
        raise FormError("Pick a version (left; a different right one is shown beside it).")
    names = [a] + ([b] if b and b != a else [])
    rows = report_rows([version_report(ctx.engine, name) for name in names])
    return gr.Dataframe(value=rows, visible=True)


@user_errors
def export_file(ctx: AppContext, which_value: str, name_value: str, recipe_value: dict | None) -> list[Any]:
    if which_value == CURRENT:
        recipe = current_recipe(ctx.engine, recipe_value)
        path = safe_export_path(ctx.export_dir, export_name(CURRENT, name_value, recipe.hash))
        source = {"recipe": recipe}
    else:
        version = get_version(ctx.engine, which_value)
        path = safe_export_path(
            ctx.export_dir, export_name(version["name"], name_value, version["recipe_hash"])
        )
        source = {"version": version["id"]}
    count = export_jsonl(ctx.engine, path, **source)
    return [export_message(count, path, human_overrides(ctx.engine, **source)), str(path)]


@user_errors
def import_file(ctx: AppContext, file_path: str | None, task_value: str) -> str:
    upload = received_upload(file_path, "JSONL file")
    size = upload.stat().st_size
    if size > ctx.max_upload_bytes:
        raise FormError(
            f"The file is {size / 2**20:.1f} MB; the studio imports at most {ctx.max_upload_bytes / 2**20:g} MB. "
            "Use `impossible import` for bigger files."
        )
    task_value = choice(task_value, "Task", ("from file", *TASKS))
    # Gradio keeps an upload under a temporary folder with its original name: messages name the file
    # the user chose, not where the server put it
    try:
        result = import_jsonl(
            ctx.engine,
            upload,
            None if task_value == "from file" else task_value,
            display_name=upload.name,
        )
    except (ValueError, FileNotFoundError) as exc:
        raise FormError(str(exc)) from None
    return (
        f"Imported **{result['inserted']:,}** new pairs from {result['records']:,} lines "
        f"({result['duplicates']:,} already present); human labels: {result['accepted']:,} accept, "
        f"{result['rejected']:,} reject. Run a scoring job on the Generate page to fill in missing scores."
    )


@user_errors
def load_version_recipe(ctx: AppContext, name_value: str, *view: Any) -> list[Any]:
    if not name_value:
        raise FormError("Pick a version (the left one) to load its recipe.")
    return ctx.curate.show_recipe(version_recipe(get_version(ctx.engine, name_value)), *view)


def layout(ctx: AppContext) -> SimpleNamespace:
    """The page's components, by name."""
    with gr.Row(equal_height=False):
        with gr.Column(scale=2):
            gr.Markdown("#### Save the current recipe")
            recipe_view = gr.JSON(label="Current recipe (set on the Curate page)")
            with gr.Row(equal_height=True):
                name = gr.Textbox(label="Version name", placeholder="e.g. v1-strict", scale=3)
                save = gr.Button("Save version", variant="primary", scale=1)
            save_msg = gr.Markdown()
        with gr.Column(scale=3):
            gr.Markdown("#### Versions")
            table = gr.Dataframe(
                headers=VERSION_COLUMNS,
                interactive=False,
                wrap=True,
                column_widths=["7%", "17%", "9%", "17%", "32%", "8%", "10%"],
            )
            with gr.Row(equal_height=True):
                left = gr.Dropdown([], label="Compare", scale=2)
                right = gr.Dropdown([], label="with", scale=2)
                compare = gr.Button("Compare", scale=1)
                load_recipe = gr.Button("Load left version into Curate", scale=1)
                report_btn = gr.Button("Dataset report", scale=1)
            diff_md = gr.Markdown()
            report_table = gr.Dataframe(
                headers=["version", *REPORT_COLUMNS], interactive=False, wrap=True, visible=False
            )
            gr.Markdown(
                "Report: computed once per version and stored; the paper's DIMPLE row for reference. "
                "Column definitions are in the README (*Dataset report*).",
                elem_classes="id-hint",
            )
    with gr.Row(equal_height=False):
        with gr.Column():
            gr.Markdown("#### Export JSONL")
            with gr.Row(equal_height=True):
                which = gr.Dropdown([CURRENT], value=CURRENT, label="What", scale=2)
                file_name = gr.Textbox(label="File name (optional)", placeholder="auto", scale=2)
                export = gr.Button("Export", variant="primary", scale=1)
            export_msg = gr.Markdown()
            download = gr.File(label="Download", interactive=False, height=90)
        with gr.Column():
            gr.Markdown(f"#### Import JSONL (up to {ctx.max_upload_bytes / 2**20:g} MB)")
            with gr.Row(equal_height=True):
                upload = gr.File(label="JSONL file", file_types=[".jsonl", ".json", ".txt"], scale=3)
                task = gr.Dropdown(["from file", *TASKS], value="from file", label="Task", scale=1)
            import_btn = gr.Button("Import")
            import_msg = gr.Markdown()
    return SimpleNamespace(**{k: v for k, v in locals().items() if k != "ctx"})


def render(ctx: AppContext) -> None:
    ui = layout(ctx)
    recipe_state = ctx.recipe or gr.State(None)
    listing = [ui.table, ui.left, ui.right, ui.which]
    recipe_state.change(lambda value: value, recipe_state, ui.recipe_view, api_visibility="private")
    ui.save.click(
        bind(save_current, ctx), [ui.name, recipe_state], [ui.save_msg, *listing], api_name="save_version"
    )
    ui.compare.click(
        bind(compare_versions, ctx), [ui.left, ui.right], ui.diff_md, api_name="compare_versions"
    )
    ui.report_btn.click(
        bind(dataset_report, ctx), [ui.left, ui.right], ui.report_table, api_name="version_report"
    )
    ui.export.click(
        bind(export_file, ctx),
        [ui.which, ui.file_name, recipe_state],
        [ui.export_msg, ui.download],
        api_name="export_jsonl",
    )
    ui.import_btn.click(bind(import_file, ctx), [ui.upload, ui.task], ui.import_msg, api_name="import_jsonl")

    def versions_list():
        """Every saved version (id, name, recipe, recipe_hash, pair_count, created_at), oldest first."""
        # str(key): SQLAlchemy's row keys are a str subclass that the JSON encoder refuses
        return [
            {str(k): str(x) if k == "created_at" else x for k, x in v.items()}
            for v in list_versions(ctx.engine)
        ]

    versions_list.__annotations__["return"] = list  # a real type: gr.api reads it to declare one output
    gr.api(versions_list, api_name="list_versions")
    if ctx.curate is not None:
        curate = ctx.curate
        ui.load_recipe.click(
            bind(load_version_recipe, ctx),
            [ui.left, *curate.inputs],
            curate.outputs,
            api_name="load_version_recipe",
        )
    else:
        ui.load_recipe.visible = False
    if ctx.tab is not None:  # refresh each time the tab opens, so the page load stays light
        ctx.tab.select(bind(refresh, ctx), None, listing, api_name="list_versions_page")
    else:
        ctx.blocks.load(bind(refresh, ctx), None, listing, api_name="list_versions_page")
