"""The files an editor needs to know a project: copies of the JSON Schemas, and VS Code's workspace settings.

The schemas are copied into the project (``.ecrm/schemas/``) so that an editor resolves them, and any ``$ref``
between them, from disk and offline: they carry no ``$id``, so each copy's base URI is where it lies. Each copy
names the ecrm-dsl version that wrote it; ``ecrm lint`` warns when a copy no longer matches the package (W801).
A copy's titles and descriptions are in the language ``ecrm schema export`` ran in (``--lang ja``: Japanese hover
text in the editor); a copy equal to the package's schema in any language is up to date.

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

from ecrm_dsl.language.i18n import LANGUAGES, language, n_
from ecrm_dsl.project.config import ProjectConfig
from ecrm_dsl.syntax.schema_text import TEXT_KEYS, localized_schema, words

SCHEMA_COPIES = Path(".ecrm") / "schemas"
EDITOR_SCHEMA_KINDS = ("scenario", "segment", "template", "preset", "customer_schema", "policies")
EXTENSION_ID = "ecrm-dsl.ecrm-dsl"  # publisher.name of editors/vscode
RECOMMENDED_EXTENSIONS = (EXTENSION_ID, "redhat.vscode-yaml")
_WRITTEN_BY = "ecrm-dsl {version}"  # in every language's stamp, followed by a space
_STAMP = n_(
    "Written by ecrm-dsl {version} (`ecrm schema export`) for editors; `ecrm lint` warns when it is out of date. "
    "Do not edit: export again instead."
)


@cache
def package_version() -> str:
    try:
        return version("ecrm-dsl")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "unknown"


def schema_copy_text(kind: str, in_language: str | None = None) -> str:
    """What ``ecrm schema export`` writes for ``kind``: the package's schema with its prose in ``in_language`` (by
    default the current language), stamped with the version that wrote it."""
    return _copy_text(kind, in_language or language())


@cache  # lint (and the language server, on every edit) compares the copies with it
def _copy_text(kind: str, in_language: str) -> str:
    schema = localized_schema(kind, in_language)
    stamped: dict[str, Any] = {"$schema": schema.pop("$schema")}
    stamped["$comment"] = words(in_language)(_STAMP).format(version=package_version())
    stamped.update(schema)
    return json.dumps(stamped, indent=2, ensure_ascii=False) + "\n"


def export_schemas(folder: Path, in_language: str | None = None) -> list[Path]:
    """Write every editor schema into ``folder``, its prose in ``in_language`` (by default the current language);
    returns the files whose content changed (or were new)."""
    folder.mkdir(parents=True, exist_ok=True)
    changed = []
    for kind in EDITOR_SCHEMA_KINDS:
        target = folder / f"{kind}.schema.json"
        text = schema_copy_text(kind, in_language)
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
    language: str  # the language of its prose, which a refreshed copy keeps

    @property
    def kind(self) -> str:
        return self.path.name.removesuffix(".schema.json")


def stale_copies(root: Path) -> list[StaleCopy]:
    """The copies in ``root/.ecrm/schemas`` that are out of date (equal to the package's schema in no language);
    none when the project has no copies."""
    stale = []
    for kind in EDITOR_SCHEMA_KINDS:
        path = root / SCHEMA_COPIES / f"{kind}.schema.json"
        if not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            text = ""
        if all(text != schema_copy_text(kind, code) for code in LANGUAGES):
            stale.append(StaleCopy(path, _written_by(text), text, _language_of(kind, text)))
    return stale


def _language_of(kind: str, text: str) -> str:
    """The language a copy was written in: the one whose schema shares the most titles and descriptions with it
    (a copy from an older version differs in a few); the current language when it has none to compare."""
    try:
        found = set(_prose(json.loads(text)))
    except ValueError:
        found = set()
    shared = {code: len(found & set(_prose(localized_schema(kind, code)))) for code in LANGUAGES}
    best = max(shared.values())
    if best == 0 or shared.get(language()) == best:
        return language()
    return next(code for code in LANGUAGES if shared[code] == best)


def _prose(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [
            text
            for key, value in node.items()
            for text in ([value] if key in TEXT_KEYS and isinstance(value, str) else _prose(value))
        ]
    if isinstance(node, list):
        return [text for item in node for text in _prose(item)]
    return []


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
