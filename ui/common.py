"""Small helpers every page uses: turning user errors into UI messages, and the current recipe."""

from __future__ import annotations

import errno
import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import gradio as gr
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from curation.frame import ScoreFrame, get_frame
from curation.recipe import Recipe
from curation.select import default_recipe, has_nli_scores
from db import DatabaseError, describe_error
from models.loading import ModelLoadError
from pipeline.runner import UserError

F = TypeVar("F", bound=Callable[..., Any])


def user_errors(fn: F) -> F:
    """Show a problem the user can fix (bad value, unknown name, unloadable model) as a message in the
    UI (``gr.Error``), never as a server crash. The API client gets the same sentence."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except gr.Error:
            raise
        except (ValueError, KeyError, FileNotFoundError, PermissionError) as exc:
            message = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
            raise gr.Error(str(message), print_exception=False) from None
        except SQLAlchemyError as exc:  # one line, never the statement and row data SQLAlchemy appends
            raise gr.Error(describe_error(exc), print_exception=False) from None
        except OSError as exc:
            if exc.errno != errno.ENOSPC:
                raise
            raise gr.Error(
                "Disk full on the server: free some space and try again.", print_exception=False
            ) from None
        except (UserError, ModelLoadError, DatabaseError) as exc:
            raise gr.Error(str(exc), print_exception=False) from None

    return wrapper  # type: ignore[return-value]


def received_upload(file_path: Any, what: str) -> Path:
    """A file Gradio itself received as an upload (inside its upload folder). A server path sent through
    the API is refused without saying anything about it."""
    from gradio.utils import get_upload_folder

    from ui.forms import FormError

    text = str(file_path or "").strip()
    if not text:
        raise FormError(f"Choose a {what} to upload first.")
    path = Path(text).resolve()
    if not path.is_relative_to(Path(get_upload_folder()).resolve()) or not path.is_file():
        raise FormError(f"The {what} must be a file uploaded through the studio; upload it again.")
    return path


def semantic_note(frame: ScoreFrame, task: str) -> str:
    """The Curate page's line on the semantic critic the default recipe uses (``curation.select``)."""
    if has_nli_scores(frame, task):
        return "NLI entailment (nli_forward / nli_backward)."
    return (
        "**embedding cosine** — no NLI model has scored these pairs, so the default recipe checks meaning "
        "with sentence-embedding similarity instead (weaker than NLI; give an NLI model on the Generate page "
        "for the paper's critic)."
    )


def current_recipe(engine: Engine, value: dict[str, Any] | None) -> Recipe:
    """The recipe held in a page's state, or the default one when the session has not set any."""
    if value:
        return Recipe.from_dict(value)
    return default_recipe(get_frame(engine))
