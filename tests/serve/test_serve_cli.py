"""``ecrm serve`` as a real process: refuses to start without a token, serves, logs no data, stops on SIGTERM;
and the other commands never load the HTTP stack."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.runtime.world import template
from tests.serve.live import AUTH, F2, TOKEN

ROOT = Path(__file__).resolve().parent.parent.parent


def project(tmp_path: Path) -> Path:
    (tmp_path / "scenarios").mkdir()
    (tmp_path / "templates").mkdir()
    (tmp_path / "ecrm.toml").write_text("", encoding="utf-8")
    (tmp_path / "customer_schema.yaml").write_text("customer_schema: shop\n", encoding="utf-8")
    (tmp_path / "policies.yaml").write_text("timezone: Asia/Tokyo\n", encoding="utf-8")
    (tmp_path / "templates" / "thanks.yaml").write_text(template("thanks"), encoding="utf-8")
    (tmp_path / "scenarios" / "f2.ecrm").write_text(F2, encoding="utf-8")
    return tmp_path / "ecrm.toml"


def environment(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ECRM_")}
    return {**env, "PYTHONPATH": str(ROOT), **extra}


def test_without_a_token_serve_refuses_to_start_with_a_sentence(tmp_path: Path) -> None:
    config = project(tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "ecrm_dsl", "serve", "--project", str(config), "--port", "0"],
        env=environment(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("ecrm serve: no ingest token: set ECRM_INGEST_TOKENS")
    short = subprocess.run(
        [sys.executable, "-m", "ecrm_dsl", "serve", "--project", str(config)],
        env=environment(ECRM_INGEST_TOKENS="abc"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert short.returncode == 2 and "shorter than 16 characters" in short.stderr and "abc" not in short.stderr


def test_serve_runs_as_a_process_logs_no_data_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    config = project(tmp_path)
    store = tmp_path / "shop.db"
    process = subprocess.Popen(
        [sys.executable, "-m", "ecrm_dsl", "serve", "--project", str(config), "--store", str(store), "--port", "0"],
        env=environment(ECRM_INGEST_TOKENS=f"{TOKEN}, another-token-0123456789"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        first = process.stderr.readline()
        match = re.search(r"listening on (http://127\.0\.0\.1:\d+) — Shopify webhooks off", first)
        assert match, first
        url = match.group(1)
        with httpx.Client(base_url=url, timeout=30) as client:
            for _ in range(100):
                try:
                    if client.get("/healthz").status_code == 200:
                        break
                except httpx.ConnectError:
                    time.sleep(0.1)
            item = {"id": "C1", "name": "山田 花子", "email": "hanako@example.jp"}
            accepted = client.post("/v1/customers", json={"items": [item]}, headers=AUTH)
            assert accepted.json() == {"accepted": 1, "duplicates": 0, "rejected": []}
            assert client.post("/v1/customers", content=b"{", headers=AUTH).status_code == 400
            assert client.post("/v1/customers", json={"items": [item]}).status_code == 401
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=60)
    assert process.returncode == 0
    log = first + stderr
    assert "POST /v1/customers 200" in log and "POST /v1/customers 401" in log
    for secret_or_data in (TOKEN, "another-token", "C1", "山田", "hanako"):
        assert secret_or_data not in log
    assert "Traceback" not in log


def test_the_other_commands_never_load_starlette_uvicorn_or_prometheus_client() -> None:
    code = (
        "import sys\nfrom click.testing import CliRunner\nfrom ecrm_dsl.cli import cli\n"
        "CliRunner().invoke(cli, ['--help'])\nCliRunner().invoke(cli, ['lint', '--help'])\n"
        "CliRunner().invoke(cli, ['import', '--help'])\n"
        "print(__import__('json').dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    done = subprocess.run([sys.executable, "-c", code], env=environment(), capture_output=True, text=True, check=True)
    loaded = set(json.loads(done.stdout))
    assert not loaded & {"starlette", "uvicorn", "prometheus_client", "httpx"}


def test_without_the_serve_extra_the_command_says_what_to_install(tmp_path: Path) -> None:
    blocked = "import sys; sys.modules['starlette'] = None; from ecrm_dsl.cli import main; main()"  # not installed
    env = {**os.environ, "ECRM_INGEST_TOKENS": TOKEN}
    done = subprocess.run(
        [sys.executable, "-c", blocked, "serve", "--store", str(tmp_path / "s.db")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr == (
        "ecrm serve: the HTTP server needs starlette, which is not installed: pip install 'ecrm-dsl[serve]'\n"
    )
