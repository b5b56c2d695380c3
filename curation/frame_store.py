"""A disk copy of a large ScoreFrame's arrays, so a restarted studio opens a million pairs in a blink.

Reading a million rows through the database driver takes seconds on a small CPU; ``np.load`` of the same
arrays takes a fraction of a second. The copy is keyed by the database URL and stamped with the data part
of ``frame.data_signature`` (plus the SQLite file's inode, so a recreated file never matches); it is used
only when the stamp still matches, and labels are always re-read from the database. Frames smaller than
``MIN_PAIRS`` are not stored (they load fast anyway). ``IMPOSSIBLE_FRAME_CACHE=off`` switches this off;
``IMPOSSIBLE_FRAME_CACHE=/some/dir`` moves it (default: ``frames/`` in the studio's cache,
``$IMPOSSIBLE_CACHE`` or ``~/.cache/impossible-distillation``, beside the dequantized teachers).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path

import numpy as np
from sqlalchemy import Engine

from db.schema import SCORE_COLUMNS

log = logging.getLogger(__name__)

MIN_PAIRS = 200_000
ENV = "IMPOSSIBLE_FRAME_CACHE"


def _folder() -> Path | None:
    setting = os.environ.get(ENV, "")
    if setting.lower() in ("off", "0", "no", "false"):
        return None
    if setting:
        return Path(setting)
    root = os.environ.get("IMPOSSIBLE_CACHE") or Path(
        os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    ) / ("impossible-distillation")
    return Path(root) / "frames"


def _url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def path_for(engine: Engine) -> Path | None:
    folder = _folder()
    if folder is None:
        return None
    return folder / f"{hashlib.sha1(_url(engine).encode()).hexdigest()[:20]}.npz"


def stamp(engine: Engine, data_signature: tuple) -> str:
    """What a stored copy must match: the URL, the data signature and, for SQLite, the file's inode."""
    inode = None
    database = engine.url.database
    if engine.dialect.name == "sqlite" and database and database != ":memory:" and os.path.exists(database):
        inode = os.stat(database).st_ino
    # the score columns too: a copy saved before a column existed (``ted``) must not be read back
    return json.dumps([_url(engine), inode, list(SCORE_COLUMNS), [str(part) for part in data_signature]])


def load(engine: Engine, data_signature: tuple) -> dict[str, np.ndarray] | None:
    """The stored arrays when their stamp matches, else None (a damaged file is ignored)."""
    path = path_for(engine)
    if path is None or not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as stored:
            if str(stored["stamp"]) != stamp(engine, data_signature):
                return None
            return {name: stored[name] for name in stored.files if name != "stamp"}
    except (OSError, ValueError, KeyError) as exc:
        log.warning("ignoring unreadable frame cache %s: %s", path, exc)
        return None


def save(engine: Engine, data_signature: tuple, arrays: dict[str, np.ndarray]) -> None:
    """Store the arrays (atomically: temp file, then rename) when the frame is large enough to matter."""
    path = path_for(engine)
    if path is None or len(arrays["ids"]) < MIN_PAIRS:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.npz")
        np.savez(temp, stamp=np.array(stamp(engine, data_signature)), **arrays)
        os.replace(temp, path)
    except OSError as exc:  # a cache is never worth failing for
        log.warning("could not store the frame cache at %s: %s", path, exc)


def forget(engine: Engine) -> None:
    path = path_for(engine)
    if path is not None:
        path.unlink(missing_ok=True)
