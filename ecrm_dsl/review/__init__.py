"""Review tools: semantic diff and diagrams.

The diff (``ecrm diff``), in pipeline order: :mod:`.diff_sources` (plan file, project folder or git revision →
plan, and for a project :mod:`.diff_project`'s snapshot of every definition and file), :mod:`.diff_plans` and
:mod:`.diff_scenario` (two plans → change records, with :mod:`.diff_flow` for where steps sit and
:mod:`.diff_words` for plan JSON in the scenario language), :mod:`.diff_impact` (customers affected, read from a
store), then :mod:`.diff_render` (text, JSON) and :mod:`.diff_markdown` (the size-limited pull-request comment,
with :mod:`.diff_diagrams` for the highlighted before/after flows). :mod:`.diff_model` holds the records.
Diagrams: :mod:`.graph` (``mermaid(scenario, marks) -> str``), which the Markdown diff uses when present.
"""
