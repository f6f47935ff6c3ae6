"""What a project holds besides its plan: every segment, template and preset defined (used or not), its
configuration, and its files — so ``ecrm diff`` reports a change to something no scenario uses yet.

A plan carries only what its scenarios use; a :class:`ProjectSnapshot` is taken from the loaded workspace while
the sources still exist, and compared only when both sides are projects (a plan file has no such record).
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ecrm_dsl.build.compiler import _segment as compiled_segment
from ecrm_dsl.build.compiler import _template as compiled_template
from ecrm_dsl.language.i18n import n_, tr
from ecrm_dsl.project.workspace import Workspace
from ecrm_dsl.review.diff_model import ADDED, REMOVED, RENAMED, Changes, Code, FileChange, say

Json = dict[str, Any]


@dataclass(frozen=True)
class ProjectSnapshot:
    """Everything a project defines, in the plan's JSON shapes, and the files it reads."""

    segments: dict[str, Json]
    templates: dict[str, Json]
    presets: dict[str, Json]  # the project's own presets, as written
    preset_users: dict[str, list[str]]  # preset -> scenarios made from it
    config: Json  # the ecrm table of ecrm.toml / pyproject.toml
    files: frozenset[str]  # every file read, relative to the project root (the configuration too)
    defines: dict[str, list[str]] = field(default_factory=dict)  # path -> "segment dormant_150", …


def snapshot(workspace: Workspace) -> ProjectSnapshot:
    config = workspace.config
    root = config.root
    read = set(workspace.files)  # the shipped presets are not among them
    presets = {name: _plain(p.doc.data) for name, p in sorted(workspace.presets.items()) if p.span.file in read}
    users: dict[str, list[str]] = {}
    for scenario in workspace.scenarios:
        if scenario.origin is not None:
            users.setdefault(scenario.origin.preset, []).append(scenario.id)
    defines: dict[str, list[str]] = {}
    for scenario in workspace.scenarios:
        defines.setdefault(scenario.span.file, []).append(f"scenario {scenario.id}")
    for noun, table in (("segment", workspace.segments), ("template", workspace.templates)):
        for name, item in table.items():
            defines.setdefault(item.span.file, []).append(f"{noun} {name}")
    for name in presets:
        defines.setdefault(workspace.presets[name].span.file, []).append(f"preset {name}")
    names = [*workspace.files]
    if config.source is not None:
        names.append(config.display(config.source))
    files = frozenset(name for name in names if (root / name).is_file())
    return ProjectSnapshot(
        segments={name: compiled_segment(s) for name, s in sorted(workspace.segments.items())},
        templates={name: compiled_template(t) for name, t in sorted(workspace.templates.items())},
        presets=presets,
        preset_users={name: sorted(ids) for name, ids in sorted(users.items())},
        config=_config_table(config.source),
        files=files,
        defines={path: sorted(found) for path, found in sorted(defines.items())},
    )


def _plain(data: Any) -> Json:
    """Parsed YAML as plain JSON values (dates and the like as text), for comparing and showing."""
    loaded: Json = json.loads(json.dumps(data, ensure_ascii=False, sort_keys=True, default=str))
    return loaded


def _config_table(source: Path | None) -> Json:
    if source is None:
        return {}
    data = tomllib.loads(source.read_text(encoding="utf-8"))
    table = data.get("tool", {}).get("ecrm", {}) if source.name == "pyproject.toml" else data
    return _plain(table)


# --------------------------------------------------------------------------- comparing


def compare_presets(old: ProjectSnapshot, new: ProjectSnapshot) -> list[Changes]:
    """A :class:`Changes` per preset added, removed or changed; a changed preset by the settings that changed."""
    found = []
    for name in sorted(set(old.presets) | set(new.presets)):
        out = Changes("preset", name)
        if name not in old.presets:
            title = str(new.presets[name].get("title", name))
            out.add("preset_added", say(n_("preset {name} added: {title}"), name=name, title=(title,)))
        elif name not in new.presets:
            out.add("preset_removed", say(n_("preset {name} removed"), name=name))
        else:
            _settings(out, old.presets[name], new.presets[name])
        if out.items:
            found.append(out)
    return found


def compare_config(old: ProjectSnapshot, new: ProjectSnapshot) -> Changes:
    """The project configuration's settings that changed (paths, rule selection), one line each."""
    out = Changes("config", "config")
    _settings(out, old.config, new.config)
    return out


def _settings(out: Changes, old: Json, new: Json) -> None:
    """Each changed setting by its path (``scenario.steps[0].delay.day: 1 → 2``), values as JSON, "not set"
    where a side has none."""
    before, after = _leaves(old), _leaves(new)
    for path in sorted(set(before) | set(after), key=_path_order):
        if path in before and path in after and before[path] == after[path]:
            continue
        message = (Code(path), ": ", *_shown(before, path), " → ", *_shown(after, path))
        out.add("setting", message, before=before.get(path), after=after.get(path))


def _shown(settings: dict[str, Any], path: str) -> tuple[str, ...]:
    if path not in settings:
        return (tr("not set"),)
    return (Code(json.dumps(settings[path], ensure_ascii=False, separators=(", ", ": "))),)


def _leaves(value: Any, path: str = "") -> dict[str, Any]:
    """Settings by path; a list of plain values stays one setting (``rules.ignore``), others are indexed."""
    if isinstance(value, dict) and value:
        found: dict[str, Any] = {}
        for key, item in value.items():
            found.update(_leaves(item, f"{path}.{key}" if path else str(key)))
        return found
    if isinstance(value, list) and any(isinstance(item, dict | list) for item in value):
        found = {}
        for index, item in enumerate(value):
            found.update(_leaves(item, f"{path}[{index}]"))
        return found
    return {path: value}


def _path_order(path: str) -> list[tuple[int, int | str]]:
    """Paths in document-ish order: ``steps[2]`` before ``steps[10]``."""
    order: list[tuple[int, int | str]] = []
    for piece in path.replace("[", ".[").split("."):
        order.append((0, int(piece[1:-1])) if piece.startswith("[") else (1, piece))
    return order


def file_changes(old: ProjectSnapshot, new: ProjectSnapshot, renames: dict[str, str] | None = None) -> list[FileChange]:
    """Files added and removed (paths relative to each project's root), and renamed where git says so
    (``renames``: old path -> new path). A file whose content changed is not listed: its meaning is."""
    renames = {a: b for a, b in (renames or {}).items() if a in old.files and b in new.files}
    renamed_to = set(renames.values())
    found: list[FileChange] = []
    for path in sorted(set(old.files) | set(new.files)):
        if path in renames:
            found.append(FileChange(renames[path], RENAMED, new.defines.get(renames[path], []), path))
        elif path in new.files and path not in old.files and path not in renamed_to:
            found.append(FileChange(path, ADDED, new.defines.get(path, [])))
        elif path in old.files and path not in new.files:
            found.append(FileChange(path, REMOVED, old.defines.get(path, [])))
    return sorted(found, key=lambda f: (f.path, f.state))
