"""Golden-file helper: compare with the file, or rewrite it when ECRM_UPDATE_GOLDENS=1."""

from __future__ import annotations

import os
from pathlib import Path

UPDATE = os.environ.get("ECRM_UPDATE_GOLDENS") == "1"


def assert_golden(path: Path, actual: str) -> None:
    if UPDATE or not path.exists():
        if not UPDATE:
            raise AssertionError(f"missing golden file {path}; run with ECRM_UPDATE_GOLDENS=1 and review it")
        path.write_text(actual, encoding="utf-8")
        return
    expected = path.read_text(encoding="utf-8")
    assert actual == expected, f"{path} differs; run with ECRM_UPDATE_GOLDENS=1 and review the diff"
