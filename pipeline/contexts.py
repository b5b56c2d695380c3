"""Contexts: the texts the teacher continues. Sampled from the teacher behind a news-style domain prefix
(method.md step 1), or read from a user's corpus (.txt or .jsonl).

Teacher contexts: each generation starts from a prefix such as ``(CNN) --``, ``Egypt (Reuters) --`` or
``CAIRO, Egypt (AP) --`` (the three forms drawn with p = 0.5 / 0.25 / 0.25), is sampled with top-p 0.9 and
temperature 1.0 for up to 150 new tokens with newlines banned, and split into sentences; each prefix of
1-5 sentences becomes one context.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from db.values import StrictJSONError, loads_strict, text_problem
from pipeline.runner import UserError
from pipeline.sentences import split_sentences

MEDIA = ("AP", "Reuters", "CNN", "AFP", "BBC", "UPI", "Bloomberg", "NPR")
PLACES = (
    ("CAIRO", "Egypt"),
    ("LONDON", "England"),
    ("PARIS", "France"),
    ("BERLIN", "Germany"),
    ("TOKYO", "Japan"),
    ("BEIJING", "China"),
    ("MOSCOW", "Russia"),
    ("NEW DELHI", "India"),
    ("NAIROBI", "Kenya"),
    ("LAGOS", "Nigeria"),
    ("SYDNEY", "Australia"),
    ("TORONTO", "Canada"),
    ("MEXICO CITY", "Mexico"),
    ("SAO PAULO", "Brazil"),
    ("BUENOS AIRES", "Argentina"),
    ("MADRID", "Spain"),
    ("ROME", "Italy"),
    ("ISTANBUL", "Turkey"),
    ("SEOUL", "South Korea"),
    ("JAKARTA", "Indonesia"),
)
MAX_SENTENCES_PER_CONTEXT = 5
CONTEXT_SEED_OFFSET = 1_000_000  # keeps context sampling seeds apart from candidate sampling seeds


@dataclass(frozen=True)
class Context:
    """A text to continue, and where it came from."""

    text: str
    origin: str  # teacher | corpus
    prefix: str | None = None


def domain_prefix(rng: random.Random) -> str:
    """A news dateline: media only (p=0.5), country + media (0.25), or CITY, country + media (0.25)."""
    media = rng.choice(MEDIA)
    city, country = rng.choice(PLACES)
    form = rng.random()
    if form < 0.5:
        return f"({media}) --"
    if form < 0.75:
        return f"{country} ({media}) --"
    return f"{city}, {country} ({media}) --"


def contexts_from_text(text: str, prefix: str | None = None) -> list[Context]:
    """Each prefix of 1-5 sentences of ``text`` as a teacher context."""
    sentences = split_sentences(text)[:MAX_SENTENCES_PER_CONTEXT]
    return [Context(" ".join(sentences[:n]), "teacher", prefix) for n in range(1, len(sentences) + 1)]


def sample_contexts(
    teacher,
    count: int,
    seed: int = 0,
    *,
    temperature: float = 1.0,
    top_p: float = 0.9,
    max_new_tokens: int = 150,
    batch: int = 8,
    on_progress: Callable[[int], None] | None = None,
) -> list[Context]:
    """``count`` contexts sampled from ``teacher`` behind domain prefixes (deterministic for a seed);
    ``on_progress`` gets how many contexts are found so far after every generation batch.

    ``teacher`` is a ``pipeline.backends.Decoder`` (any backend) or a torch ``models.teacher.Teacher``.

    Raises ``UserError`` when the teacher produces no usable sentence at all (a model that never ends a
    sentence cannot make contexts; bring a corpus instead).
    """
    from pipeline.generate import SamplingSettings, sample_continuations

    if hasattr(teacher, "sample"):  # a pipeline.backends.Decoder: torch, ctranslate2 or vllm
        decode = teacher.sample
    else:  # a models.teacher.Teacher: the torch decoder

        def decode(*args, **kwargs):
            return sample_continuations(teacher, *args, **kwargs)

    settings = SamplingSettings(
        temperature=temperature, top_p=top_p, top_k=50, no_repeat_ngram_size=0, max_new_tokens=max_new_tokens
    )
    rng = random.Random(seed)
    batch = max(1, min(batch, -(-count // 3)))  # a generation usually yields several contexts
    found: list[Context] = []
    attempts = 0
    max_attempts = 2 * count + batch
    while len(found) < count and attempts < max_attempts:
        prefixes = [domain_prefix(rng) for _ in range(batch)]
        seeds = [seed + CONTEXT_SEED_OFFSET + attempts + i for i in range(batch)]
        samples = decode(prefixes, 1, settings, seeds, stop_after_sentences=MAX_SENTENCES_PER_CONTEXT)
        for prefix, (sample,) in zip(prefixes, samples, strict=True):
            found.extend(contexts_from_text(f"{prefix} {sample.text}", prefix))
        attempts += batch
        if on_progress is not None:
            on_progress(min(len(found), count))
    if not found:
        raise UserError(
            f"The teacher produced no complete sentence in {attempts} attempts, so no context could be made; "
            "use a stronger teacher or pass --corpus with your own texts."
        )
    return found[:count]


def _jsonl_texts(content: str, shown: str) -> list[str]:
    texts = []
    for number, line in enumerate(content.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = loads_strict(line)
        except StrictJSONError as exc:
            raise UserError(f"{shown}, line {number}: {exc}; fix or remove it.") from None
        text = record.get("text", record.get("context")) if isinstance(record, dict) else None
        if not isinstance(text, str):
            raise UserError(
                f'{shown}, line {number}: expected an object with a "text" or "context" string field.'
            )
        texts.append(text)
    return texts


def _plain_texts(content: str) -> list[str]:
    """Paragraphs (blocks separated by blank lines) when the file has any, else one text per line."""
    content = content.replace("\r\n", "\n")
    blocks = [block for block in content.split("\n\n") if block.strip()]
    if len(blocks) > 1:
        return [" ".join(block.split()) for block in blocks]
    return content.splitlines()


def _read_text(path: Path, shown: str) -> str:
    """The corpus as text; a binary file (NUL bytes, or not UTF-8) is refused with what to do."""
    data = path.read_bytes()
    if b"\x00" in data:
        line = data.count(b"\n", 0, data.index(b"\x00")) + 1
        raise UserError(
            f"Corpus {shown} looks binary (a NUL byte on line {line}); give a .txt or .jsonl text file."
        )
    try:
        content = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UserError(f"Corpus {shown} is not UTF-8 text ({exc.reason}); convert it to UTF-8.") from None
    return content


def read_corpus(path: str | Path, name: str | None = None) -> list[Context]:
    """A user's contexts: ``.jsonl`` (a "text" or "context" field per line) or plain text.

    Raises ``UserError`` for a missing, empty, binary or malformed file; messages call it ``name``
    (e.g. an upload's original file name) when given, else its path.
    """
    path = Path(path).expanduser()
    shown = name or str(path)
    if not path.is_file():
        raise UserError(f"Corpus {shown} does not exist or is not a file; pass a .txt or .jsonl file.")
    content = _read_text(path, shown)
    jsonl = path.suffix.lower() in (".jsonl", ".ndjson")
    texts = _jsonl_texts(content, shown) if jsonl else _plain_texts(content)
    contexts = [Context(" ".join(t.split()), "corpus") for t in texts if t.strip()]
    if not contexts:
        raise UserError(f"Corpus {shown} holds no text; add one text per line (or JSONL with a text field).")
    for number, context in enumerate(contexts, start=1):
        problem = text_problem(context.text)
        if problem:
            raise UserError(f"Corpus {shown}: text {number} {problem}; remove it.")
    return contexts
