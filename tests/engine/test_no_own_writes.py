"""No module writes a whole file but through the one atomic write (nst_engine/store/safe_files.py:
write_atomically, tested against kills in tests/engine/test_atomic_writes.py), nor spells out a
temporary's name of its own: a check of the source tree's syntax."""

from __future__ import annotations

import ast
from pathlib import Path

import nst_engine

ROOT = Path(nst_engine.__file__).resolve().parents[1]

# What writes a whole file by itself: a call of one of these (module.function or .method).
WHOLE_FILE_WRITES = {
    "write_text",
    "write_bytes",
    "os.replace",
    "os.rename",
    "os.renames",
    "os.link",
    "rename",
    "Path.replace",
    "Image.save",
    "shutil.copy",
    "shutil.copy2",
    "shutil.copyfile",
    "shutil.move",
    "torch.save",
    "save_file",
    "np.save",
    "mkstemp",
    "NamedTemporaryFile",
}
# Where such a call is not a whole file's write of its own, and why.
ALLOWED = {
    ("nst_engine/store/safe_files.py", "os.replace"): "the one function",
    ("nst_engine/store/safe_files.py", "os.rename"): "the one function",
    ("nst_engine/store/safe_files.py", "os.link"): "the one function",
    ("nst_engine/store/safe_files.py", "os.open"): "the one function and appends",
    ("nst_engine/store/run_lock.py", "os.open"): "the lock file: created, never written",
    ("nst_engine/store/run_folder.py", "torch.save"): "into write_atomically's stream",
    ("nst_engine/store/output_index.py", "os.rename"): "a folder written whole, renamed",
    ("nst_engine/video/frames.py", "open"): "PyAV's muxer into write_atomically's stream",
    ("benchmarks/key_latency.py", "write_text"): "a /proc setting, not a file",
    ("nst_engine/jobs/chunk_ray.py", "write_bytes"): "a worker's private scratch folder",
    ("nst_engine/jobs/chunk_runs.py", "shutil.copyfile"): "a chunk's input frames, scratch",
    ("benchmarks/app_vs_headless.py", "open"): "the null device",
}


def called_name(call: ast.Call) -> str:
    function = call.func
    if isinstance(function, ast.Name):
        return function.id
    if isinstance(function, ast.Attribute):
        if isinstance(function.value, ast.Name) and function.value.id in ("os", "shutil", "np"):
            return f"{function.value.id}.{function.attr}"
        if isinstance(function.value, ast.Name) and function.value.id == "torch":
            return f"torch.{function.attr}"
        if function.attr == "replace" and len(call.args) == 1 and not call.keywords:
            return "Path.replace"  # a rename (str.replace takes two; a dataclass's, keywords)
        formats = [keyword for keyword in call.keywords if keyword.arg == "format"]
        if function.attr == "save" and len(call.args) == 1 and not formats:
            return "Image.save"  # to a path: Pillow needs the format for a stream
        return function.attr
    return ""


def opens_to_write(call: ast.Call, name: str) -> bool:
    """open(path, "w"), path.open("a"), os.open(path, ... O_CREAT ...)."""
    if name == "os.open":
        return any(
            isinstance(node, ast.Attribute) and node.attr in ("O_CREAT", "O_TRUNC")
            for node in ast.walk(call)
        )
    if name != "open":
        return False
    position = 0 if isinstance(call.func, ast.Attribute) else 1
    modes = [keyword.value for keyword in call.keywords if keyword.arg == "mode"]
    modes += call.args[position : position + 1]
    return any(
        isinstance(mode, ast.Constant)
        and isinstance(mode.value, str)
        and set(mode.value) & set("wax+")
        for mode in modes
    )


def modules():
    """(name, syntax tree) of every module of the project."""
    for package in ("nst_engine", "nst_tui", "benchmarks", "docs", "styles"):
        for path in sorted((ROOT / package).rglob("*.py")):
            yield path.relative_to(ROOT).as_posix(), ast.parse(path.read_text(encoding="utf-8"))


def whole_file_writes() -> list[str]:
    found = []
    for module, tree in modules():
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = called_name(node)
            writes = name in WHOLE_FILE_WRITES or opens_to_write(node, name)
            if writes and (module, name) not in ALLOWED:
                found.append(f"{module}:{node.lineno} {name}")
    return found


def test_no_module_writes_a_whole_file_but_through_write_atomically():
    assert whole_file_writes() == []


# Where a name of a temporary is spelled out but in safe_files.py (write_atomically's), and why.
TEMPORARY_NAMES = {
    ("nst_engine/store/output_index.py", ".tmp"): "a folder of a random name, renamed",
    ("nst_engine/store/run_folder.py", ".*.tmp"): "what a killed checkpoint write left, removed",
}


def temporary_names() -> list[str]:
    """Strings (docstrings aside) ending as a temporary file's name does: `.{name}.tmp`."""
    found = []
    for module, tree in modules():
        if module == "nst_engine/store/safe_files.py":
            continue
        documents = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
            and node.body
            and isinstance(node.body[0], ast.Expr)
        }
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and id(node) not in documents
                and node.value.endswith((".tmp", ".temp", ".part", ".partial", ".new"))
                and (module, node.value) not in TEMPORARY_NAMES
            ):
                found.append(f"{module}:{node.lineno} {node.value!r}")
    return found


def test_no_module_names_a_temporary_of_its_own():
    """A fixed temporary name (`.settings.toml.tmp`) is shared by two writers at once."""
    assert temporary_names() == []
