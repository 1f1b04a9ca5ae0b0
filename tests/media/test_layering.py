import ast
from pathlib import Path

MEDIA = Path(__file__).resolve().parents[2] / "media"


def test_media_never_imports_aiohttp_or_server() -> None:
    for path in MEDIA.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            for name in names:
                root = name.split(".")[0]
                assert root not in ("aiohttp", "server"), f"{path.name} imports {name}"
