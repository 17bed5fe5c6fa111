"""Boots the configuration `make run` uses (SQLite, in-memory channel layer, file-system broker)
in a real daphne, so its defaults cannot silently rot while every other test uses real services."""

import subprocess
import sys
import urllib.request

import pytest

from tests.servers import ROOT, Daphne, embedded_env

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def embedded_server(tmp_path_factory):
    var_dir = tmp_path_factory.mktemp("var")
    env = embedded_env(var_dir)
    manage = [sys.executable, "manage.py"]
    seeded = subprocess.run(
        [*manage, "seed_demo", "--months", "1"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    with Daphne(env) as server:
        yield server.url, var_dir, seeded.stdout


def _get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status, response.read().decode()


def test_it_serves_the_portal_admin_and_api_docs_on_embedded_defaults(embedded_server):
    base, var_dir, _ = embedded_server

    assert _get(f"{base}/")[0] == 200
    assert "Log in" in _get(f"{base}/admin/login/")[1]
    assert "openapi" in _get(f"{base}/api/schema/")[1]
    assert (var_dir / "homegrid.sqlite3").exists()


def test_its_health_names_the_embedded_backends(embedded_server):
    base, _, _ = embedded_server

    status, body = _get(f"{base}/healthz")

    assert status == 200
    assert '"backend": "sqlite3"' in body and '"backend": "filesystem"' in body


def test_it_creates_the_demo_logins(embedded_server):
    _, _, seeded = embedded_server

    for email in ("staff@homegrid.local", "customer@homegrid.local", "analyst@homegrid.local"):
        assert email in seeded
