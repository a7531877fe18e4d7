"""The layers depend on each other one way at each border (docs/architecture.md "Layout")."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def imports_of(path: Path) -> set[str]:
    """Absolute names of the modules a file imports (relative imports resolved)."""
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def sources(package: str) -> list[Path]:
    return [path for path in (ROOT / package).rglob("*.py") if "migrations" not in path.parts]


@pytest.mark.parametrize("path", sources("tournaments"), ids=str)
def test_the_domain_reaches_realtime_only_through_broadcast(path):
    into_realtime = {name for name in imports_of(path) if name.split(".")[0] == "realtime"}
    assert into_realtime <= {"realtime.broadcast"}


@pytest.mark.parametrize("path", sources("realtime"), ids=str)
def test_realtime_reaches_the_domain_only_through_selectors(path):
    into_domain = {name for name in imports_of(path) if name.split(".")[0] == "tournaments"}
    assert into_domain <= {"tournaments.selectors"}
    if path.name in {"broadcast.py", "events.py", "tasks.py", "live_fields.py"} or "store" in path.parts:
        assert not into_domain, "the publishing side needs nothing from the domain"


def test_selectors_know_nothing_of_redis():
    imported = imports_of(ROOT / "tournaments" / "selectors.py")
    assert not {name for name in imported if name.split(".")[0] in {"realtime", "redis"}}
