"""scripts/cluster as a module, for the tests and benchmarks that drive the local cluster."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "cluster"


def load_cluster_script() -> ModuleType:
    loader = importlib.machinery.SourceFileLoader("sidang_cluster", str(SCRIPT))
    spec = importlib.util.spec_from_loader("sidang_cluster", loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being defined
    loader.exec_module(module)
    return module
