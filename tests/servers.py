"""Real server processes for end-to-end tests and benchmarks: daphne on a free loopback port,
against the same database and Redis as the caller, exactly as the Procfile starts it."""

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def database_url(settings_dict: dict, name: str | None = None) -> str:
    """A DATABASE_URL for a child process: the caller's connection (under pytest, the test
    database), or another database ``name`` on the same server."""
    password = f":{settings_dict['PASSWORD']}" if settings_dict.get("PASSWORD") else ""
    return (
        f"postgres://{settings_dict['USER']}{password}@{settings_dict['HOST'] or '127.0.0.1'}:"
        f"{settings_dict['PORT'] or 5432}/{name or settings_dict['NAME']}"
    )


class Daphne:
    """``with Daphne(env) as server: urlopen(server.url + "/healthz")`` — a daphne process that
    is up (answers /healthz) inside the block and stopped after it. ``env`` is its whole
    environment (start from ``os.environ`` to inherit)."""

    # As the Procfile's web line.
    CONNECT_TIMEOUT = "20"

    def __init__(self, env: dict[str, str], *, start_timeout: float = 30):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}"
        self._env = env
        self._start_timeout = start_timeout
        self.process: subprocess.Popen | None = None
        # A file, not a pipe: a chatty server must never block on a full pipe nobody reads.
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the server

    def start(self) -> "Daphne":
        self.process = subprocess.Popen(
            [
                *(sys.executable, "-m", "daphne", "--websocket_timeout", "-1"),
                *("--websocket_connect_timeout", self.CONNECT_TIMEOUT),
                *("-b", "127.0.0.1", "-p", str(self.port), "config.asgi:application"),
            ],
            cwd=ROOT,
            env=self._env,
            stdout=subprocess.DEVNULL,
            stderr=self._stderr,
        )
        deadline = time.monotonic() + self._start_timeout
        while True:
            try:
                urllib.request.urlopen(f"{self.url}/healthz", timeout=1)
                return self
            except urllib.error.HTTPError:
                return self  # it answers; what /healthz thinks of the services is not our matter
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.process.kill()
                    raise RuntimeError(f"daphne did not start: {self._stderr_tail()}") from None
                time.sleep(0.1)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()

    def kill(self) -> None:
        """SIGKILL: the process dies without closing a socket or running any cleanup."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def stderr_text(self) -> str:
        self._stderr.seek(0)
        return self._stderr.read().decode(errors="replace")

    def _stderr_tail(self) -> str:
        return self.stderr_text()[-2000:]

    def __enter__(self) -> "Daphne":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def embedded_env(var_dir: Path) -> dict[str, str]:
    """The environment of ``make run``: none of the services' URLs, so the embedded defaults
    (SQLite, the in-memory channel layer, the file broker) under ``var_dir``; migrated."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "MQTT_URL", "DJANGO_SETTINGS_MODULE"}
    } | {"VAR_DIR": str(var_dir), "DJANGO_SETTINGS_MODULE": "config.settings.base"}
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    return env
