"""The interior shape of docs/ARCHITECTURE.md, checked: small functions, thin routes, short route modules."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHECKED = ("services", "shared", "gateway")
MAX_FUNCTION_LINES = 80
MAX_ROUTE_FUNCTION_LINES = 30
MAX_ROUTE_MODULE_LINES = 400
HTTP_METHODS = {"get", "post", "put", "patch", "delete", "head", "options", "api_route"}


def _sources() -> list[Path]:
    files = []
    for top in CHECKED:
        files += [p for p in (ROOT / top).rglob("*.py") if "migrations" not in p.parts]
    return sorted(files)


def _functions(path: Path) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]


def _is_route(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    for deco in fn.decorator_list:
        target = deco.func if isinstance(deco, ast.Call) else deco
        if isinstance(target, ast.Attribute) and target.attr in HTTP_METHODS:
            return True
    return False


def _is_route_module(path: Path) -> bool:
    return "routes" in path.stem or "routes" in path.parts


def _length(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """Lines from ``def`` to the end of the body (decorators not counted)."""
    assert fn.end_lineno is not None
    return fn.end_lineno - fn.lineno + 1


def test_the_checked_tree_is_not_empty() -> None:
    sources = _sources()
    assert len(sources) > 50
    assert any(_is_route(fn) for path in sources for fn in _functions(path))


@pytest.mark.parametrize("path", _sources(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_function_is_over_80_lines(path: Path) -> None:
    long = [f"{fn.name} ({_length(fn)} lines)" for fn in _functions(path) if _length(fn) > MAX_FUNCTION_LINES]
    assert not long, f"{path.relative_to(ROOT)}: split these: {', '.join(long)}"


@pytest.mark.parametrize("path", _sources(), ids=lambda p: str(p.relative_to(ROOT)))
def test_routes_are_thin(path: Path) -> None:
    fat = [
        f"{fn.name} ({_length(fn)} lines)"
        for fn in _functions(path)
        if _is_route(fn) and _length(fn) > MAX_ROUTE_FUNCTION_LINES
    ]
    assert not fat, f"{path.relative_to(ROOT)}: move the work into the domain or a dependency: {', '.join(fat)}"


@pytest.mark.parametrize("path", [p for p in _sources() if _is_route_module(p)], ids=lambda p: str(p.relative_to(ROOT)))
def test_route_modules_are_short(path: Path) -> None:
    lines = path.read_text(encoding="utf-8").count("\n")
    assert lines <= MAX_ROUTE_MODULE_LINES, f"{path.relative_to(ROOT)} has {lines} lines; split it by sub-domain"


ROLE_FILES = {
    "app",
    "config",
    "models",
    "deps",
    "handlers",
    "jobs",
    "views",
    "schemas",
    "service",
    "routes",
    "__init__",
}


def test_every_service_file_has_a_role_in_the_architecture_page() -> None:
    """docs/ARCHITECTURE.md names the standard roles; every other module is listed there with its role."""
    page = (ROOT / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")
    unmapped = []
    for path in (ROOT / "services").rglob("*.py"):
        if "migrations" in path.parts:
            continue
        if path.stem in ROLE_FILES or path.stem.endswith("_routes"):
            continue
        if f"`{path.relative_to(ROOT / 'services').as_posix()}`" not in page:
            unmapped.append(str(path.relative_to(ROOT)))
    assert not unmapped, f"give these a role in docs/ARCHITECTURE.md (Named modules): {sorted(unmapped)}"
