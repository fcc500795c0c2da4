"""Stopping the server inside a `buildah run` container: the supervisor ends its own workers, which may be gone
before their SIGTERM comes (the race that failed a CI run with psutil.NoSuchProcess)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress

import psutil
import pytest

from bench import local_images

# A stand-in for `buildah run` -> bentoml supervisor -> bentoml worker. The supervisor's SIGTERM handler ends and
# reaps its worker before it exits, as bentoml's does. Every process carries "bentoml" in its command line.
# A process started from pytest can inherit SIGTERM ignored or blocked (a CI run's stand-in never ended): each
# script restores the default before anything else, as a real server's process starts with it.
DEFAULT_SIGTERM = "import signal; signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGTERM]); "
DEFAULT_SIGTERM += "signal.signal(signal.SIGTERM, signal.SIG_DFL)"
WORKER = f"{DEFAULT_SIGTERM}; import time; time.sleep(120)"
SUPERVISOR = textwrap.dedent(
    f"""
    {DEFAULT_SIGTERM}
    import subprocess, sys, time
    worker = subprocess.Popen([sys.executable, "-c", {WORKER!r}, "bentoml-worker"])
    def stop(*_):
        worker.terminate()
        worker.wait()
        sys.exit(0)
    signal.signal(signal.SIGTERM, stop)
    print("ready", flush=True)
    time.sleep(120)
    """
)
RUNNER = textwrap.dedent(
    """
    import subprocess, sys
    sys.exit(subprocess.call([sys.executable, "-c", sys.argv[1], "bentoml-supervisor"]))
    """
)


@contextmanager
def _tree() -> Iterator[subprocess.Popen[bytes]]:
    """The stand-in, started; whatever a failed test leaves of it is killed."""
    runner = subprocess.Popen([sys.executable, "-c", RUNNER, SUPERVISOR], stdout=subprocess.PIPE)
    try:
        assert runner.stdout is not None and runner.stdout.readline().strip() == b"ready"
        deadline = time.monotonic() + 30
        while not any(
            local_images._command_line(p).endswith(" bentoml-worker")
            for p in psutil.Process(runner.pid).children(recursive=True)
        ):
            assert time.monotonic() < deadline, "the stand-in worker never started"
            time.sleep(0.02)
        yield runner
    finally:
        with suppress(psutil.NoSuchProcess):
            for process in psutil.Process(runner.pid).children(recursive=True):
                with suppress(psutil.NoSuchProcess):
                    process.kill()
        runner.kill()
        runner.wait()


def test_a_worker_its_supervisor_already_ended_does_not_fail_the_stop(monkeypatch: pytest.MonkeyPatch) -> None:
    with _tree() as runner:
        processes = psutil.Process(runner.pid).children(recursive=True)
        signalled: list[int] = []
        send_signal = psutil.Process.send_signal

        def send_then_let_it_finish(process: psutil.Process, sig: int) -> None:
            # Deterministic worst case: every signalled process is gone (its children with it) before the next.
            send_signal(process, sig)
            signalled.append(process.pid)
            process.wait(timeout=30)

        monkeypatch.setattr(psutil.Process, "send_signal", send_then_let_it_finish)
        local_images.stop_inner_processes(runner)

        assert runner.returncode == 0  # the runner returned because its supervisor exited cleanly on SIGTERM
        assert signalled, "no server process was signalled"
        assert not any(p.is_running() and p.status() != psutil.STATUS_ZOMBIE for p in processes)


def test_a_process_that_ended_has_an_empty_command_line() -> None:
    ended = subprocess.Popen([sys.executable, "-c", "pass", "marker-of-the-ended"])
    process = psutil.Process(ended.pid)
    ended.wait()
    assert local_images._command_line(process) == ""

    alive = subprocess.Popen(
        [sys.executable, "-c", "import time; print(flush=True); time.sleep(30)", "marker-of-the-living"],
        stdout=subprocess.PIPE,
    )
    try:
        assert alive.stdout is not None and alive.stdout.readline() == b"\n"  # running Python, past the exec
        assert "marker-of-the-living" in local_images._command_line(psutil.Process(alive.pid))
    finally:
        alive.kill()
        alive.wait()
