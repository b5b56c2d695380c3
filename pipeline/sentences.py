"""Sentence splitting for teacher text: which sentences a context holds, and a sample's first sentence.

A sentence ends at ``.``, ``?`` or ``!`` (plus any closing quotes or brackets) followed by whitespace and a
character that can start a sentence, or by the end of the text. A period after a known abbreviation
("Mr.", "U.S."), a single initial ("J. Smith") or inside a number ("3.5") does not end one. Only
sentences of at least 3 characters that end in ``.``, ``?`` or ``!`` are kept (method.md, step 1).

``completed_sentences`` is the variant the generator uses while a sample is still growing: it returns only
sentences whose end is certain whatever tokens come next, so stopping there gives the same first
sentence as generating on and splitting afterwards.
"""

from __future__ import annotations

import re

MIN_SENTENCE_CHARS = 3
TERMINALS = ".?!"
CLOSERS = "\"')]}\u2019\u201d"

_ABBREVIATION_WORDS = (
    "mr mrs ms dr prof sr jr st mt ft vs etc inc ltd co corp gov gen col lt sgt capt cmdr adm rep sen "
    "rev hon pres supt det insp jan feb mar apr jun jul aug sep sept oct nov dec vol fig approx "
    "dept est al e.g i.e u.s u.k u.n a.m p.m u.s.a d.c"
)
#: Lower-cased words (without their final period) after which a period does not end a sentence.
ABBREVIATIONS = frozenset(_ABBREVIATION_WORDS.split())

# a run of terminals, then closers; the group after it is what follows (whitespace + next char, or end)
_END = re.compile(rf"[{re.escape(TERMINALS)}]+[{re.escape(CLOSERS)}]*(?=(\s+\S|\s*$))")
_WORD_BEFORE = re.compile(r"([\w.]+)$")
_SENTENCE_START = re.compile(r"[A-Z0-9\"'(\[\u2018\u201c]")


def _is_abbreviation_or_number(text_before: str) -> bool:
    """True when the period right after ``text_before`` belongs to a word (abbreviation, initial, number)."""
    match = _WORD_BEFORE.search(text_before)
    if not match:
        return False
    word = match.group(1).strip(".")
    lower = word.lower()
    if lower in ABBREVIATIONS:
        return True
    if len(word) == 1 and word.isalpha() and word.isupper():  # an initial: "J. Smith"
        return True
    return "." in word and all(len(part) <= 2 for part in word.split("."))  # dotted: "N.Y", "a.k.a"


def _boundaries(text: str) -> list[tuple[int, bool]]:
    """(end offset, certain) of each sentence end in ``text``; ``certain`` is False only at the very end
    of the text when more tokens could still turn it into a non-boundary (an abbreviation, an initial,
    a number, an open quote)."""
    out = []
    for match in _END.finditer(text):
        end, following = match.end(), match.group(1)
        at_text_end = following.strip() == ""
        punct = match.group(0)
        period_only = punct.rstrip(CLOSERS).endswith(".")
        if not at_text_end:
            next_char = following.strip()[0]
            if not _SENTENCE_START.match(next_char):
                continue
            if period_only and _is_abbreviation_or_number(text[: match.start()]):
                continue
            out.append((end, True))
            continue
        open_quote = punct[-1] not in CLOSERS and text.count('"') % 2 == 1
        word_period = period_only and (
            _is_abbreviation_or_number(text[: match.start()]) or text[: match.start()][-1:].isdigit()
        )
        uncertain = open_quote or word_period
        out.append((end, not uncertain))
    return out


def _keep(sentence: str) -> bool:
    body = sentence.rstrip(CLOSERS)
    return len(sentence) >= MIN_SENTENCE_CHARS and body[-1:] in tuple(TERMINALS)


def _pieces(text: str, certain_only: bool) -> list[str]:
    pieces, start = [], 0
    for end, certain in _boundaries(text):
        if certain_only and not certain:
            break
        pieces.append(text[start:end].strip())
        start = end
    return [p for p in pieces if _keep(p)]


def normalize_text(text: str) -> str:
    """Whitespace collapsed to single spaces, NUL characters dropped (no stored text may hold one)."""
    return " ".join(text.replace("\x00", "").split())


def split_sentences(text: str) -> list[str]:
    """The sentences of ``text`` (>= 3 characters, ending in . ? !); a trailing unfinished piece is dropped."""
    return _pieces(normalize_text(text), certain_only=False)


def completed_sentences(text: str) -> list[str]:
    """Like ``split_sentences`` but only sentences whose end cannot change if ``text`` grows."""
    return _pieces(normalize_text(text), certain_only=True)


def first_sentence(text: str) -> str | None:
    """The first kept sentence of a finished sample, or None when it has none."""
    found = split_sentences(text)
    return found[0] if found else None
