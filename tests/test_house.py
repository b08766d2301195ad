"""The house rules that code review keeps finding broken, checked on the source itself.

No module imports itself back through others (lazy and type-only imports count too: a circle
is a design fault even when Python tolerates it); no broad exception is swallowed without a
word; modules stay under about 400 lines and functions under about 60, but for those named
here with the work that splits them.
"""

from __future__ import annotations

import ast
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]
PACKAGES = ("nst_engine", "nst_tui")
MODULE_LINES = 400
FUNCTION_LINES = 60

# Over the limits today, each split by a piece of work of its own (issue 21).
LONG_MODULES: dict[str, str] = {}  # none today
LONG_FUNCTIONS: dict[str, str] = {}  # none today
BROAD = {"Exception", "BaseException"}
LOGGING = {"debug", "info", "warning", "error", "exception", "critical"}


def source_files() -> list[Path]:
    return sorted(path for package in PACKAGES for path in (REPOSITORY / package).rglob("*.py"))


def module_name(path: Path) -> str:
    parts = path.relative_to(REPOSITORY).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, modules: set[str]) -> set[str]:
    """The project's modules `path` imports anywhere in it (a package's face is left out)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names = [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            while name and name not in modules:
                name = name.rpartition(".")[0]
            if name and name not in PACKAGES:
                found.add(name)
    return found


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for other in sorted(graph[module]):
            if other not in index:
                visit(other)
                low[module] = min(low[module], low[other])
            elif other in stack:
                low[module] = min(low[module], index[other])
        if low[module] == index[module]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == module:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return found


def test_no_module_imports_itself_back_through_others() -> None:
    paths = {module_name(path): path for path in source_files()}
    graph = {name: imports_of(path, set(paths)) - {name} for name, path in paths.items()}
    assert circles(graph) == []


def is_broad(handler: ast.ExceptHandler) -> bool:
    kinds = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return any(kind is None or (isinstance(kind, ast.Name) and kind.id in BROAD) for kind in kinds)


def says_something(body: list[ast.stmt], name: str | None) -> bool:
    """Whether a handler's body raises, logs, or uses the error it caught."""
    for node in ast.walk(ast.Module(body=body, type_ignores=[])):
        if isinstance(node, ast.Raise):
            return True
        if isinstance(node, ast.Call) and getattr(node.func, "attr", None) in LOGGING:
            return True
        if name is not None and isinstance(node, ast.Name) and node.id == name:
            return True
    return False


def silent_handlers(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ExceptHandler) and is_broad(node):
            if not says_something(node.body, node.name):
                found.append(f"{path.relative_to(REPOSITORY)}:{node.lineno}")
        elif isinstance(node, ast.withitem) and isinstance(node.context_expr, ast.Call):
            call = node.context_expr
            if getattr(call.func, "attr", None) == "suppress" and any(
                isinstance(argument, ast.Name) and argument.id in BROAD for argument in call.args
            ):
                found.append(f"{path.relative_to(REPOSITORY)}:{call.lineno}")
    return found


def test_no_broad_exception_is_swallowed_without_a_word() -> None:
    assert [place for path in source_files() for place in silent_handlers(path)] == []


def relative(path: Path) -> str:
    return str(path.relative_to(REPOSITORY))


def test_modules_stay_under_about_400_lines() -> None:
    long = {
        relative(path): len(path.read_text(encoding="utf-8").splitlines())
        for path in source_files()
    }
    over = {name: lines for name, lines in long.items() if lines > MODULE_LINES}
    assert set(over) <= set(LONG_MODULES), over


def long_functions(path: Path) -> dict[str, int]:
    found = {}

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = (child.end_lineno or child.lineno) - child.lineno + 1
                if lines > FUNCTION_LINES:
                    found[f"{relative(path)}:{prefix}{child.name}"] = lines
                visit(child, f"{prefix}{child.name}.")
            elif isinstance(child, ast.ClassDef):
                visit(child, f"{prefix}{child.name}.")

    visit(ast.parse(path.read_text(encoding="utf-8")), "")
    return found


def test_functions_stay_under_about_60_lines() -> None:
    over = {name: lines for path in source_files() for name, lines in long_functions(path).items()}
    assert set(over) <= set(LONG_FUNCTIONS), {
        name: lines for name, lines in over.items() if name not in LONG_FUNCTIONS
    }


def unnamed_bindings(path: Path) -> list[str]:
    """The `Binding(...)` calls in a class's BINDINGS without an `id` (a keymap names a key by
    its binding's id, as Posting's screens do)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == "BINDINGS" for target in node.targets
        ):
            for call in ast.walk(node.value):
                if (
                    isinstance(call, ast.Call)
                    and getattr(call.func, "id", None) == "Binding"
                    and not any(keyword.arg == "id" for keyword in call.keywords)
                ):
                    found.append(f"{relative(path)}:{call.lineno}")
    return found


def test_every_screen_binding_has_an_id() -> None:
    screens = sorted((REPOSITORY / "nst_tui" / "app" / "screens").glob("*.py"))
    assert [place for path in screens for place in unnamed_bindings(path)] == []
