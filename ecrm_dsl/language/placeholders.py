"""The placeholder syntax of message templates, ``{{ customer.name }}``: read by the checks (which placeholders a
template uses) and by delivery (what to substitute), so it lives here, below both."""

from __future__ import annotations

import re

PLACEHOLDER = re.compile(r"\{\{\s*([^{}\s]+)\s*\}\}")
