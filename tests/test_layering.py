"""Architecture guards: the media plane and the domain never depend on the HTTP layer."""

import ast
import subprocess
import sys
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


FEATURES = ("live", "room", "archive", "search", "comments", "pengaduan")


def test_features_are_packages_with_their_routes_beside_them():
    for feature in FEATURES:
        package = ROOT / "server" / feature
        assert (package / "__init__.py").is_file(), feature
        assert (package / "views.py").is_file(), feature
        assert not (ROOT / "server" / f"{feature}.py").exists(), f"server/{feature}.py lies flat"


def test_keys_load_no_media_and_no_service():
    """Anything may import the keys; they must not drag aiortc, PyAV or a service in."""
    probe = (
        "import sys, server.keys; "
        "print(' '.join(sorted(m for m in sys.modules if m.split('.')[0] in ('aiortc', 'av', "
        "'media') or m.startswith(('server.live', 'server.room', 'server.archive', "
        "'server.comments', 'server.pengaduan', 'server.store')))))"
    )
    found = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert found.stdout.split() == []


def test_only_app_py_builds_services():
    """app.py wires every service in one explicit order; the CLI may add process-wide
    contexts (the garbage collector policy, the demo's hall feed)."""
    wiring = ("cleanup_ctx", "on_startup", "on_shutdown", "on_cleanup", "web.AppKey(")
    found = sorted(
        f"{path.relative_to(ROOT)}: {word}"
        for path in (ROOT / "server").rglob("*.py")
        if path.name not in ("app.py", "keys.py", "cli.py") or path.parent.name != "server"
        for word in wiring
        if word in path.read_text()
    )
    assert found == []


def test_view_modules_only_declare_routes():
    """A module's `setup(app)` adds routes and does nothing else."""
    offenders = []
    for path in (ROOT / "server").rglob("*.py"):
        tree = ast.parse(path.read_text(), str(path))
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and node.name == "setup":
                for statement in node.body:
                    if not _declares_routes(statement):
                        offenders.append(f"{path.relative_to(ROOT)}:{statement.lineno}")
    assert offenders == []


def _declares_routes(statement: ast.stmt) -> bool:
    source = ast.unparse(statement)
    if isinstance(statement, ast.Assign):
        return source == "r = app.router" or source.startswith("base = ")
    routing = ("r.add_", "app.router.add_", "routes.install(app)")
    return isinstance(statement, ast.Expr) and source.startswith(routing)
