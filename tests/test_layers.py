"""Layers of the package: computing modules never import the drawing code."""
import ast
from pathlib import Path

import fser_utils

PACKAGE = Path(fser_utils.__file__).parent

#: the modules that may draw: plotting itself, and those on top of it
DRAWING = {"plotting.py", "chapter.py", "record.py", "cli.py"}


def _imported_modules(path: Path) -> set[str]:
    """Every ``fser_utils`` module that ``path`` imports, at module level or inside a
    function, as absolute dotted names."""
    package = ".".join(("fser_utils",) + path.relative_to(PACKAGE).parent.parts)
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([base] if base else []))
            found.add(base)
            # "from . import plotting" names the module in the alias
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return {name for name in found if name.startswith("fser_utils")}


def _may_draw(path: Path) -> bool:
    rel = path.relative_to(PACKAGE)
    return rel.parts[0] == "commands" or str(rel) in DRAWING


def test_computing_modules_never_import_plotting():
    modules = sorted(PACKAGE.rglob("*.py"))
    assert len(modules) > 30 and PACKAGE / "evaluate.py" in modules
    offenders = sorted(str(p.relative_to(PACKAGE)) for p in modules
                       if not _may_draw(p) and "fser_utils.plotting" in _imported_modules(p))
    assert offenders == []


def test_the_import_finder_sees_every_spelling(monkeypatch):
    spellings = ["from .plotting import plot_history", "from . import plotting",
                 "import fser_utils.plotting", "from fser_utils import plotting",
                 "def f():\n    from .plotting import plot_history"]
    for i, line in enumerate(spellings):
        path = PACKAGE / f"_probe_{i}.py"
        monkeypatch.setattr(Path, "read_text", lambda self, line=line: line)
        assert "fser_utils.plotting" in _imported_modules(path), line
    nested = PACKAGE / "commands" / "_probe.py"
    monkeypatch.setattr(Path, "read_text", lambda self: "from ..plotting import plot_history")
    assert "fser_utils.plotting" in _imported_modules(nested)
    monkeypatch.setattr(Path, "read_text", lambda self: "from .evaluate import evaluate_run")
    assert "fser_utils.plotting" not in _imported_modules(PACKAGE / "x.py")
