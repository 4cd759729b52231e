"""The local worker pool (joblib's reusable loky executor): stopping it, and a
watchdog that turns a dead pool into an error instead of a wait that never ends.

joblib 1.6 (vendored loky 3.6) can lose the executor's manager thread, the thread that
hands tasks to the worker processes and their results back (loky pull request 663:
"the executor manager thread died silently, so joblib waited forever on futures that
would never resolve"). It was seen once here, in ``segocr ablate --jobs 2``: no live
worker, no manager thread, and ``Parallel`` polling forever. :func:`watched_pool`
wraps every parallel run of segocr (``read --jobs N``, ``ablate --jobs N``): while
the run lasts, a daemon thread looks at the executor every
:data:`WATCHDOG_INTERVAL_S` seconds, and when its manager thread has stopped while
tasks are still pending (two looks in a row), it fails those tasks with
:class:`WorkerPoolError`, which joblib raises in the caller, and kills the workers.

This reads loky's private attributes (``_executor``, ``_executor_manager_thread``,
``_pending_work_items``, ``_processes``); where a future loky lacks one, the watchdog
sees nothing wrong and does nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import InvalidStateError
from contextlib import contextmanager
from typing import Any

from segocr.errors import SegocrError

__all__ = ["WATCHDOG_INTERVAL_S", "WorkerPoolError", "pool_problem", "stop_workers", "watched_pool"]

#: Seconds between two looks of the watchdog at the pool.
WATCHDOG_INTERVAL_S = 1.0


class WorkerPoolError(SegocrError):
    """The local worker pool stopped serving tasks (its manager thread is gone); the
    run is stopped rather than left waiting. Running again (or with ``--jobs 1``)
    starts a new pool."""


def _current_executor() -> Any | None:
    try:
        from joblib.externals.loky import reusable_executor
    except ImportError:  # pragma: no cover - joblib always vendors loky
        return None
    return getattr(reusable_executor, "_executor", None)


def stop_workers() -> None:
    """Kill the worker processes of joblib's reusable process pool, if it has any
    (without waiting for them to be gone: waiting could itself hang).

    joblib keeps its loky workers alive after a run, for the next one (about five
    minutes, each holding its recognizer: hundreds of MB). :func:`segocr.batch.read_many`
    calls this when its consumer stops early (``close()``, SIGTERM turned into an
    exception, Ctrl-C) so that nothing is left behind, and every parallel run calls it
    first so that it starts with fresh workers.
    """
    executor = _current_executor()
    if executor is not None:
        executor.shutdown(wait=False, kill_workers=True)


def pool_problem(executor: Any) -> str | None:
    """What is wrong with a loky ``executor``, or None: its manager thread exists but
    has stopped while tasks are pending. (A pool with no pending task, one being shut
    down, or one whose manager has not started yet is not a problem.)"""
    pending = getattr(executor, "_pending_work_items", None)
    manager = getattr(executor, "_executor_manager_thread", None)
    if not pending or manager is None or manager.is_alive():
        return None
    return (
        f"the worker pool stopped serving tasks ({len(pending)} pending, its manager "
        "thread is gone); run again, or with --jobs 1"
    )


def _fail(executor: Any, problem: str) -> None:
    """Fail every pending task of ``executor`` with :class:`WorkerPoolError` and kill
    its workers (nobody else will: that was the manager thread's job)."""
    for item in list(getattr(executor, "_pending_work_items", {}).values()):
        future = getattr(item, "future", None)
        if future is None or future.done():
            continue
        try:
            future.set_exception(WorkerPoolError(problem))
        except InvalidStateError:  # finished meanwhile
            pass
    flags = getattr(executor, "_flags", None)
    if flags is not None:  # the next run builds a new executor instead of reusing this one
        flags.flag_as_broken(WorkerPoolError(problem))
    processes = getattr(executor, "_processes", None)
    if not processes:
        return
    from joblib.externals.loky.backend.utils import kill_process_tree

    while processes:  # as loky's own kill_workers does
        _, process = processes.popitem()
        try:
            kill_process_tree(process)
        except (OSError, ValueError):  # already gone
            pass


def _watch(stop: threading.Event, interval: float) -> None:
    suspect: tuple[int, str] | None = None  # (id of the executor, problem) seen last time
    while not stop.wait(interval):
        executor = _current_executor()
        problem = pool_problem(executor) if executor is not None else None
        if problem is None:
            suspect = None
        elif suspect is not None and suspect[0] == id(executor):
            _fail(executor, problem)
            suspect = None
        else:
            suspect = (id(executor), problem)


@contextmanager
def watched_pool(interval: float = WATCHDOG_INTERVAL_S) -> Iterator[None]:
    """Watch joblib's loky pool while the block runs: when the pool stops serving
    tasks, its pending tasks fail with :class:`WorkerPoolError` (raised by joblib in
    the block) instead of being waited for forever.

    >>> with watched_pool(interval=0.01):
    ...     pass
    """
    stop = threading.Event()
    watchdog = threading.Thread(
        target=_watch, args=(stop, interval), name="segocr-pool-watchdog", daemon=True
    )
    watchdog.start()
    try:
        yield
    finally:
        stop.set()
        watchdog.join()
