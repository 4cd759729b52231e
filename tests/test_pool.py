"""The worker-pool watchdog (segocr.pool): a pool whose manager thread died fails the
run with WorkerPoolError instead of hanging (the loky bug seen once in ``ablate``).

The real-pool tests kill the manager thread the way loky's bug does (an exception in
the thread) inside a subprocess with a hard timeout, so a regression fails the test
instead of hanging the suite.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from concurrent.futures import Future
from pathlib import Path
from types import SimpleNamespace

import pytest
from untrained import write_untrained_segcnn

from segocr import pool
from segocr.pool import WorkerPoolError, pool_problem, watched_pool

ROOT = Path(__file__).resolve().parents[1]


def _dead_thread() -> threading.Thread:
    thread = threading.Thread(target=lambda: None)
    thread.start()
    thread.join()
    return thread


def _fake_executor(manager: threading.Thread | None, n_pending: int) -> SimpleNamespace:
    items = {i: SimpleNamespace(future=Future()) for i in range(n_pending)}
    return SimpleNamespace(
        _pending_work_items=items,
        _executor_manager_thread=manager,
        _processes={},
        _flags=None,
    )


def test_pool_problem_only_for_a_dead_manager_with_pending_tasks() -> None:
    alive = threading.Thread(target=threading.Event().wait, args=(5,), daemon=True)
    alive.start()
    assert pool_problem(_fake_executor(alive, 3)) is None
    assert pool_problem(_fake_executor(None, 3)) is None  # not started yet / shut down
    assert pool_problem(_fake_executor(_dead_thread(), 0)) is None  # idle pool
    problem = pool_problem(_fake_executor(_dead_thread(), 3))
    assert problem is not None and "3 pending" in problem and "--jobs 1" in problem
    assert pool_problem(SimpleNamespace()) is None  # a loky without these attributes


def test_watchdog_fails_pending_tasks(monkeypatch: pytest.MonkeyPatch) -> None:
    executor = _fake_executor(_dead_thread(), 2)
    done = next(iter(executor._pending_work_items.values())).future
    done.set_result("kept")  # a task that finished is left alone
    monkeypatch.setattr(pool, "_current_executor", lambda: executor)
    with watched_pool(interval=0.01):
        futures = [item.future for item in executor._pending_work_items.values()]
        assert futures[1].exception(timeout=5) is not None
    assert done.result() == "kept"
    assert isinstance(futures[1].exception(), WorkerPoolError)


def test_watchdog_leaves_a_healthy_pool_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    alive = threading.Thread(target=threading.Event().wait, args=(5,), daemon=True)
    alive.start()
    executor = _fake_executor(alive, 2)
    monkeypatch.setattr(pool, "_current_executor", lambda: executor)
    with watched_pool(interval=0.01):
        threading.Event().wait(0.1)
    assert not any(item.future.done() for item in executor._pending_work_items.values())


# The manager thread dies on the first result it handles, as in loky's bug.
KILL_MANAGER = """
import threading
from joblib.externals.loky import process_executor

def _die(self, result_item):
    raise RuntimeError("manager thread died")

healthy = process_executor._ExecutorManagerThread.process_result_item
process_executor._ExecutorManagerThread.process_result_item = _die
threading.excepthook = lambda args: None  # it dies silently
"""


def _run(script: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """Run ``script`` after KILL_MANAGER in a new interpreter; a hang fails the test."""
    path = tmp_path / "script.py"
    path.write_text(KILL_MANAGER + textwrap.dedent(script))
    try:
        return subprocess.run(
            [sys.executable, str(path)],
            check=False,
            capture_output=True,
            text=True,
            timeout=120,
            cwd=ROOT / "tests",
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"the run hung on a dead pool: {exc.stderr!r}")


def test_read_many_raises_when_the_pool_dies(tmp_path: Path) -> None:
    res = _run(
        """
        from segocr.batch import RecognizerSpec, Unreadable, read_many
        from segocr.pool import WorkerPoolError
        try:
            list(read_many([Unreadable(str(i), "bad") for i in range(8)], RecognizerSpec(),
                           jobs=2, chunk_size=1))
        except WorkerPoolError as exc:
            print("raised:", exc)
        process_executor._ExecutorManagerThread.process_result_item = healthy
        again = read_many([Unreadable(str(i), "bad") for i in range(4)], RecognizerSpec(),
                          jobs=2, chunk_size=1)
        print("again:", [r.source for r in again])
        """,
        tmp_path,
    )
    assert res.returncode == 0, res.stderr
    assert "raised: the worker pool stopped serving tasks" in res.stdout
    assert "again: ['0', '1', '2', '3']" in res.stdout  # a new pool serves the next run


def test_cli_read_reports_a_dead_pool_in_one_line(tmp_path: Path) -> None:
    images = [str(tmp_path / f"missing{i}.png") for i in range(6)]
    res = _run(
        f"""
        import sys
        from segocr.cli import main
        sys.argv = ["segocr"]
        main(["read", "--jobs", "2", "--batch-size", "1", *{images!r}])
        """,
        tmp_path,
    )
    assert res.returncode == 1, res.stderr
    assert "Traceback" not in res.stderr
    assert "worker pool stopped serving tasks" in res.stderr


def test_ablation_raises_when_the_pool_dies(tmp_path: Path) -> None:
    weights = tmp_path / "segcnn.pt"
    write_untrained_segcnn(weights)
    res = _run(
        f"""
        import sys
        from segocr.cli import main
        sys.argv = ["segocr"]
        main(["ablate", "--dataset", "synthetic", "-D", "n_test=4", "-D", "n_train=0",
              "--weights", {str(weights)!r}, "--out", {str(tmp_path / "out")!r},
              "--jobs", "2", "--quiet"])
        """,
        tmp_path,
    )
    assert res.returncode == 1, res.stderr
    assert "Traceback" not in res.stderr
    assert "worker pool stopped serving tasks" in res.stderr
