"""JSON Schema validation of YAML documents, with each error mapped back to the line and column of its node.

The schemas ship with the package (``ecrm_dsl/schemas/*.schema.json``, draft-07) so editors running
yaml-language-server give the same completion and errors. The messages are ours, written for planners; raw
validator jargon never reaches them.
"""

from __future__ import annotations

import difflib
import importlib.util
import json
import re
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ecrm_dsl.language.ast import Span
from ecrm_dsl.language.diagnostics import Diagnostic, Fix
from ecrm_dsl.language.fixes import replace_exact
from ecrm_dsl.language.i18n import lookup, n_, tr, trn
from ecrm_dsl.language.values import percent_hint
from ecrm_dsl.syntax.yaml_source import YamlDocument

if TYPE_CHECKING:
    import jsonschema
    from jsonschema.exceptions import ValidationError

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schemas"
SCHEMA_KINDS = ("scenario", "segment", "template", "customer_schema", "policies", "preset")


def schema_path(kind: str) -> Path:
    return SCHEMA_DIR / f"{kind}.schema.json"


@cache
def _validator(kind: str) -> jsonschema.Draft7Validator:
    """The reference validator: slow, but its errors say exactly what is wrong (see :func:`_diagnose`)."""
    import jsonschema

    schema = json.loads(schema_path(kind).read_text(encoding="utf-8"))
    return jsonschema.Draft7Validator(inline_definitions(schema), format_checker=None)


@cache
def _fast_check(kind: str) -> Callable[[Any], object]:
    """A validator compiled to Python by fastjsonschema (about 5x faster on valid documents, which most are); it
    only tells valid from invalid. Its code is built once per schema version and kept in the per-user cache, and
    runs without importing fastjsonschema (whose code generators a one-file lint would pay for on every run)."""
    text = schema_path(kind).read_text(encoding="utf-8")

    def generate() -> str:
        import fastjsonschema

        schema = {k: v for k, v in json.loads(text).items() if k != "$id"}  # the entry point is then `validate`
        # No defaults written into the document, no format assertions (the reference validator has none), and
        # only the schema's own local references.
        source = fastjsonschema.compile_to_code(
            schema, handlers=_NO_REMOTE_REFERENCES, use_default=False, use_formats=False
        )
        return source.replace(_EXCEPTIONS_IMPORT, "")

    from ecrm_dsl.syntax import build_cache

    namespace: dict[str, Any] = {"JsonSchemaValueException": _Invalid, "JsonSchemaValuesException": _Invalid}
    exec(build_cache.compiled(f"schema-{kind}", (text, _generator_version()), generate), namespace)
    validate: Callable[[Any], object] = namespace["validate"]
    return validate


_EXCEPTIONS_IMPORT = "from fastjsonschema import JsonSchemaValueException, JsonSchemaValuesException\n"


class _Invalid(ValueError):
    """What the compiled validator raises for an invalid document (its own exception classes, without importing
    fastjsonschema); only the fact matters, jsonschema then says what is wrong."""

    def __init__(self, message: str, *args: Any, **details: Any):
        super().__init__(message)


def _generator_version() -> str:
    """fastjsonschema's version, read without importing it: a new version may generate other code."""
    spec = importlib.util.find_spec("fastjsonschema")
    if spec is not None and spec.origin is not None:
        try:
            return Path(spec.origin).with_name("version.py").read_text(encoding="utf-8")
        except OSError:
            pass
    import fastjsonschema

    return str(fastjsonschema.VERSION)


def _no_remote_reference(uri: str) -> Any:
    raise ValueError(f"the schemas refer only to themselves, not to {uri}")


_NO_REMOTE_REFERENCES = {scheme: _no_remote_reference for scheme in ("http", "https", "file")}


def best_match(errors: list[ValidationError]) -> ValidationError | None:
    """jsonschema's choice of the most telling error, imported only when a document is invalid."""
    from jsonschema.exceptions import best_match as pick

    found: ValidationError | None = pick(errors)
    return found


def _surely_valid(data: Any, kind: str) -> bool:
    try:
        _fast_check(kind)(data)
    except Exception:  # invalid, or a document the compiled code cannot judge: the reference validator decides
        return False
    return True


def inline_definitions(schema: dict[str, Any]) -> dict[str, Any]:
    """The same schema with every non-recursive ``#/definitions/X`` reference replaced by its target.

    Validation then walks plain nested dicts instead of resolving tens of thousands of references per run
    (about half the lint time on a large project); recursive definitions such as ``steps`` stay references.
    """
    definitions: dict[str, Any] = schema.get("definitions", {})

    def refs(node: Any) -> set[str]:
        if isinstance(node, dict):
            found = {node["$ref"].rsplit("/", 1)[1]} if isinstance(node.get("$ref"), str) else set()
            return found.union(*(refs(v) for v in node.values()))
        if isinstance(node, list):
            return set().union(*(refs(v) for v in node))
        return set()

    direct = {name: refs(body) for name, body in definitions.items()}

    def reaches(start: str) -> set[str]:
        seen: set[str] = set()
        stack = list(direct.get(start, ()))
        while stack:
            name = stack.pop()
            if name not in seen:
                seen.add(name)
                stack.extend(direct.get(name, ()))
        return seen

    recursive = {name for name in definitions if name in reaches(name)}

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            target = node.get("$ref")
            if isinstance(target, str) and target.startswith("#/definitions/") and len(node) == 1:
                name = target.rsplit("/", 1)[1]
                if name not in recursive and name in definitions:
                    return inline(definitions[name])
            return {k: inline(v) for k, v in node.items()}
        if isinstance(node, list):
            return [inline(v) for v in node]
        return node

    body = inline({k: v for k, v in schema.items() if k != "definitions"})
    return {**body, "definitions": {k: inline(v) for k, v in definitions.items()}}


def validate_document(doc: YamlDocument, kind: str) -> list[Diagnostic]:
    """Every shape error of ``doc`` against the schema for ``kind``, positioned and in planner words."""
    findings: list[Diagnostic] = []
    if _surely_valid(doc.data, kind):
        return findings
    for error in sorted(_validator(kind).iter_errors(doc.data), key=lambda e: [str(p) for p in e.absolute_path]):
        findings.append(_diagnose(_focus(error), doc))
    return findings


def _focus(error: ValidationError) -> ValidationError:
    """For oneOf/anyOf without a message of its own, the sub-error that best explains the problem."""
    while (
        error.validator in ("oneOf", "anyOf", "not")
        and error.context
        and not (isinstance(error.schema, dict) and "x-message" in error.schema)
    ):
        relevant = [e for e in error.context if e.validator != "type"] or list(error.context)
        error = best_match(relevant) or error
        if error.validator not in ("oneOf", "anyOf"):
            break
    return error


def _type_name(value: Any) -> str:
    """What a value is, in the current language."""
    if isinstance(value, bool):
        return lookup(n_("true/false"))
    if isinstance(value, (int, float)):
        return lookup(n_("a number"))
    if isinstance(value, str):
        return lookup(n_("text"))
    if isinstance(value, list):
        return lookup(n_("a list"))
    if isinstance(value, dict):
        return lookup(n_("a mapping"))
    return lookup(n_("nothing (null)"))


_EXPECTED = {
    "string": n_("text"),
    "integer": n_("a whole number"),
    "number": n_("a number"),
    "boolean": n_("true or false"),
    "array": n_("a list"),
    "object": n_("a mapping"),
    "null": "null",
}


def _expected(types: list[str]) -> str:
    """The types the schema wants, in words: ``text or a whole number``."""
    names = [lookup(_EXPECTED[t]) if t in _EXPECTED else t for t in types]
    shown = names[0]
    for name in names[1:]:
        shown = tr("{before} or {after}", before=shown, after=name)
    return shown


def _prose(text: object) -> str | None:
    """A title, description or x-message of the schemas in the current language (the catalogue carries them)."""
    return lookup(text) if isinstance(text, str) else None


def _diagnose(error: ValidationError, doc: YamlDocument) -> Diagnostic:
    path = tuple(error.absolute_path)
    where = ".".join(str(p) for p in path) or tr("the document")
    span = doc.span(path)
    schema = error.schema if isinstance(error.schema, dict) else {}
    hint = None
    fix: Fix | None = None
    if _is_percent(error):
        # A literal, not a shape: the same finding as a malformed percentage in the text syntax.
        value = error.instance
        shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        hint = (
            tr("write {percent}%", percent=round(value * 100)) if isinstance(value, float) and 0 < value < 1 else None
        )
        fix = _fraction_fix(doc, span, value)
        message = tr("{where}: '{value}' is not a percentage", where=where, value=shown)
        return Diagnostic("E006", message, span, hint=hint or percent_hint(shown), fix=fix)
    if "x-message" in schema and error.validator in ("oneOf", "anyOf", "not"):
        message = tr("{where}: {explanation}", where=where, explanation=_prose(schema["x-message"]))
    elif error.validator == "required":
        missing = str(error.message).split("'")[1]
        message = tr("{where}: '{key}' is missing", where=where, key=missing)
        hint = _property_help(error, missing)
    elif error.validator == "additionalProperties":
        allowed = sorted(schema.get("properties", {}))
        instance: Any = error.instance
        extra = [k for k in instance if k not in schema.get("properties", {})]
        key = extra[0] if extra else "?"
        span = doc.key_span((*path, key))
        if path:
            message = tr("unknown key '{key}' in {where}", key=key, where=where)
        else:
            message = tr("unknown key '{key}' in the document", key=key)
        close = difflib.get_close_matches(key, allowed, n=1)
        if close:
            hint = tr("did you mean '{value}'?", value=close[0])
        else:
            hint = tr("allowed keys: {keys}", keys=", ".join(allowed))
        fix = _scalar_fix(doc, span, key, close[0]) if close and close[0] not in instance else None
    elif error.validator == "enum":
        allowed_values: Any = error.validator_value
        options = [str(o) for o in allowed_values]
        message = tr("{where}: '{value}' is not allowed here", where=where, value=error.instance)
        close = difflib.get_close_matches(str(error.instance), options, n=1)
        if close:
            hint = tr("did you mean '{value}'? use one of: {values}", value=close[0], values=", ".join(options))
        else:
            hint = tr("use one of: {values}", values=", ".join(options))
        if close and isinstance(error.instance, str) and close[0] in allowed_values:
            fix = _scalar_fix(doc, span, error.instance, close[0])
    elif error.validator == "type":
        expected = error.validator_value
        types = [str(t) for t in (expected if isinstance(expected, list) else [expected])]
        message = tr(
            "{where}: expected {expected}, found {found}",
            where=where,
            expected=_expected(types),
            found=_type_name(error.instance),
        )
    elif error.validator == "pattern":
        message = tr("{where}: '{value}' is not valid here", where=where, value=error.instance)
        hint = _prose(schema.get("description"))
    elif error.validator == "minimum":
        message = tr(
            "{where}: {value} is out of range (minimum {limit})",
            where=where,
            value=error.instance,
            limit=error.validator_value,
        )
    elif error.validator == "maximum":
        message = tr(
            "{where}: {value} is out of range (maximum {limit})",
            where=where,
            value=error.instance,
            limit=error.validator_value,
        )
    elif error.validator in ("minItems", "minProperties"):
        least: Any = error.validator_value
        count = int(least)
        message = trn(
            "{where}: needs at least {count} entry",
            "{where}: needs at least {count} entries",
            count,
            where=where,
            count=count,
        )
    elif error.validator == "not":
        message = tr("{where}: these keys cannot be used together", where=where)
        hint = _prose(schema.get("description")) or _parent_description(error)
    elif error.validator in ("oneOf", "anyOf"):
        message = tr("{where}: the value does not match any allowed form", where=where)
        hint = _prose(schema.get("description"))
    elif error.validator in ("minLength", "maxLength", "uniqueItems", "const"):
        message = _jsonschema_words(error, where)
    else:  # a keyword the schemas do not use today: jsonschema's own words
        message = f"{where}: {error.message}"
    return Diagnostic("E100", message, span, hint=hint, fix=fix)


def _jsonschema_words(error: ValidationError, where: str) -> str:
    """What jsonschema says of these keywords (the English unchanged), in the current language."""
    limit: Any = error.validator_value
    shown = repr(error.instance)
    if error.validator == "minLength":
        if limit == 1:
            return tr("{where}: {value} should be non-empty", where=where, value=shown)
        return tr("{where}: {value} is too short", where=where, value=shown)
    if error.validator == "maxLength":
        if limit == 0:
            return tr("{where}: {value} is expected to be empty", where=where, value=shown)
        return tr("{where}: {value} is too long", where=where, value=shown)
    if error.validator == "uniqueItems":
        return tr("{where}: {value} has non-unique elements", where=where, value=shown)
    return tr("{where}: {value} was expected", where=where, value=repr(limit))


# A word YAML reads back as the same text, plain or quoted (not true/yes/null/a number).
_PLAIN_WORD = re.compile(r"[A-Za-z_][\w.-]*")
_YAML_SPECIAL = {"true", "false", "yes", "no", "on", "off", "y", "n", "null", "~"}


def _fraction_fix(doc: YamlDocument, span: Span, value: Any) -> Fix | None:
    """``0.1`` written for a percentage → ``10%``, when the fraction is a whole percent (0.125 is left alone)."""
    if not isinstance(value, float) or not 0 < value < 1 or abs(value * 100 - round(value * 100)) > 1e-9:
        return None
    if span.end_line != span.line or not 0 < span.line <= len(doc.lines):
        return None
    written = doc.lines[span.line - 1][span.column - 1 : span.end_column - 1]
    try:
        if float(written) != value:
            return None
    except ValueError:
        return None  # quoted, or not the number itself
    return replace_exact(span, written, f"{round(value * 100)}%")


def _scalar_fix(doc: YamlDocument, span: Span, value: str, replacement: str) -> Fix | None:
    """Replaces a key or value written plain or in quotes, checked against the file's text at ``span``."""
    if not _PLAIN_WORD.fullmatch(replacement) or replacement.lower() in _YAML_SPECIAL:
        return None
    if span.end_line != span.line or not 0 < span.line <= len(doc.lines):
        return None
    written = doc.lines[span.line - 1][span.column - 1 : span.end_column - 1]
    if written == value:
        return replace_exact(span, value, replacement)
    quoted = len(written) == len(value) + 2 and written[0] == written[-1] and written[0] in "\"'"
    if quoted and written[1:-1] == value:
        inner = Span(span.file, span.line, span.column + 1, span.line, span.end_column - 1)
        return replace_exact(inner, value, replacement)
    return None


def _is_percent(error: ValidationError) -> bool:
    """Whether the value failed the schema's ``percent`` definition (a pattern ending in ``%``), in any branch
    except the range of a whole number, which the range message explains better."""
    if error.validator in ("minimum", "maximum"):
        return False
    node: Any = error  # a ValidationError, then its parents
    while node is not None:
        schema = node.schema if isinstance(node.schema, dict) else {}
        branches = schema.get("oneOf", [schema])
        if any(isinstance(b, dict) and str(b.get("pattern", "")).endswith("%$") for b in branches):
            return True
        node = node.parent
    return False


def _property_help(error: ValidationError, key: str) -> str | None:
    schema = error.schema if isinstance(error.schema, dict) else {}
    prop = schema.get("properties", {}).get(key, {})
    if "description" in prop:
        return tr("'{key}': {description}", key=key, description=_prose(prop["description"]))
    return None


def _parent_description(error: ValidationError) -> str | None:
    parent = error.parent
    while parent is not None:
        if isinstance(parent.schema, dict) and parent.schema.get("description"):
            return _prose(parent.schema["description"])
        parent = parent.parent
    return None
