"""joblib's worker processes, released when a step is done with them."""

from __future__ import annotations

from joblib.externals.loky import get_reusable_executor


def release_parallel_workers() -> None:
    """Stop joblib's reusable pool of worker processes (the searches' `n_jobs`). Left idle, they keep the process
    that started them from ending until their idle timeout (five minutes): a launched run's step process, whose
    end the run waits for, sat idle that long after each search."""
    get_reusable_executor().shutdown(wait=True)
