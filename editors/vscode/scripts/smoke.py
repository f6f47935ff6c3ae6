"""A smoke test of the extension in a real VS Code, run by hand (not in CI: it needs code-server and Playwright).

    cd editors/vscode && npm ci && npm run package      # the .vsix under test
    npm install code-server@4.100.3                     # anywhere; see docs/screenshots/make.py for its needs
    pip install playwright                              # drives the machine's Chromium, downloads nothing
    CODE_SERVER="node …/node_modules/code-server/out/node/entry.js" python editors/vscode/scripts/smoke.py

It opens a starter project (`ecrm init` plus the scenario with mistakes that the README's pictures show, and a
segment with a misspelt attribute) in code-server with the .vsix installed and `ECRM_LANG=ja`, and checks what
VS Code shows: the extension activates and starts `ecrm lsp`; Japanese findings in the Problems panel and the
hover; template names completed; a template's hover rendered and a timing worked out; the quick fix, formatting
and saving; a YAML file's finding. Exit 0 when all of it is there; the pictures go to a scratch folder.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

SCREENSHOTS = Path(__file__).resolve().parents[3] / "docs" / "screenshots"
sys.path.insert(0, str(SCREENSHOTS))

from editor_shots import take_pictures  # noqa: E402
from make import chromium, make_project  # noqa: E402

LAPSED = "segment: lapsed\ntitle: 離反しかけの顧客\nwhere: customer.days_since_last_ordr >= 60\n"


def main() -> int:
    with tempfile.TemporaryDirectory() as folder:
        project = make_project(Path(folder))
        (project / "segments" / "lapsed.yaml").write_text(LAPSED, encoding="utf-8")
        for line in take_pictures(project, Path(folder), chromium(), more_checks=True):
            print(line)
    print("smoke test passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
