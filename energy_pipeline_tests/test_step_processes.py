"""A launched run's steps each run in a process of their own, which the run waits for: it must end when its
work is done."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from contextlib import suppress
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

# A step of a launched run is a forkserver child: it must end once its search is done.
SEARCH_IN_A_STEP_PROCESS = """
import multiprocessing, os, sys
import numpy as np
from sklearn.linear_model import Ridge
from sklearn.model_selection import GridSearchCV
from energy_pipeline.models.parallel import release_parallel_workers

def step(release):
    X = np.arange(600.0).reshape(200, 3)
    GridSearchCV(Ridge(), {"alpha": [0.1, 1.0, 10.0]}, n_jobs=2, cv=3).fit(X, X.sum(axis=1))
    if release:
        release_parallel_workers()

if __name__ == "__main__":
    child = multiprocessing.get_context("forkserver").Process(target=step, args=(sys.argv[1] == "release",))
    child.start()
    child.join(timeout=float(sys.argv[2]))
    with open(sys.argv[3], "w") as result:  # a file, not stdout: workers left behind would hold a pipe open
        result.write("ended" if child.exitcode == 0 else "still running")
    os._exit(0)  # not multiprocessing's exit, which would wait for the workers too
"""


def test_a_step_process_ends_once_its_search_is_done_and_its_workers_released(tmp_path: Path) -> None:
    """Left alone, joblib's idle workers keep a step's process alive for their five-minute idle timeout."""
    script = tmp_path / "step.py"
    script.write_text(SEARCH_IN_A_STEP_PROCESS)

    def outcome(mode: str, wait_seconds: str) -> str:
        result = tmp_path / f"{mode}.txt"
        args = [sys.executable, str(script), mode, wait_seconds, str(result)]
        process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            assert process.wait(timeout=300) == 0
        finally:
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)  # whatever the step left behind
        return result.read_text()

    assert outcome("release", "120") == "ended"
    assert outcome("keep", "15") == "still running"  # the control: without the release it hangs on
