"""Architecture guards: the media plane and the domain never depend on the HTTP layer."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def imported_modules(package: Path) -> dict[str, set[str]]:
    found = {}
    for path in package.rglob("*.py"):
        names = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                names.add(node.module)
        found[str(path.relative_to(ROOT))] = names
    return found


def offenders(package: Path, forbidden: tuple[str, ...]) -> list[str]:
    return sorted(
        f"{path}: {name}"
        for path, names in imported_modules(package).items()
        for name in names
        if name.split(".")[0] in forbidden or name.startswith(forbidden)
    )


def test_media_imports_neither_aiohttp_nor_server():
    assert offenders(ROOT / "media", ("aiohttp", "server")) == []


def test_domain_code_has_no_http_or_sql():
    assert offenders(ROOT / "server" / "domain", ("aiohttp", "sqlalchemy")) == []


def test_the_store_knows_nothing_of_the_web_layer():
    """The store once imported the templates for one date helper, and importing it alone
    failed on the resulting import cycle."""
    web_layer = ("aiohttp", "server.templating", "server.views", "server.app", "server.keys")
    assert offenders(ROOT / "server" / "store", web_layer) == []
