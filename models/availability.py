"""Can a model load on this machine? Decided at submit time, before any work is queued.

A model spec (``embedded``, a local folder or ``.gguf`` file, or a Hugging Face id) is checked without
torch and without downloading anything: a local path must exist, ``embedded`` must be installed for its
role, and a hub id must either sit in the local Hugging Face cache or the hub must be reachable. Offline
means ``HF_HUB_OFFLINE`` is set, or the hub's host does not answer within ``PROBE_TIMEOUT_S`` (checked at
most once a minute). The CLI, the studio's forms and the job handlers all call ``check_model``, so an id
that cannot load is refused at once instead of failing a job after minutes of other work.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from urllib.parse import urlparse

from models.loading import EMBEDDED, ModelLoadError, hub_offline, resolve

PROBE_TIMEOUT_S = 2.0
PROBE_TTL_S = 60.0
#: Files one of which every model repo we can load has (transformers, sentence-transformers, PEFT).
MARKER_FILES = ("config.json", "modules.json", "adapter_config.json")

_probes: dict[str, tuple[float, bool]] = {}


class ModelUnavailable(ValueError):
    """A model that cannot load here: which one, why, and what to do (one sentence)."""


def hub_endpoint() -> str:
    return os.environ.get("HF_ENDPOINT") or "https://huggingface.co"


def _connects(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=PROBE_TIMEOUT_S):
            return True
    except OSError:
        return False


def hub_reachable() -> bool:
    """False when offline mode is on or the hub's host does not answer (cached for ``PROBE_TTL_S``)."""
    if hub_offline():
        return False
    url = urlparse(hub_endpoint())
    host, port = url.hostname or "huggingface.co", url.port or (80 if url.scheme == "http" else 443)
    key = f"{host}:{port}"
    cached = _probes.get(key)
    if cached and time.monotonic() - cached[0] < PROBE_TTL_S:
        return cached[1]
    answer: list[bool] = []
    # a thread, because name resolution ignores socket timeouts and can hang for a long time offline
    probe = threading.Thread(target=lambda: answer.append(_connects(host, port)), daemon=True)
    probe.start()
    probe.join(PROBE_TIMEOUT_S + 0.5)
    reachable = bool(answer and answer[0])
    _probes[key] = (time.monotonic(), reachable)
    return reachable


def offline_reason() -> str:
    if hub_offline():
        return "offline mode is on (HF_HUB_OFFLINE is set)"
    return f"the Hugging Face hub ({hub_endpoint()}) cannot be reached from this machine"


def in_local_cache(repo_id: str) -> bool:
    """True when the local Hugging Face cache holds a snapshot of ``repo_id`` with a model's marker file."""
    from huggingface_hub import try_to_load_from_cache

    try:
        return any(isinstance(try_to_load_from_cache(repo_id, name), str) for name in MARKER_FILES)
    except ValueError:  # not a valid repo id
        return False


def where_from(role: str, spec: str) -> str:
    """Where ``spec`` would load from for ``role``: ``local``, ``cache`` or ``hub``.

    Raises ``ModelUnavailable`` when it cannot load here, saying why and what to do instead.
    """
    try:
        resolved = resolve(role, spec)
    except ModelLoadError as exc:
        raise ModelUnavailable(str(exc)) from None
    if resolved.kind != "hub":
        return "local"
    if in_local_cache(resolved.location):
        return "cache"
    if hub_reachable():
        return "hub"
    fallback = f", or use '{EMBEDDED}'" if role in ("teacher", "student", "embedder") else ""
    if role == "nli":
        fallback = ", or leave the NLI model empty (the semantic critic is then embedding cosine)"
    raise ModelUnavailable(
        f"Cannot load {role} {spec!r}: it is not in this machine's Hugging Face cache and {offline_reason()}. "
        f"Download it once with network access (`hf download {spec}`) or pass a local folder{fallback}."
    )


def check_model(role: str, spec: str | None) -> None:
    """Refuse (``ModelUnavailable``) a non-empty ``spec`` that cannot load for ``role`` on this machine."""
    if spec is not None and str(spec).strip() and str(spec).strip().lower() != "none":
        where_from(role, str(spec).strip())
