"""Text search over pairs: which pairs' source or target contains a substring (case-insensitive).

The Curate and Review pages narrow what they show with it. The text is a bound LIKE parameter with
``%``, ``_`` and the escape character escaped, so a search is always a literal substring and never SQL.
The matching ids are cached on the in-memory ``ScoreFrame`` (one query per distinct search while the data
stays the same), and turned into a boolean mask over the frame's rows.
"""

from __future__ import annotations

import numpy as np
from sqlalchemy import Engine, func, or_, select

from curation.frame import ScoreFrame
from db.schema import pairs

ESCAPE = "\\"
#: Distinct searches whose masks stay cached on a frame (each is one byte per pair).
_SEARCHES_KEPT = 8
#: Longest search text accepted (a longer one cannot match a sentence pair usefully).
MAX_SEARCH_CHARS = 200


def clean_search(text: str | None) -> str:
    """The search text, stripped; ``ValueError`` when it is too long or holds a NUL."""
    text = (text or "").strip()
    if len(text) > MAX_SEARCH_CHARS:
        raise ValueError(f"Search text is {len(text)} characters; use at most {MAX_SEARCH_CHARS}.")
    if "\x00" in text:
        raise ValueError("Search text may not contain a NUL character.")
    return text


def like_pattern(text: str) -> str:
    """``%text%`` with LIKE's wildcards escaped, so ``50%`` matches the characters ``50%``."""
    escaped = text.replace(ESCAPE, ESCAPE * 2).replace("%", ESCAPE + "%").replace("_", ESCAPE + "_")
    return f"%{escaped.lower()}%"


def matching_ids(engine: Engine, text: str) -> np.ndarray:
    """Ids (ascending) of the pairs whose source or target contains ``text``, ignoring case."""
    pattern = like_pattern(clean_search(text))
    condition = or_(
        func.lower(pairs.c.source).like(pattern, escape=ESCAPE),
        func.lower(pairs.c.target).like(pattern, escape=ESCAPE),
    )
    with engine.connect() as conn:
        ids = conn.execute(select(pairs.c.id).where(condition).order_by(pairs.c.id)).scalars().all()
    return np.asarray(ids, dtype=np.int64)


def search_mask(frame: ScoreFrame, text: str | None) -> np.ndarray | None:
    """Boolean mask of the frame's rows matching ``text``, or ``None`` when there is nothing to search."""
    text = clean_search(text)
    if not text:
        return None
    key = ("search", text.lower())
    if key not in frame.memo:
        if frame.engine is None:
            raise ValueError("This frame has no engine to search pair text in.")
        for old in [k for k in frame.memo if k[0] == "search"][: -(_SEARCHES_KEPT - 1)]:
            del frame.memo[old]
        found = matching_ids(frame.engine, text)
        mask = np.zeros(len(frame), dtype=bool)
        mask[frame.positions(found[np.isin(found, frame.ids)])] = True
        frame.memo[key] = mask
    return frame.memo[key]
