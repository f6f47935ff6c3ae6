"""The message catalogues: which messages the code has (extracted with Babel), and the Japanese catalogue kept in
step with them.

    python -m tests.catalogue    # after adding or changing a message: the .po gains it untranslated, the .mo is
                                 # compiled again; then translate the new entries in the .po and run it once more

English is the language the messages are written in, so its catalogue is the code itself. Click's own words
("Usage:", "Options", its errors) are in the same catalogue: the CLI points click's gettext at it.
"""

from __future__ import annotations

import importlib
import io
import sys
from datetime import UTC, datetime
from pathlib import Path

import click
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

from ecrm_dsl.cli import COMMANDS, cli
from ecrm_dsl.cli.language import english_help
from ecrm_dsl.syntax.schema_text import schema_texts

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "ecrm_dsl"
JA_PO = PACKAGE / "locale" / "ja" / "LC_MESSAGES" / "ecrm.po"
JA_MO = JA_PO.with_suffix(".mo")
FIXED = datetime(2026, 12, 6, tzinfo=UTC)  # dates in the header do not change with every run: same input, same bytes

OURS = {"tr": None, "n_": None, "trn": (1, 2)}
CLICKS = {"_": None, "ngettext": (1, 2)}


def extracted() -> Catalog:
    """Every message of the package and of click, with where it is used."""
    catalog = Catalog(project="ecrm-dsl", creation_date=FIXED, revision_date=FIXED, fuzzy=False)
    sources = [(PACKAGE, OURS, "ecrm_dsl/"), (Path(click.__file__).parent, CLICKS, "click/")]
    for folder, keywords, prefix in sources:
        for file, line, message, comments, context in extract_from_dir(
            folder, method_map=[("**.py", "python")], keywords=keywords, strip_comment_tags=True
        ):
            catalog.add(message, locations=[(prefix + file, line)], auto_comments=comments, context=context)
    for name, command in commands().items():
        for paragraph in english_help(command):
            catalog.add(paragraph, locations=[(f"ecrm {name} --help", 0)])
    for kind, text in schema_texts():
        catalog.add(text, locations=[(f"ecrm_dsl/schemas/{kind}.schema.json", 0)])
    return catalog


def commands() -> dict[str, click.Command]:
    """The ``ecrm`` group and every command it lists, as loaded (help texts are docstrings and ``help=``)."""
    found: dict[str, click.Command] = {"": cli}
    for name, lazy in sorted(COMMANDS.items()):
        found[name] = getattr(importlib.import_module(lazy.module), lazy.attribute)
    return found


def japanese() -> Catalog:
    with JA_PO.open("rb") as handle:
        return read_po(handle, locale="ja")


def updated(existing: Catalog, template: Catalog) -> Catalog:
    """``existing`` with the messages of ``template``: new ones untranslated, gone ones dropped, no guessing."""
    existing.update(template, no_fuzzy_matching=True, update_header_comment=False)
    existing.obsolete.clear()
    existing.creation_date = existing.revision_date = FIXED
    return existing


def po_bytes(catalog: Catalog) -> bytes:
    out = io.BytesIO()
    write_po(out, catalog, width=120, sort_output=True, include_previous=False, include_lineno=False)
    return out.getvalue()


def mo_bytes(catalog: Catalog) -> bytes:
    out = io.BytesIO()
    write_mo(out, catalog, use_fuzzy=False)
    return out.getvalue()


def untranslated(catalog: Catalog) -> list[str]:
    """Messages with no Japanese (a plural is translated when every form is)."""
    return [str(m.id) for m in catalog if m.id and not (all(m.string) if isinstance(m.string, tuple) else m.string)]


def new_catalogue() -> Catalog:
    return Catalog(
        locale="ja",
        domain="ecrm",
        header_comment="# Japanese messages of ecrm-dsl. Kept in step with the code by `python -m tests.catalogue`.",
        project="ecrm-dsl",
        version="0.1",
        copyright_holder="ecrm-dsl authors",
        last_translator="ecrm-dsl authors",
        language_team="ecrm-dsl authors",
        creation_date=FIXED,
        revision_date=FIXED,
        fuzzy=False,
    )


def main() -> int:
    catalog = updated(japanese() if JA_PO.exists() else new_catalogue(), extracted())
    JA_PO.write_bytes(po_bytes(catalog))
    catalog = japanese()  # as written, so the .mo is exactly what the test compiles
    JA_MO.write_bytes(mo_bytes(catalog))
    missing = untranslated(catalog)
    print(f"{JA_PO.relative_to(ROOT)}: {sum(1 for m in catalog if m.id)} messages, {len(missing)} untranslated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
