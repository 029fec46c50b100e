"""ARCHITECTURE.md stays true: every path it names exists, and every name it places in a module is defined there."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAP = (ROOT / "ARCHITECTURE.md").read_text()
PATH = re.compile(r"`((?:config|models|notifications|tasks|flows|api|itss|migrations)/[\w./]*|prefect\.yaml|pyproject\.toml)`")


def test_every_path_the_map_names_exists() -> None:
    named = set(PATH.findall(MAP))
    assert len(named) > 30, "the map names the files a newcomer looks for"
    missing = sorted(path for path in named if not (ROOT / path).exists())
    assert not missing, f"ARCHITECTURE.md names paths that do not exist: {missing}"


def test_every_name_placed_in_a_module_is_defined_there() -> None:
    # "`models/gates/service.py` (`may_decide`, `decide`)": each name in the parentheses is defined in that file.
    placed = re.findall(r"`([\w/]+\.py)` \(((?:`\w+`(?:, )?)+)\)", MAP)
    assert placed
    for path, names in placed:
        tree = ast.parse((ROOT / path).read_text())
        defined = {node.name for node in tree.body if isinstance(node, ast.FunctionDef | ast.ClassDef)}
        defined |= {target.id for node in tree.body if isinstance(node, ast.Assign)
                    for target in node.targets if isinstance(target, ast.Name)}
        for name in re.findall(r"`(\w+)`", names):
            assert name in defined, f"ARCHITECTURE.md places {name} in {path}, which does not define it"


def test_no_source_module_is_over_300_lines() -> None:
    # Alembic revisions are the schema's history, written once and never read as code: exempt.
    sources = [path for package in ("config", "models", "notifications", "tasks", "flows", "api", "itss", "migrations")
               for path in (ROOT / package).rglob("*.py") if "versions" not in path.parts]
    too_long = {str(path.relative_to(ROOT)): n for path in sources if (n := len(path.read_text().splitlines())) > 300}
    assert not too_long, f"split these before they grow further (STYLE.md: ~300 lines): {too_long}"
