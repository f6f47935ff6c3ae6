"""The dependency direction the README's "Development" section promises, checked over the package's imports.

Our own check rather than import-linter: the rules are few and specific to this layout (a package-level
"runtime never imports the front end", a module-level "SQL only in store/"), one of them is about what a
real interpreter loads at import time (lark, jsonschema, PyYAML), which a static contract cannot see; and it
needs no extra dependency. ``ast`` reads every import, including those inside functions and under
``TYPE_CHECKING``: a deferred import is still a dependency.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "ecrm_dsl"

# The front end reads and checks sources; the runtime reads plans only.
FRONT_END = ("syntax", "checks", "project", "format", "build", "review")
RUNTIME = ("runtime", "conditions", "store", "delivery", "simulate", "report", "importer", "demo", "preview")
# Shared by both sides, so held to the runtime's rules: the language itself and the plan (the contract).
SHARED = ("language", "plan")
PARSERS = ("lark", "jsonschema", "yaml")

# SQLAlchemy names that build statements. Types (Connection, Engine, Table, Select) and errors are fine anywhere.
STATEMENT_BUILDERS = {
    "select", "insert", "update", "delete", "text", "func", "case", "literal", "literal_column", "and_", "or_",
    "not_", "bindparam", "exists", "union", "union_all", "tuple_", "column", "table", "inspect", "cast",
    "distinct", "true", "false", "null",
}  # fmt: skip
SQL_HOMES = ("ecrm_dsl.store", "ecrm_dsl.conditions.sql")


@dataclass(frozen=True)
class Import:
    module: str  # the importing module
    target: str  # what it imports: a module, or module.name for ``from module import name``
    line: int


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def imports(path: Path) -> Iterator[Import]:
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    return imports_in(path.read_text(encoding="utf-8"), name, package)


def imports_in(source: str, name: str, package: str) -> Iterator[Import]:
    """The imports of module ``name`` (in ``package``), wherever they stand in its source."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(name, alias.name, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against the importing package
                anchor = package.rsplit(".", node.level - 1)[0]
                base = f"{anchor}.{base}" if base else anchor
            for alias in node.names:
                yield Import(name, f"{base}.{alias.name}", node.lineno)


def layer(module: str) -> str:
    """The top-level folder of an ``ecrm_dsl`` module ("" for anything else)."""
    parts = module.split(".")
    return parts[1] if parts[0] == "ecrm_dsl" and len(parts) > 1 else ""


def test_the_scan_sees_every_kind_of_import() -> None:
    """The checks below are only as good as this reader: plain, from, relative, nested and aliased imports."""
    source = "import ecrm_dsl.cli as c\nfrom ecrm_dsl import cli\nfrom ..syntax import text\n"
    source += "def f():\n    from .steps import x\n"
    found = [(i.target, i.line) for i in imports_in(source, "ecrm_dsl.runtime.probe", "ecrm_dsl.runtime")]
    assert found == [
        ("ecrm_dsl.cli", 1),
        ("ecrm_dsl.cli", 2),
        ("ecrm_dsl.syntax.text", 3),
        ("ecrm_dsl.runtime.steps.x", 5),
    ]


def test_nothing_imports_the_cli() -> None:
    """``cli/`` is the only place that talks to the terminal; ``python -m ecrm_dsl`` (``__main__``) starts it."""
    wrong = [
        f"{i.module}:{i.line} imports {i.target}"
        for path in modules()
        for i in imports(path)
        if layer(i.target) == "cli" and layer(i.module) != "cli" and i.module != "ecrm_dsl.__main__"
    ]
    assert wrong == []


def test_the_runtime_never_imports_the_front_end() -> None:
    wrong = [
        f"{i.module}:{i.line} imports {i.target}"
        for path in modules()
        for i in imports(path)
        if layer(i.module) in RUNTIME + SHARED and layer(i.target) in (*FRONT_END, "cli")
    ]
    assert wrong == []


def test_the_language_depends_on_nothing_else_of_ours() -> None:
    wrong = [
        f"{i.module}:{i.line} imports {i.target}"
        for path in modules()
        for i in imports(path)
        if layer(i.module) == "language" and layer(i.target) not in ("", "language")
    ]
    assert wrong == []


# Imports each module in turn and names, for every parser or front-end module that appears, the module whose
# import brought it in.
LOADED = """
import importlib, json, sys
parsers, front = json.loads(sys.argv[1]), json.loads(sys.argv[2])
blame = {}
for name in json.loads(sys.argv[3]):
    before = set(sys.modules)
    importlib.import_module(name)
    for new in sorted(set(sys.modules) - before):
        parts = new.split(".")
        if parts[0] in parsers:
            blame.setdefault(parts[0], name)
        elif parts[0] == "ecrm_dsl" and len(parts) > 1 and parts[1] in front:
            blame.setdefault(new, name)
print(json.dumps(blame))
"""


def test_the_runtime_loads_no_parser_and_no_front_end_at_import_time() -> None:
    """Import every runtime module in a fresh interpreter: no Lark, jsonschema or PyYAML gets loaded, and no
    module of the front end (the blame names the first runtime module that pulled one in)."""
    names = [module_name(p) for p in modules() if layer(module_name(p)) in RUNTIME + SHARED]
    # Alembic runs env.py and the revisions itself, inside a migration: they cannot be imported alone.
    names = [n for n in names if not n.startswith("ecrm_dsl.store.migrations.")]
    assert "ecrm_dsl.delivery.render" in names and "ecrm_dsl.runtime.dispatch" in names
    front = [*FRONT_END, "cli"]
    done = subprocess.run(
        [sys.executable, "-c", LOADED, json.dumps(PARSERS), json.dumps(front), json.dumps(names)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    assert json.loads(done.stdout) == {}


def sql_builders(path: Path) -> list[str]:
    """Where a module builds SQL: statement builders imported from SQLAlchemy, ``sa.select(...)`` through a
    module alias, ``table.insert()``-style calls, and raw SQL strings passed to ``execute``."""
    found = []
    aliases = set()
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sqlalchemy"):
            found += [f"{node.lineno}: {a.name}" for a in node.names if a.name in STATEMENT_BUILDERS]
        elif isinstance(node, ast.Import):
            aliases |= {a.asname or a.name for a in node.names if a.name.startswith("sqlalchemy")}
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        attribute, receiver = node.func.attr, node.func.value
        if isinstance(receiver, ast.Name) and receiver.id in aliases and attribute in STATEMENT_BUILDERS:
            found.append(f"{node.lineno}: {receiver.id}.{attribute}")
        elif attribute in ("insert", "select", "update", "delete") and not node.args and not node.keywords:
            found.append(f"{node.lineno}: .{attribute}()")
        elif attribute in ("execute", "exec_driver_sql") and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                found.append(f"{node.lineno}: {attribute}({first.value[:30]!r})")
    return found


def test_all_sql_lives_in_store() -> None:
    outside = {}
    for path in modules():
        name = module_name(path)
        if name.startswith(SQL_HOMES):
            continue
        found = sql_builders(path)
        if found:
            outside[name] = found
    assert outside == {}


def test_the_sql_scan_sees_statements(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text(
        "import sqlalchemy as sa\nfrom sqlalchemy import Connection, insert\n"
        "def f(conn, table):\n    conn.execute(sa.select(table))\n    conn.execute(table.delete())\n"
        "    conn.exec_driver_sql('DELETE FROM t')\n    {}.update({'a': 1})\n",
        encoding="utf-8",
    )
    assert sorted(sql_builders(probe)) == sorted(
        ["2: insert", "4: sa.select", "5: .delete()", "6: exec_driver_sql('DELETE FROM t')"]
    )
