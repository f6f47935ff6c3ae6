"""The language itself: its nodes, values, built-in catalogue, timings, calendar and diagnostics.

Nothing here reads files or knows about a project; the syntaxes, checks and compiler all build on it.
"""
