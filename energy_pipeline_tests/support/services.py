"""Real local servers the tests start on free loopback ports: moto's AWS API, and waiting for any HTTP service."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

from bench.local_images import wait_for_http

AWS_TEST_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}


SERVER_PIDS: dict[str, int] = {}  # base URL -> the process `running_server` started there


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def running_server(
    args: list[str], log_path: Path, ready_path: str, port: int, expect: int = 200, env: dict[str, str] | None = None
) -> Iterator[str]:
    """A server process on 127.0.0.1:`port` until `ready_path` answers `expect`; yields its base URL and stops it.
    Output goes to a file, not a pipe: an unread pipe fills up and blocks the server."""
    with log_path.open("wb") as log:
        server = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        base = f"http://127.0.0.1:{port}"
        SERVER_PIDS[base] = server.pid
        try:
            wait_for_http(f"{base}{ready_path}", server, log_path, timeout=120, expect=expect)
            yield base
        finally:
            server.terminate()
            server.wait(timeout=30)


def venv_tool(name: str) -> str:
    return str(Path(sys.executable).with_name(name))


@contextmanager
def moto_server(folder: Path) -> Iterator[str]:
    """moto's server on 127.0.0.1: the AWS APIs over real HTTP, so boto3 code runs unchanged against it."""
    port = free_port()
    args = [venv_tool("moto_server"), "-H", "127.0.0.1", "-p", str(port)]
    with running_server(args, folder / "moto.log", "/moto-api/", port) as url:
        yield url


@contextmanager
def served_bento(bento_tag: str, log_path: Path, env: dict[str, str] | None = None) -> Iterator[str]:
    """`bentoml serve <tag>` on a free port until ready; yields its base URL."""
    port = free_port()
    args = [venv_tool("bentoml"), "serve", bento_tag, "--host", "127.0.0.1", "--port", str(port)]
    with running_server(args, log_path, "/readyz", port, env={**os.environ, **(env or {})}) as base:
        yield base


def mlflow_server(root: Path, port: int) -> AbstractContextManager[str]:
    """`mlflow server` with a SQLite backend and proxied artifacts under `root` (restartable on the same port)."""
    args = [
        venv_tool("mlflow"),
        "server",
        "--backend-store-uri",
        f"sqlite:///{root / 'mlflow.db'}",
        "--artifacts-destination",
        str(root / "artifacts"),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    return running_server(args, root / f"server-{time.monotonic_ns()}.log", "/health", port)


def postgres_binaries() -> Path | None:
    """The folder of Debian's PostgreSQL server programs (`make test` installs the package when it can)."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
    return found[-1].parent if found else None


@contextmanager
def postgres_server(databases: tuple[str, ...]) -> Iterator[str]:
    """A throwaway PostgreSQL server on a free loopback port with `databases` created; yields
    `postgresql://postgres@127.0.0.1:<port>`. As root it runs as Debian's `postgres` user, as PostgreSQL demands."""
    import pwd
    import shutil
    import tempfile

    import psycopg2

    binaries = postgres_binaries()
    if binaries is None:
        raise RuntimeError("PostgreSQL is not installed: `make test-services` as root installs Debian's package")
    as_owner: list[str] = []
    folder = Path(tempfile.mkdtemp(prefix="energy-pipeline-postgres-"))  # not under pytest's root-only tmp
    if os.geteuid() == 0:
        owner = pwd.getpwnam("postgres")
        os.chown(folder, owner.pw_uid, owner.pw_gid)
        as_owner = ["runuser", "-u", "postgres", "--"]
    data, port = folder / "data", free_port()
    try:
        subprocess.run(
            [*as_owner, str(binaries / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "-E", "UTF8"],
            check=True,
            capture_output=True,
        )
        options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        start = [*as_owner, str(binaries / "pg_ctl"), "-D", str(data), "-l", str(folder / "server.log")]
        subprocess.run([*start, "-o", options, "-w", "start"], check=True, capture_output=True)
        url = f"postgresql://postgres@127.0.0.1:{port}"
        try:
            connection = psycopg2.connect(f"{url}/postgres")
            connection.autocommit = True
            with connection.cursor() as cursor:
                for database in databases:
                    cursor.execute(f"CREATE DATABASE {database}")
            connection.close()
            yield url
        finally:
            subprocess.run([*start, "-m", "fast", "-w", "stop"], capture_output=True)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
