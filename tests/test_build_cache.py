"""The per-user build cache: the parser tables and schema validators are built once, then loaded; a changed
grammar gets a new entry; a damaged entry, a folder that cannot be written, or one that others could write,
never break a run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import lark.lark
import pytest

from ecrm_dsl.syntax import build_cache
from ecrm_dsl.syntax.text import build_parser, grammar_path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "scenarios").glob("*.ecrm"))
OPTIONS = {"parser": "lalr", "lexer": "contextual", "start": "start"}
TINY = 'start: X+\nX: "a"\n'


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv(build_cache.ENV, str(folder))
    return folder


def _no_grammar_building(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the grammar was analysed again instead of loaded from the cache")

    monkeypatch.setattr(lark.lark, "load_grammar", refuse)


def _positions(tree: lark.Tree) -> list[tuple[object, ...]]:
    return [(t.data, t.meta.line, t.meta.column, t.meta.end_line, t.meta.end_column) for t in tree.iter_subtrees()]


def test_the_parser_is_built_once_then_loaded_and_parses_alike(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    built = build_parser()
    assert [p.name.split("-")[0:2] for p in cache.iterdir()] == [["lark", "parser"]]
    _no_grammar_building(monkeypatch)
    loaded = build_parser()
    assert EXAMPLES
    for path in EXAMPLES:
        text = path.read_text(encoding="utf-8")
        assert loaded.parse(text, start="file") == built.parse(text, start="file")
        assert _positions(loaded.parse(text, start="file")) == _positions(built.parse(text, start="file"))
    condition = 'customer.order_count == 1 and not has_tag("vip")'
    assert loaded.parse(condition, start="condition") == built.parse(condition, start="condition")


def test_a_parser_with_callbacks_is_built_and_calls_them(cache: Path) -> None:
    comments: list[str] = []
    parser = build_parser(lexer_callbacks={"COMMENT": lambda token: comments.append(str(token))})
    parser.parse(EXAMPLES[0].read_text(encoding="utf-8"), start="file")
    assert comments and all(c.startswith("#") for c in comments)


def test_a_changed_grammar_gets_its_own_entry(cache: Path) -> None:
    build_cache.lark_parser(TINY, **OPTIONS)
    changed = build_cache.lark_parser(TINY.replace('"a"', '"b"'), **OPTIONS)
    assert len(list(cache.iterdir())) == 2
    assert changed.parse("bb").children == ["b", "b"]
    with pytest.raises(lark.exceptions.UnexpectedInput):
        changed.parse("aa")


def test_an_entry_of_another_grammar_under_the_same_name_is_not_used(cache: Path) -> None:
    build_cache.lark_parser(TINY, **OPTIONS)
    (old,) = cache.iterdir()
    other = TINY.replace('"a"', '"b"')
    build_cache.lark_parser(other, **OPTIONS)
    (new,) = set(cache.iterdir()) - {old}
    new.write_bytes(old.read_bytes())  # as if the two names collided
    assert build_cache.lark_parser(other, **OPTIONS).parse("b").children == ["b"]


def test_a_damaged_entry_is_built_again(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    build_cache.lark_parser(TINY, **OPTIONS)
    (entry,) = cache.iterdir()
    entry.write_bytes(entry.read_bytes()[:-500])
    assert build_cache.lark_parser(TINY, **OPTIONS).parse("aaa").children == ["a", "a", "a"]
    with monkeypatch.context() as patched:  # and stored whole again: the next one loads
        _no_grammar_building(patched)
        assert build_cache.lark_parser(TINY, **OPTIONS).parse("a").children == ["a"]
    build_cache.compiled("code", ("x = 1",), lambda: "x = 1")
    (code_entry,) = set(cache.iterdir()) - {entry}
    code_entry.write_bytes(code_entry.read_bytes()[:-3])
    namespace: dict[str, object] = {}
    exec(build_cache.compiled("code", ("x = 1",), lambda: "x = 1"), namespace)
    assert namespace["x"] == 1


def test_a_folder_that_cannot_be_made_leaves_everything_working(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("", encoding="utf-8")
    monkeypatch.setenv(build_cache.ENV, str(blocker / "cache"))
    assert build_cache.cache_dir() is None
    assert build_cache.lark_parser(TINY, **OPTIONS).parse("a").children == ["a"]
    assert build_parser().parse('scenario x "t" { kind sell }\n', start="file") is not None


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
def test_a_folder_others_can_write_to_is_not_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    monkeypatch.setenv(build_cache.ENV, str(shared))
    assert build_cache.cache_dir() is None
    build_cache.lark_parser(TINY, **OPTIONS)
    assert list(shared.iterdir()) == []


def test_an_empty_setting_turns_the_cache_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(build_cache.ENV, "")
    assert build_cache.cache_dir() is None
    assert build_cache.entry_path("lark-parser", TINY) is None


def test_a_new_process_lints_from_the_cache_and_reports_the_same(tmp_path: Path) -> None:
    """Two real runs of `ecrm lint`: the first fills the cache, the second reads it; same output."""
    env = {**os.environ, build_cache.ENV: str(tmp_path / "cache")}
    command = [sys.executable, "-m", "ecrm_dsl", "lint", "--format", "json", "scenarios"]
    first = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    entries = sorted(p.name.split("-")[0] for p in (tmp_path / "cache").iterdir())
    assert entries[0] == "lark" and "schema" in entries
    stamps = {p: p.stat().st_mtime_ns for p in (tmp_path / "cache").iterdir()}
    second = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    assert (second.returncode, second.stdout) == (first.returncode, first.stdout) == (0, second.stdout)
    assert {p: p.stat().st_mtime_ns for p in (tmp_path / "cache").iterdir()} == stamps
    assert grammar_path().is_file()
