"""``user_errors``: a problem the user can fix becomes a message, matched by its type, not its name."""

from __future__ import annotations

import gradio as gr
import pytest

from db import DatabaseError
from models.loading import ModelLoadError
from pipeline.runner import UserError
from ui.common import user_errors


@pytest.mark.parametrize("error", [UserError, ModelLoadError, DatabaseError])
def test_a_user_error_becomes_a_message(error):
    @user_errors
    def handler():
        raise error("Pass a model id.")

    with pytest.raises(gr.Error, match="Pass a model id."):
        handler()


def test_an_error_that_only_shares_a_name_is_not_a_user_error():
    class UserError(Exception):  # the same name as the job runner's, another type
        pass

    @user_errors
    def handler():
        raise UserError("a bug")

    with pytest.raises(UserError):
        handler()
