"""The mappings shipped in the package (``ecrm_dsl/importer/mappings/<name>.toml``) for EC platforms' exports,
and choosing one from a file's header row.

A shipped mapping fits a file of a kind when the file's header has every required column of that kind under
a header the mapping names (a file with the store's own column names fits none). The header is read in
UTF-8 and in Shift_JIS (CP932), the two encodings Japanese exports come in, so the encoding the header
matched in is also the file's, unless ``--encoding`` says otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ecrm_dsl.importer.csv_source import DEFAULT_ENCODING, SHIFT_JIS, CsvSource
from ecrm_dsl.importer.header import names_by_header
from ecrm_dsl.importer.layouts import KINDS
from ecrm_dsl.importer.mapping import KindMapping, Mapping, MappingError, load_mapping
from ecrm_dsl.importer.problems import InputError, did_you_mean
from ecrm_dsl.language.i18n import tr

MAPPINGS_DIR = Path(__file__).parent / "mappings"


def shipped_names() -> list[str]:
    return sorted(path.stem for path in MAPPINGS_DIR.glob("*.toml"))


def shipped_path(name: str) -> Path:
    """Where the shipped mapping ``name`` is installed (to copy and adapt)."""
    return MAPPINGS_DIR / f"{name}.toml"


def shipped_mapping(name: str) -> Mapping:
    """The shipped mapping called ``name``; a MappingError naming the others when there is none."""
    path = shipped_path(name)
    if name not in shipped_names():
        names = shipped_names()
        hint = did_you_mean(name, names) or tr("shipped mappings: {names}", names=", ".join(names))
        raise MappingError(tr("'{name}' is neither a mapping file nor a shipped mapping", name=name), hint)
    mapping = load_mapping(path)
    return Mapping(name, mapping.encoding, mapping.title, mapping.kinds)


def mapping_named(text: str) -> Mapping:
    """``--mapping``: a path to a mapping file, or the name of a shipped mapping."""
    path = Path(text)
    if path.is_file():
        return load_mapping(path)
    if path.suffix or "/" in text or "\\" in text:
        raise MappingError(
            tr("there is no mapping file {path}", path=text),
            tr("shipped mappings: {names}", names=", ".join(shipped_names())),
        )
    return shipped_mapping(text)


@dataclass(frozen=True)
class Detected:
    mappings: list[Mapping]  # the shipped mappings that fit the header
    encoding: str | None  # the encoding the header was read in when one fits


def detect(path: Path, kind: str, encoding: str | None) -> Detected:
    """The shipped mappings whose headers fit ``path`` as a file of ``kind``."""
    candidates = [m for m in (shipped_mapping(n) for n in shipped_names()) if kind in m.kinds]
    for tried in [encoding] if encoding else [DEFAULT_ENCODING, SHIFT_JIS]:
        fitting = []
        for mapping in candidates:
            header = _header(path, tried, mapping.kinds[kind])
            if header is not None and fits(header, kind, mapping.kinds[kind]):
                fitting.append(mapping)
        if fitting:
            return Detected(fitting, tried)
    return Detected([], None)


def fits(header: list[str], kind: str, mapping: KindMapping) -> bool:
    """Whether every required column of ``kind`` comes from a header the mapping names."""
    present = {cell.strip() for cell in header}
    given = {name for h, names in names_by_header(mapping).items() if h in present for name in names}
    given -= {name for name, headers in mapping.options.join if not set(headers) <= present}
    required = {name for name, column in KINDS[kind].items() if column.required}
    if "sku" not in given:  # an orders file without lines needs only the order's columns
        required -= {"sku", "price"}
    return bool(given) and required <= given


def _header(path: Path, encoding: str, mapping: KindMapping) -> list[str] | None:
    if not mapping.options.shape.header:
        return None
    try:
        with CsvSource(path, encoding, mapping.options.shape) as source:
            return source.header.cells
    except InputError:
        return None
