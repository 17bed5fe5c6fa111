"""The architecture's contracts (pyproject.toml, checked by `make lint`) fail when broken: the
"public doors" contract is our own code, so it is tried here on small packages of its own, as
lint-imports runs it."""

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"

CONTRACTS = """
[tool.importlinter]
root_packages = ["shop", "till"]
contract_types = ["public_doors: config.import_contracts.PublicDoorsContract"]

[[tool.importlinter.contracts]]
name = "Apps meet only at their public doors"
type = "public_doors"
apps = ["shop", "till"]
doors = ["services", "selectors", "models"]
also_public = ["shop.money"]
importers_exempt = ["*.tests"]
"""


def _lint(tmp_path: Path, till_imports: str) -> subprocess.CompletedProcess:
    files = {
        "shop/__init__.py": "",
        "shop/services/__init__.py": "from .orders import order_place\n",
        "shop/services/orders.py": "def order_place():\n    pass\n",
        "shop/money.py": "",
        "shop/internal.py": "",
        "shop/tests/__init__.py": "",
        "shop/tests/factories.py": "",
        "till/__init__.py": "",
        "till/tests/__init__.py": "",
        "till/tests/test_views.py": "import shop.tests.factories  # noqa\n",
        "till/views.py": till_imports,
        "pyproject.toml": CONTRACTS,
    }
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=tmp_path,
        env={"PYTHONPATH": f"{tmp_path}:{PROJECT}", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    "till_imports",
    [
        "from shop.services import order_place\n",
        "from shop.services.orders import order_place\n",  # inside the door, a package
        "import shop.money\n",  # named public on its own
    ],
)
def test_it_keeps_imports_through_an_apps_doors(tmp_path, till_imports):
    result = _lint(tmp_path, till_imports)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout


def test_it_breaks_on_a_cross_app_import_of_a_private_module(tmp_path):
    result = _lint(tmp_path, "from shop import internal\n")
    assert result.returncode == 1
    assert "till.views imports shop.internal, not a public door" in result.stdout
