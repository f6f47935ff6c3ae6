"""The rule pages: one Markdown page per rule, generated from the rule registry and the golden cases."""
