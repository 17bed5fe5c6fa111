"""What `make run` starts (the Procfile under honcho, on the embedded defaults, with the seeded
demo) runs clean: the portal answers and no process prints a traceback (#20: "one job printed a
traceback every minute").

The issue's user watched for minutes; CI cannot, so this watches RUN_SECONDS (60 s by default,
``MAKE_RUN_SECONDS`` to watch longer): a job that fails every minute shows within it, as do the
start-up of every process and the simulator's first rounds of readings and charger traffic.
"""

import os
import signal
import subprocess
import sys
import time
import urllib.request

import pytest

from tests.servers import ROOT, embedded_env, free_port

pytestmark = pytest.mark.slow

RUN_SECONDS = float(os.environ.get("MAKE_RUN_SECONDS", "60"))
BIN = os.path.dirname(sys.executable)


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0


@pytest.fixture(scope="module")
def make_run(tmp_path_factory):
    """`make run`'s last line, on a fresh VAR_DIR seeded as `make demo` seeds it (one month, not
    a year: seconds, not a minute); yields (base URL, statuses seen); the output once stopped."""
    var_dir = tmp_path_factory.mktemp("make-run")
    env = embedded_env(var_dir)
    subprocess.run(
        [sys.executable, "manage.py", "seed_demo", "--months", "1"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    port = free_port()
    env |= {"PATH": f"{BIN}:{env['PATH']}", "PORT": str(port), "HOMEGRID_WEB_PORT": str(port)}
    log = var_dir / "honcho.log"
    with log.open("wb") as out:
        honcho = subprocess.Popen(
            [f"{BIN}/honcho", "start", "-f", "Procfile"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        base = f"http://127.0.0.1:{port}"
        statuses = []
        try:
            deadline = time.monotonic() + RUN_SECONDS
            while time.monotonic() < deadline and honcho.poll() is None:
                statuses.append(_status(f"{base}/"))
                time.sleep(5)
        finally:
            # Ctrl-C, as the user stops it; honcho stops every process it started.
            honcho.send_signal(signal.SIGINT)
            try:
                honcho.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(honcho.pid, signal.SIGKILL)
                honcho.wait(timeout=10)
    yield base, statuses, log.read_text(errors="replace"), honcho.returncode


def test_the_portal_answers_while_everything_runs(make_run):
    _, statuses, output, _ = make_run

    assert 200 in statuses, f"never answered 200: {statuses}\n{output[-3000:]}"
    first = statuses.index(200)
    assert set(statuses[first:]) == {200}, f"stopped answering: {statuses}"


def test_every_process_started_and_none_printed_a_traceback(make_run):
    _, _, output, _ = make_run

    for name in ("web", "worker", "beat", "broker", "mqtt", "simulator"):
        assert f"{name}." in output, f"no output from {name}"
    assert "Traceback" not in output, output[output.index("Traceback") - 2000 :][:6000]
    # No process died on its own before Ctrl-C (honcho names the one that did).
    assert "exited with code 1" not in output
