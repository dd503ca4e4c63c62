"""Layers of the package: each stage imports only earlier stages, and computing modules
never import the drawing code."""
import ast
from pathlib import Path

import fser_utils

PACKAGE = Path(fser_utils.__file__).parent

#: the modules that may draw: the plotting package (every file), and those on top of it
DRAWING = {"chapter.py", "scoring/record.py", "cli.py"}
DRAWING_PACKAGES = {"commands", "plotting"}

#: the pipeline's order: a module may import its own rank and lower ranks only
RANKS = {"errors": 0, "config": 0, "atomic": 0, "trust": 0, "__init__": 0, "__version__": 0,
         "paper": 1, "data": 1, "features": 2, "models": 3, "training": 4, "scoring": 5,
         "studies": 6, "plotting": 7, "chapter": 7, "cli": 7, "commands": 7}


def _rank(dotted: str) -> int:
    """The rank of ``fser_utils.X[.Y]`` (a module or a package)."""
    parts = dotted.split(".")
    return RANKS[parts[1] if len(parts) > 1 else "__init__"]


def _module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE).with_suffix("")
    return ".".join(("fser_utils",) + rel.parts)


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
    return rel.parts[0] in DRAWING_PACKAGES or str(rel) in DRAWING


def _imports_plotting(path: Path) -> bool:
    """Whether ``path`` imports the plotting package or any of its submodules."""
    return any(name == "fser_utils.plotting" or name.startswith("fser_utils.plotting.")
               for name in _imported_modules(path))


def test_computing_modules_never_import_plotting():
    modules = sorted(PACKAGE.rglob("*.py"))
    assert len(modules) > 30 and PACKAGE / "studies" / "evaluate.py" in modules
    offenders = sorted(str(p.relative_to(PACKAGE)) for p in modules
                       if not _may_draw(p) and _imports_plotting(p))
    assert offenders == []
    # every drawing submodule is recognised as such, and only those
    assert all(_may_draw(p) for p in (PACKAGE / "plotting").rglob("*.py"))
    assert not _may_draw(PACKAGE / "studies" / "evaluate.py")


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
    assert not _imports_plotting(PACKAGE / "x.py")
    # a submodule of the plotting package counts as importing plotting
    for line in ["from fser_utils.plotting.comparison import plot_comparison",
                 "import fser_utils.plotting.signals", "from ..plotting import results",
                 "from ..plotting.training import plot_history"]:
        monkeypatch.setattr(Path, "read_text", lambda self, line=line: line)
        assert _imports_plotting(PACKAGE / "studies" / "_probe.py"), line


def test_each_stage_imports_only_earlier_stages():
    modules = sorted(PACKAGE.rglob("*.py"))
    assert {p.relative_to(PACKAGE).parts[0] for p in modules} >= {
        "data", "features", "models", "training", "scoring", "studies"}
    offenders = sorted(
        f"{_module_name(p)} -> {name}" for p in modules for name in _imported_modules(p)
        if _rank(name) > _rank(_module_name(p)))
    assert offenders == []


def test_the_stage_check_sees_a_backward_import(monkeypatch):
    monkeypatch.setattr(Path, "read_text", lambda self: "from fser_utils.studies import leaks")
    path = PACKAGE / "features" / "_probe.py"
    assert any(_rank(n) > _rank(_module_name(path)) for n in _imported_modules(path))
    assert _rank("fser_utils.features") == 2 and _rank("fser_utils") == 0


def test_no_module_is_over_500_lines():
    """A module a newcomer can read in one sitting: split by job beyond that."""
    long = {str(p.relative_to(PACKAGE)): n for p in PACKAGE.rglob("*.py")
            if (n := len(p.read_text().splitlines())) > 500}
    assert long == {}
