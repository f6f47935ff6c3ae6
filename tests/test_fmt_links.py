"""ecrm fmt never rewrites a file outside the project, even one a link inside the project points at."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

MESSY_TEMPLATE = "template:   outside\ncategory: transactional\nchannels:\n  email: {subject: s, body: b}\n"


def test_a_template_linked_from_outside_the_project_is_left_alone(tmp_path: Path) -> None:
    project, outside = tmp_path / "shop", tmp_path / "elsewhere"
    subprocess.run([sys.executable, "-m", "ecrm_dsl", "init", str(project)], check=True, capture_output=True)
    outside.mkdir()
    target = outside / "outside.yaml"
    target.write_text(MESSY_TEMPLATE, encoding="utf-8")
    (project / "templates" / "outside.yaml").symlink_to(target)
    done = subprocess.run(
        [sys.executable, "-m", "ecrm_dsl", "fmt"], cwd=project, capture_output=True, text=True, encoding="utf-8"
    )
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr
    assert target.read_text(encoding="utf-8") == MESSY_TEMPLATE
