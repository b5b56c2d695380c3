"""The ``ray`` executor: one job's work units run on Ray actors, and the job's own process commits them.

Why Ray: it is what this field scales on (NeMo Curator, Data-Juicer, distilabel's RayPipeline), with
scheduling, GPUs, restarts and retries already solved, so there is no home-made cluster here.

How a job runs on it (``executor: ray``):

- The job is cut into **deterministic work units** in the order the local executor uses: batches of
  ``batch_contexts`` contexts for ``generate`` (context ``seq`` samples with seed ``seed + seq`` wherever it
  runs), batches of ``batch_size`` pending pairs in id order for each of ``score``'s cheap, embedding and
  NLI stages, and batches of ``batch_size`` sources for ``distill`` (seeded with ``seed`` + the index of
  their first source).
- **Actors** run the units: one model per actor, loaded once (lazily, so an actor that Ray restarts loads it
  again); ``num_gpus=1`` per actor when the cluster has GPUs, torch threads sized to the actor's CPUs.
- The **driver** (the process running the job: the CLI, ``impossible worker`` or the studio's worker) hands
  out one unit per idle actor and commits each finished unit's rows together with the job's progress in one
  transaction, through the very code the local executor uses. Actors never touch the database, so the
  database stays the only truth and a unit is never half-written.
- A **Ray worker killed** mid-unit: Ray restarts the actor and retries the unit (``max_restarts`` /
  ``max_task_retries``); only the driver writes, so nothing is duplicated or lost. An actor that dies for
  good gives its unit to another one. The **driver killed**: ``impossible resume JOB`` (or any worker, once
  the heartbeat is stale) runs the remaining units only. A unit that **fails on its data** is logged on
  the job and the others go on; the job then ends ``failed`` naming the failed units, and resuming it retries
  just those. **Cancel** stops handing out units and drops the ones in flight.

The job kinds' actors and drivers (``generate``, ``score``, ``distill``) are ``pipeline.ray_jobs``; this
module is the mechanism they share. Importing it does not import ray or torch.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from importlib.util import find_spec
from typing import Any

from pipeline.runner import JobContext, UserError

RESTARTS = 3  # per actor: restarts after its process died, and retries of the unit it was running
WAIT_S = 2.0  # how often the driver looks at the cancel flag while units run
CONNECT_TIMEOUT_S = 3.0
RAY_MISSING = (
    "Ray is not installed here: run `pip install 'impossible-distillation-studio[ray]'` (ray>=2.40) on the "
    "driver and on every machine of the cluster, or use --executor local."
)


def unreachable(address: str | None, why: str = "") -> str:
    where = f"at {address}" if address else "on this machine"
    reason = f" ({why})" if why else ""
    return (
        f"Cannot reach a Ray cluster {where}{reason}: start one with `ray start --head` (workers join with "
        "`ray start --address HEAD:6379`) and pass its address with --ray-address, or use --executor local."
    )


def _host_port(address: str) -> tuple[str, int] | None:
    match = re.fullmatch(r"(?:ray://)?\[?([^\[\]/]+?)\]?:(\d{1,5})/?", address)
    return (match.group(1), int(match.group(2))) if match else None


def _check_reachable(address: str) -> None:
    """Refuse at once an address where nothing listens (``ray.init`` would retry for minutes)."""
    target = _host_port(address)
    if target is None:
        return
    try:
        socket.create_connection(target, timeout=CONNECT_TIMEOUT_S).close()
    except OSError as exc:
        raise UserError(unreachable(address, exc.strerror or type(exc).__name__)) from None


_connected: dict[str, Any] = {}


def connect(address: str | None):
    """The ``ray`` module, connected to ``address`` (``None``: a cluster started on this machine by
    ``ray start``, else a Ray started here for this process). A process that already called ``ray.init``
    (a test, a notebook) keeps its cluster when ``address`` is ``None`` or the one it joined."""
    try:
        import ray
    except ImportError:
        raise UserError(RAY_MISSING) from None
    if address and address != "auto":
        _check_reachable(address)
    if ray.is_initialized():
        if address is None or _connected.get("address", address) == address:
            return ray
        ray.shutdown()
    try:
        ray.init(address=address, include_dashboard=False, logging_level="warning", log_to_driver=False)
    except (ConnectionError, TimeoutError, RuntimeError, ValueError) as exc:
        raise UserError(unreachable(address, str(exc).splitlines()[0][:200] if str(exc) else "")) from None
    _connected["address"] = address
    return ray


# ---- the plan: how many actors, with what ------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """How many actors a stage starts and what each one reserves."""

    workers: int
    threads: int  # CPUs reserved per actor = its torch threads
    gpus: int  # 0 or 1 per actor
    cluster_cpus: int
    cluster_gpus: int
    capped_from: int | None = None

    def options(self) -> dict[str, Any]:
        return {
            "num_cpus": self.threads,
            "num_gpus": self.gpus,
            "max_restarts": RESTARTS,
            "max_task_retries": RESTARTS,
        }

    def describe(self, address: str | None) -> str:
        gpu = ", 1 GPU" if self.gpus else ""
        capped = f" (ray_workers {self.capped_from} capped to the cluster's size)" if self.capped_from else ""
        where = address or "this machine"
        return (
            f"executor ray: {self.workers} worker(s) with {self.threads} CPU thread(s){gpu} each{capped}; "
            f"cluster {where}: {self.cluster_cpus} CPU(s), {self.cluster_gpus} GPU(s)"
        )


def make_plan(ray, requested: int, device: str, *, use_gpu: bool = True) -> Plan:
    """One actor per GPU when the cluster has GPUs (and ``device`` allows them), else one per CPU;
    ``requested`` (``ray_workers``, 0 = that default) is capped to what the cluster holds."""
    resources = ray.cluster_resources()
    cpus = max(1, int(resources.get("CPU", 1)))
    wants_gpu = use_gpu and not str(device).startswith(("cpu", "mps"))
    gpus = int(resources.get("GPU", 0)) if wants_gpu else 0
    alive = [int(n.get("Resources", {}).get("CPU", 0)) for n in ray.nodes() if n.get("Alive")]
    node_cpus = max(1, min((c for c in alive if c > 0), default=cpus))
    limit = gpus or cpus
    workers = min(requested or limit, limit)
    threads = max(1, min(node_cpus, cpus // workers))
    capped = requested if requested > limit else None
    return Plan(workers, threads, 1 if gpus else 0, cpus, int(resources.get("GPU", 0)), capped)


# ---- the pool: hand out units, commit results -----------------------------------------------------------


@dataclass
class Unit:
    """One deterministic piece of a job: ``label`` names it in the log, ``args`` go to the actor."""

    label: str
    args: tuple
    payload: Any = None  # what the driver needs to commit it
    seq: int = -1  # its place in the job, set by ``Pool.run``: units commit in this order


@dataclass
class Failure:
    label: str
    error: str


def cause_text(exc: BaseException) -> str:
    cause = getattr(exc, "cause", None) or exc
    text = str(cause).strip().splitlines()
    return f"{type(cause).__name__}: {text[-1] if text else ''}"[:500]


def _setup_error(exc: BaseException) -> UserError:
    """A worker that could not start (its model does not load there): the cause's own sentence."""
    cause = getattr(exc, "cause", None) or exc
    lines = str(cause).strip().splitlines()
    message = lines[-1] if lines else type(cause).__name__
    return UserError(f"A Ray worker could not start: {message}")


class Pool:
    """``plan.workers`` actors of one class; each runs one unit at a time, and the driver commits it."""

    def __init__(self, ray, worker_cls: type, args: tuple, plan: Plan) -> None:
        self.ray = ray
        remote_cls = ray.remote(worker_cls).options(**plan.options())
        self.actors = [remote_cls.remote(*args) for _ in range(plan.workers)]
        self.loading = {actor.ready.remote(): actor for actor in self.actors}  # ready ref -> actor
        self.idle: list[Any] = []
        self.started = 0
        self.answer: dict[str, Any] = {}  # what the last actor to finish loading said

    def _ready(self, ctx: JobContext, ref: Any) -> Any:
        """The actor behind a finished ``ready`` call, logged; an actor that cannot load fails the job."""
        actor = self.loading.pop(ref)
        try:
            answer = self.ray.get(ref)
        except self.ray.exceptions.RayTaskError as exc:
            raise _setup_error(exc) from None
        self.started += 1
        ctx.log(f"ray worker {self.started} of {len(self.actors)} ready: {answer['where']}")
        self.answer = answer
        return actor

    def first_ready(self, ctx: JobContext) -> dict[str, Any]:
        """Wait until one actor has loaded its model; return what its ``ready`` said."""
        while not self.idle:
            ctx.check_cancelled()
            if not self.loading:
                raise RuntimeError("Every Ray worker died while loading its model.")
            done, _ = self.ray.wait(list(self.loading), num_returns=1, timeout=WAIT_S)
            for ref in done:
                self.idle.append(self._ready(ctx, ref))
        return self.answer

    def run(
        self, ctx: JobContext, units: Iterable[Unit], method: str, commit: Callable[[Unit, Any], None]
    ) -> list[Failure]:
        """Run every unit and commit each result in the units' order (a unit finished early waits for the
        ones before it, so every row is what the local executor writes); return the units that failed on
        their own data. Checks the cancel flag before handing out a unit and every ``WAIT_S`` (``JobCancelled``
        drops the units in flight); a unit whose actor died is handed to another actor."""
        errors = self.ray.exceptions
        todo: Iterator[Unit] = iter(units)
        retry: deque[Unit] = deque()
        flight: dict[Any, tuple[Unit, Any]] = {}
        finished: dict[int, tuple[Unit, Any, Failure | None]] = {}  # waiting for the units before them
        failures: list[Failure] = []
        handed = committed = 0
        exhausted = False
        while True:
            ctx.check_cancelled()
            while self.idle and (retry or not exhausted):
                unit = retry.popleft() if retry else next(todo, None)
                if unit is None:
                    exhausted = True
                    break
                if unit.seq < 0:
                    unit.seq, handed = handed, handed + 1
                actor = self.idle.pop()
                flight[getattr(actor, method).remote(*unit.args)] = (unit, actor)
            while committed in finished:  # in the job's order, so the rows are the local executor's
                unit, result, failure = finished.pop(committed)
                if failure is None:
                    commit(unit, result)
                else:
                    failures.append(failure)
                committed += 1
            if not flight and not retry and (exhausted or not self.loading):
                if not exhausted:
                    raise RuntimeError("Every Ray worker died; resume the job to run its remaining units.")
                return failures
            if not flight and not self.loading:
                raise RuntimeError("Every Ray worker died; resume the job to run its remaining units.")
            done, _ = self.ray.wait([*flight, *self.loading], num_returns=1, timeout=WAIT_S)
            for ref in done:
                if ref in self.loading:
                    try:
                        self.idle.append(self._ready(ctx, ref))
                    except errors.RayActorError as exc:
                        ctx.log(f"a Ray worker died while loading its model ({cause_text(exc)})")
                    continue
                unit, actor = flight.pop(ref)
                try:
                    finished[unit.seq] = (unit, self.ray.get(ref), None)
                except errors.RayTaskError as exc:
                    finished[unit.seq] = (unit, None, Failure(unit.label, cause_text(exc)))
                    ctx.log(f"{unit.label}: failed, the other units go on ({cause_text(exc)})")
                except errors.RayActorError as exc:  # died beyond its restarts, or restarting now
                    retry.append(unit)
                    ctx.log(
                        f"a Ray worker died running {unit.label}; the unit goes to another one "
                        f"({cause_text(exc)})"
                    )
                    if isinstance(exc, errors.ActorUnavailableError):
                        self.loading[actor.ready.remote()] = actor  # back when Ray has restarted it
                    continue
                self.idle.append(actor)

    def close(self) -> None:
        for actor in self.actors:
            with contextlib.suppress(Exception):  # already dead
                self.ray.kill(actor)
        self.actors, self.loading, self.idle = [], {}, []


def failure_summary(failures: list[Failure], total: int) -> str:
    first = failures[0]
    return (
        f"{len(failures)} of {total} work unit(s) failed, the others are committed (first: {first.label}: "
        f"{first.error}); fix the cause and resume the job to run only those."
    )


class ActorBase:
    """What every actor does first: size torch's threads to its CPUs, and say where it runs."""

    def __init__(self, threads: int, uses_torch: bool = True) -> None:
        self.threads = threads
        if uses_torch:
            import torch

            torch.set_num_threads(threads)

    def where(self) -> str:
        return f"{socket.gethostname()} pid {os.getpid()}, {self.threads} thread(s)"


def check_available(address: str | None) -> None:
    """``UserError`` at once when ray is not installed or nothing listens at ``address`` (connects nothing)."""
    if find_spec("ray") is None:
        raise UserError(RAY_MISSING)
    if address and address != "auto":
        _check_reachable(address)
