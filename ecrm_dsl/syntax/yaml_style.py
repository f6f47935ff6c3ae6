"""How ecrm writes YAML: the one PyYAML dumper that ``ecrm convert`` (the printer) and ``ecrm fmt`` share, so a
converted file is already formatted.

Layout: indented by 2, a sequence's ``-`` indented under its key, no line folding, Japanese as is, double quotes
unless the value itself holds a double quote, multi-line text as a ``|`` block.
"""

from __future__ import annotations

import re

import yaml
from yaml.events import ScalarEvent

WIDTH = 1_000_000_000  # never fold long lines
INDENT = 2


class Dumper(yaml.SafeDumper):
    """Sequences indented under their key; double quotes unless the value itself holds a double quote."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)

    def choose_scalar_style(self) -> str:
        style = super().choose_scalar_style()
        if style == "'" and isinstance(self.event, ScalarEvent) and '"' not in self.event.value:
            return '"'
        return style


def _str_presenter(dumper: yaml.SafeDumper, data: str) -> yaml.Node:
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|" if "\n" in data else None)


Dumper.add_representer(str, _str_presenter)

# Strings that other readers take for something else stay quoted: YAML 1.2 editors (yaml-language-server) read
# these as numbers or booleans, and any time of day (09:00 as well as 10:00) is quoted alike.
_NOT_PLAIN = {
    "tag:yaml.org,2002:int": (
        r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+)$",
        "-+0123456789",
    ),
    "tag:yaml.org,2002:float": (r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?)$", "-+.0123456789"),
    "tag:yaml.org,2002:bool": (r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
}
for _tag, (_pattern, _first) in _NOT_PLAIN.items():
    Dumper.add_implicit_resolver(_tag, re.compile(_pattern), list(_first))
