"""A language server started without a language of its own, so the client's ``locale`` chooses it, and a session
opened with that locale (shared by the tests of the server's Japanese)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

_LANGUAGE_VARIABLES = ("ECRM_LANG", "LANG", "LC_ALL", "LC_MESSAGES", "LANGUAGE")
SERVER = ClientServerConfig(
    server_command=[sys.executable, "-m", "ecrm_dsl", "lsp"],
    server_env={**{k: v for k, v in os.environ.items() if k not in _LANGUAGE_VARIABLES}, "LANG": "C.UTF-8"},
)


async def open_session(client: LanguageClient, project: Path, locale: str) -> None:
    """Initialize a session as VS Code does, in ``locale`` (``ja``, ``en``), on ``project``."""
    params = types.InitializeParams(
        capabilities=client_capabilities("visual-studio-code"), root_uri=project.as_uri(), locale=locale
    )
    await client.initialize_session(params)


def server_speaking(language: str) -> ClientServerConfig:
    """The server as the VS Code extension starts it with its ``ecrm.language`` setting at ``language``."""
    return ClientServerConfig(
        server_command=SERVER.server_command, server_env={**(SERVER.server_env or {}), "ECRM_LANG": language}
    )
