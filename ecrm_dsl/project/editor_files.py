"""The files an editor needs to know a project: copies of the JSON Schemas, and VS Code's workspace settings.

The schemas are copied into the project (``.ecrm/schemas/``) so that an editor resolves them, and any ``$ref``
between them, from disk and offline: they carry no ``$id``, so each copy's base URI is where it lies. Each copy
names the ecrm-dsl version that wrote it; ``ecrm lint`` warns when a copy no longer matches the package (W801).

``.vscode/settings.json`` maps each schema to the globs of the folders and files the project configuration
names, in the form the YAML extension (yaml-language-server) reads: a glob relative to the workspace folder.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from ecrm_dsl.project.config import ProjectConfig

SCHEMA_COPIES = Path(".ecrm") / "schemas"
EDITOR_SCHEMA_KINDS = ("scenario", "segment", "template", "preset", "customer_schema", "policies")
EXTENSION_ID = "ecrm-dsl.ecrm-dsl"  # publisher.name of editors/vscode
RECOMMENDED_EXTENSIONS = (EXTENSION_ID, "redhat.vscode-yaml")
_PACKAGE_SCHEMAS = Path(__file__).resolve().parent.parent / "schemas"
_WRITTEN_BY = "ecrm-dsl {version}"


@cache
def package_version() -> str:
    try:
        return version("ecrm-dsl")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "unknown"


@cache  # lint (and the language server, on every edit) compares the copies with it
def schema_copy_text(kind: str) -> str:
    """What ``ecrm schema export`` writes for ``kind``: the package's schema, with the version that wrote it."""
    schema: dict[str, Any] = json.loads((_PACKAGE_SCHEMAS / f"{kind}.schema.json").read_text(encoding="utf-8"))
    stamped: dict[str, Any] = {"$schema": schema.pop("$schema")}
    stamped["$comment"] = (
        f"Written by {_WRITTEN_BY.format(version=package_version())} (`ecrm schema export`) for editors; "
        "`ecrm lint` warns when it is out of date. Do not edit: export again instead."
    )
    stamped.update(schema)
    return json.dumps(stamped, indent=2, ensure_ascii=False) + "\n"


def export_schemas(folder: Path) -> list[Path]:
    """Write every editor schema into ``folder``; returns the files whose content changed (or were new)."""
    folder.mkdir(parents=True, exist_ok=True)
    changed = []
    for kind in EDITOR_SCHEMA_KINDS:
        target = folder / f"{kind}.schema.json"
        text = schema_copy_text(kind)
        if not target.is_file() or target.read_text(encoding="utf-8") != text:
            target.write_text(text, encoding="utf-8")
            changed.append(target)
    return changed


@dataclass(frozen=True)
class StaleCopy:
    """A schema copy that differs from what this version of ecrm-dsl would write."""

    path: Path
    written_by: str | None  # the version named in the copy; None when it names none (or cannot be read)
    text: str  # the copy's current text


def stale_copies(root: Path) -> list[StaleCopy]:
    """The copies in ``root/.ecrm/schemas`` that are out of date; none when the project has no copies."""
    stale = []
    for kind in EDITOR_SCHEMA_KINDS:
        path = root / SCHEMA_COPIES / f"{kind}.schema.json"
        if not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            text = ""
        if text != schema_copy_text(kind):
            stale.append(StaleCopy(path, _written_by(text), text))
    return stale


def _written_by(text: str) -> str | None:
    try:
        comment = json.loads(text).get("$comment", "")
    except (ValueError, AttributeError):
        return None
    prefix = _WRITTEN_BY.format(version="")
    if not isinstance(comment, str) or prefix not in comment:
        return None
    return comment.split(prefix, 1)[1].split(" ", 1)[0] or None


def yaml_schema_globs(config: ProjectConfig) -> dict[str, list[str]]:
    """For each editor schema copy (a path relative to the project root), the globs of the files it describes,
    derived from the configuration. yaml-language-server lets `*` span folders, so `segments/*.yaml` also covers
    the subfolders of segments/ (which are read recursively)."""

    def relative(path: Path) -> str:
        resolved = path.resolve()
        root = config.root.resolve()
        return resolved.relative_to(root).as_posix() if resolved.is_relative_to(root) else resolved.as_posix()

    def folder(path: Path) -> list[str]:
        return [f"{relative(path)}/*.yaml", f"{relative(path)}/*.yml"]

    globs = {
        "scenario": folder(config.scenarios),
        "segment": folder(config.segments),
        "template": folder(config.templates),
        "preset": [glob for preset in config.presets for glob in folder(preset)],
        "customer_schema": [relative(config.customer_schema)],
        "policies": [relative(config.policies)],
    }
    return {(SCHEMA_COPIES / f"{kind}.schema.json").as_posix(): found for kind, found in globs.items() if found}


def vscode_settings(config: ProjectConfig) -> dict[str, Any]:
    """The workspace settings ecrm-dsl needs: its schemas for the YAML files, and .ecrm as its own language."""
    return {"files.associations": {"*.ecrm": "ecrm"}, "yaml.schemas": yaml_schema_globs(config)}


@dataclass(frozen=True)
class Merged:
    """The outcome of merging our settings into a JSON file: the new text, or why the file is left alone."""

    text: str | None  # None: leave the file as it is
    changed: bool = False
    refused: str | None = None  # why the file could not be merged (then the caller prints what to add)


def merge_settings(existing: str | None, wanted: dict[str, Any]) -> Merged:
    """Add ``wanted`` to a settings file: object-valued keys are merged one level deep (other entries kept),
    other keys set. A file that is not plain JSON (VS Code allows comments) is never rewritten: rewriting it
    would lose the comments."""
    if existing is None or not existing.strip():
        return Merged(_dump(wanted), changed=True)
    try:
        current = json.loads(existing)
    except ValueError:
        return Merged(None, refused="it is not plain JSON (comments or trailing commas?)")
    if not isinstance(current, dict):
        return Merged(None, refused="it is not a JSON object")
    merged = dict(current)
    for key, value in wanted.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return Merged(_dump(merged), changed=merged != current)


def merge_recommendations(existing: str | None) -> Merged:
    """``.vscode/extensions.json`` recommending the ecrm-dsl and YAML extensions, keeping other recommendations."""
    if existing is None or not existing.strip():
        return Merged(_dump({"recommendations": list(RECOMMENDED_EXTENSIONS)}), changed=True)
    try:
        current = json.loads(existing)
    except ValueError:
        return Merged(None, refused="it is not plain JSON (comments or trailing commas?)")
    listed = current.get("recommendations", []) if isinstance(current, dict) else None
    if not isinstance(listed, list):
        return Merged(None, refused='its "recommendations" is not a list')
    missing = [name for name in RECOMMENDED_EXTENSIONS if name not in listed]
    return Merged(_dump({**current, "recommendations": listed + missing}), changed=bool(missing))


def _dump(settings: dict[str, Any]) -> str:
    return json.dumps(settings, indent=2, ensure_ascii=False) + "\n"
