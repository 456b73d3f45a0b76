"""House rules of DESIGN.md checked on the source: small functions, __init__ files that only re-export."""
from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "respond"
#: Longest function (lines from ``def`` to its last line, docstring included) without a stated reason.
MAX_FUNCTION_LINES = 60
#: The comment that states why a function is longer, on the ``def`` line or the line above it.
REASON = "# long:"
#: Functions over the limit when the rule was introduced (issue 11), each since split. It stays empty:
#: split a long function, or state its reason with ``# long:``.
KNOWN_LONG: frozenset[str] = frozenset()


def _long_functions() -> list[tuple[str, int, int]]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        lines = path.read_text(encoding="utf-8").splitlines()
        for node in ast.walk(ast.parse("\n".join(lines))):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            length = node.end_lineno - node.lineno + 1
            first = min([node.lineno] + [d.lineno for d in node.decorator_list])
            stated = any(REASON in lines[i - 1] for i in (first - 1, node.lineno) if i >= 1)
            if length > MAX_FUNCTION_LINES and not stated:
                found.append((f"{path.relative_to(PACKAGE).as_posix()}:{node.name}", node.lineno, length))
    return found


def test_no_function_is_longer_than_60_lines_without_a_stated_reason():
    offenders = [f"respond/{name} (line {line}: {length} lines)" for name, line, length in _long_functions()
                 if name not in KNOWN_LONG]
    assert not offenders, ("split these functions, or put '# long: <reason>' on the line above the def:\n  "
                           + "\n  ".join(offenders))


def test_the_length_check_fires(tmp_path, monkeypatch):
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_FUNCTION_LINES + 1))
    (tmp_path / "big.py").write_text(f"def big():\n{body}\n\n# long: a table of constants\ndef stated():\n{body}\n")
    monkeypatch.setattr(__import__(__name__), "PACKAGE", tmp_path)
    assert [name for name, _, _ in _long_functions()] == ["big.py:big"]


def _only_reexports(tree: ast.Module) -> list[str]:
    """Statements of an ``__init__`` module other than its docstring, imports, ``__all__`` and ``__version__``."""
    extra = []
    for i, node in enumerate(tree.body):
        if i == 0 and isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            continue
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if all(isinstance(t, ast.Name) and t.id in ("__all__", "__version__") for t in targets):
                continue
        extra.append(f"line {node.lineno}: {type(node).__name__}")
    return extra


#: ``__init__`` files that hold more than re-exports, by design: the package root resolves its public names
#: lazily (so that a worker process imports only what it uses); ``respond.measure`` and ``respond.outcomes``
#: are callable packages (a five-line module class calling measure_mask / compute_outcomes).
INIT_EXCEPTIONS = {
    "__init__.py",
    "measure/__init__.py",
    "outcomes/__init__.py",
}


def test_init_files_only_reexport():
    offenders = {}
    for path in sorted(PACKAGE.rglob("__init__.py")):
        name = path.relative_to(PACKAGE).as_posix()
        extra = _only_reexports(ast.parse(path.read_text(encoding="utf-8")))
        if extra and name not in INIT_EXCEPTIONS:
            offenders[name] = extra
    assert not offenders, f"move the logic of these __init__ files into modules: {offenders}"
