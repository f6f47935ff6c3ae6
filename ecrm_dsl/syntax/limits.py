"""The front end's limits, in one place: how large and how deeply nested a source may be.

Hand-written scenarios stay far below every limit; past them an input is a mistake or an attack. Each limit is
checked before the stage it protects runs (a bounded read, a scan of the text or of the YAML nodes before any
recursion), so oversized input is refused quickly with a positioned finding instead of exhausting memory, time
or Python's recursion limit. The README's "Limits" section documents them; E002, E008 and E009 report them.
"""

from __future__ import annotations

# E002: bytes of one source file (scenario, segment, template, schema, policies, preset, configuration).
MAX_SOURCE_BYTES = 1_000_000
# E002: values (scalars, lists, mappings) in one YAML file.
MAX_YAML_VALUES = 200_000
# E008: lists and mappings inside each other in a YAML file (a scenario with 16 nested blocks needs about 70).
MAX_YAML_NESTING = 100
# E008: tables and arrays inside each other in ecrm.toml / [tool.ecrm] (the deepest real one is 3).
MAX_CONFIG_NESTING = 16
# E008: blocks of steps inside each other: branch arms, split variants, wait-for outcomes.
MAX_STEP_NESTING = 16
# E008: '{' inside '{' in a text-syntax file (a wait-for block opens two per level, the scenario one more).
MAX_BRACE_NESTING = 2 * MAX_STEP_NESTING + 2
# E008: parentheses, lists, function calls and 'not' inside each other in one condition.
MAX_CONDITION_NESTING = 32
# E009: characters of one condition.
MAX_CONDITION_CHARS = 10_000
