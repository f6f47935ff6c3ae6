"""The language server's wiring: documents in, findings out, and each request routed to its module.

Every handler is guarded: an unexpected error is logged to the client (``window/logMessage``) and the request
answers empty, so one bad file never takes the server down. Linting runs on a worker thread, one at a time,
debounced while typing.
"""

from __future__ import annotations

import asyncio
import os
import traceback
from collections.abc import Callable, Generator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from functools import wraps
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, TypeVar, cast

from lsprotocol import types
from pygls.capabilities import get_capability
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol, lsp_method
from pygls.uris import from_fs_path, to_fs_path

from ecrm_dsl.language.ast import Span
from ecrm_dsl.language.diagnostics import Diagnostic, DiagnosticError, Fix
from ecrm_dsl.language.i18n import negotiate, use
from ecrm_dsl.lsp import completion, definition, hover
from ecrm_dsl.lsp.code_actions import Fixable, quick_fixes
from ecrm_dsl.lsp.findings import looks_like_ours, standalone, to_lsp
from ecrm_dsl.lsp.formatting import format_document
from ecrm_dsl.lsp.positions import UTF8, span_range, text_lines
from ecrm_dsl.lsp.snapshot import Snapshot, lint_project, project_config
from ecrm_dsl.project.lint import is_project_file

DEBOUNCE_SECONDS = 0.3
F = TypeVar("F", bound=Callable[..., Any])


class EcrmProtocol(LanguageServerProtocol):
    """Negotiates the position encoding: UTF-8 when the client offers it (our sources are UTF-8, so nothing is
    converted twice), otherwise UTF-16, the protocol's default. pygls would take the client's first choice.

    Findings speak the editor's language (its ``locale``, e.g. ``ja`` for VS Code in Japanese) unless
    ``$ECRM_LANG`` chose one for the process; a language ecrm has no catalogue for leaves English."""

    @lsp_method(types.INITIALIZE)
    def lsp_initialize(self, params: types.InitializeParams) -> Generator[Any, Any, types.InitializeResult]:
        if params.locale and not os.environ.get("ECRM_LANG"):
            try:
                use(negotiate(params.locale, {}))
            except ValueError:
                pass
        general = params.capabilities.general
        if general is not None and general.position_encodings is not None:
            general.position_encodings = [UTF8] if UTF8 in general.position_encodings else None
        result: types.InitializeResult = yield from super().lsp_initialize(params)
        return result


class EcrmServer(LanguageServer):
    """The server and what it knows: the last lint of each project, and the fixes of the published findings."""

    def __init__(self) -> None:
        try:
            release = version("ecrm-dsl")
        except PackageNotFoundError:
            release = "0"
        super().__init__("ecrm", release, protocol_cls=EcrmProtocol)
        self.snapshots: dict[Path, Snapshot] = {}
        self.fixable: dict[str, list[Fixable]] = {}
        self.pending: dict[str, asyncio.Task[None]] = {}
        self.linter = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ecrm-lint")

    @property
    def encoding(self) -> str:
        return str(self.workspace.position_encoding or "utf-16")

    def log(self, message: str, kind: types.MessageType = types.MessageType.Log) -> None:
        self.window_log_message(types.LogMessageParams(type=kind, message=message))

    def text_of(self, uri: str) -> str:
        return self.workspace.get_text_document(uri).source

    def buffers(self) -> dict[Path, str]:
        """The open documents' text by file, as the editor holds it now."""
        found = {}
        for uri, document in self.workspace.text_documents.items():
            path = _path(uri)
            if path is not None:
                found[path] = document.source
        return found

    def snapshot_for(self, path: Path) -> Snapshot | None:
        """The last lint of the project holding ``path`` (linting it now if it has none yet)."""
        try:
            config = project_config(path)
        except DiagnosticError:
            return None
        if config is None:
            return None
        root = config.root.resolve()
        if root not in self.snapshots:
            self.snapshots[root] = lint_project(config, path, self.buffers())
        return self.snapshots[root]

    # ------------------------------------------------------------------ diagnostics

    def schedule(self, uri: str, delay: float) -> None:
        """Lint after ``delay`` seconds, replacing a lint still waiting for the same document."""
        waiting = self.pending.pop(uri, None)
        if waiting is not None:
            waiting.cancel()
        self.pending[uri] = asyncio.ensure_future(self._lint_later(uri, delay))

    async def _lint_later(self, uri: str, delay: float) -> None:
        try:
            await asyncio.sleep(delay)
        except asyncio.CancelledError:
            return
        self.pending.pop(uri, None)
        if uri not in self.workspace.text_documents:
            return
        path = _path(uri)
        if path is None:
            return
        text, buffers = self.text_of(uri), self.buffers()
        versions = {u: d.version for u, d in self.workspace.text_documents.items()}
        try:
            outcome = await asyncio.get_running_loop().run_in_executor(self.linter, _lint, path, text, buffers)
            self.publish(uri, outcome, versions)
        except Exception as exc:  # a bug in a check must not stop the server: say so, keep serving
            self.log(f"ecrm: linting {path} failed: {exc!r}\n{traceback.format_exc()}", types.MessageType.Error)

    def publish(self, uri: str, outcome: Snapshot | list[Diagnostic], versions: dict[str, int | None]) -> None:
        """Send the findings of ``uri``; after a project lint, those of every open file of the project too.

        A document edited while the lint ran is skipped: its findings would be stale, and its edit has scheduled
        a newer lint."""
        current = {u: d.version for u, d in self.workspace.text_documents.items()}
        if isinstance(outcome, list):  # outside any project: this file only
            if current.get(uri) == versions.get(uri):
                self._send(uri, outcome)
            return
        root = outcome.config.root.resolve()
        self.snapshots[root] = outcome
        for open_uri in list(self.workspace.text_documents):
            open_path = _path(open_uri)
            if open_path is None or not open_path.is_relative_to(root) or current[open_uri] != versions.get(open_uri):
                continue
            name = outcome.config.display(open_path)
            if name in outcome.findings:
                self._send(open_uri, outcome.findings[name])
            elif open_uri == uri:
                self._send(uri, [])

    def _send(self, uri: str, findings: list[Diagnostic]) -> None:
        lines = text_lines(self.text_of(uri)) if uri in self.workspace.text_documents else []
        published, fixable = [], []
        for finding in findings:
            diagnostic = to_lsp(finding, lines, self.encoding)
            published.append(diagnostic)
            if finding.fix is not None:
                fixable.append(Fixable(diagnostic, finding.fix))
        self.fixable[uri] = fixable
        version_ = self.workspace.get_text_document(uri).version if uri in self.workspace.text_documents else None
        self.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=uri, diagnostics=published, version=version_)
        )

    def edit_for(self, uri: str, fix: Fix) -> types.WorkspaceEdit | None:
        """The workspace edit that applies ``fix`` (in the document it names, relative to the project root)."""
        path = _path(uri)
        snapshot = self.snapshot_for(path) if path is not None else None
        target_uri = uri
        if path is not None and snapshot is not None and snapshot.config.display(path) != fix.span.file:
            target_uri = from_fs_path(str((snapshot.config.root / fix.span.file).resolve())) or uri
        if target_uri in self.workspace.text_documents:
            lines = text_lines(self.text_of(target_uri))
        else:
            target = _path(target_uri)
            if target is None or not target.is_file():
                return None
            lines = text_lines(target.read_text(encoding="utf-8"))
        edit = types.TextEdit(span_range(lines, fix.span, self.encoding), fix.replacement)
        return types.WorkspaceEdit(changes={target_uri: [edit]})


def _path(uri: str) -> Path | None:
    path = to_fs_path(uri)
    return Path(path).resolve() if path else None


def _lint(path: Path, text: str, buffers: dict[Path, str]) -> Snapshot | list[Diagnostic]:
    """What the editor shows for ``path``: the project's findings, or this file's alone outside a project (or
    while the project's configuration is broken: then its syntax, and the configuration's own finding)."""
    ours = looks_like_ours(text, path)
    try:
        config = project_config(path)
    except DiagnosticError as exc:
        return standalone(text, path) + [_at_top(d) for d in exc.diagnostics] if ours else []
    if config is None:
        return standalone(text, path) if ours else []
    if not ours and not is_project_file(config, path):
        return []
    try:
        return lint_project(config, path, buffers)
    except DiagnosticError as exc:
        return standalone(text, path) + [_at_top(d) for d in exc.diagnostics]


def _at_top(finding: Diagnostic) -> Diagnostic:
    """A finding of another file (the configuration) shown on the first line, naming where it is."""
    where = f"{finding.span.file}:{finding.span.line}:{finding.span.column}"
    return replace(finding, message=f"{where}: {finding.message}", span=Span(finding.span.file, 1, 1), fix=None)


def guarded(server: EcrmServer, empty: Callable[[], object]) -> Callable[[F], F]:
    """Log an unexpected error to the client and answer ``empty()`` instead of failing the request."""

    def decorate(handler: F) -> F:
        @wraps(handler)
        def run(*args: Any) -> Any:
            try:
                return handler(*args)
            except Exception as exc:
                trace = traceback.format_exc()
                server.log(f"ecrm: {handler.__name__} failed: {exc!r}\n{trace}", types.MessageType.Error)
                return empty()

        return cast(F, run)

    return decorate


def build_server() -> EcrmServer:
    server = EcrmServer()

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    @guarded(server, lambda: None)
    def did_open(ls: EcrmServer, params: types.DidOpenTextDocumentParams) -> None:
        ls.schedule(params.text_document.uri, 0)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    @guarded(server, lambda: None)
    def did_change(ls: EcrmServer, params: types.DidChangeTextDocumentParams) -> None:
        ls.schedule(params.text_document.uri, DEBOUNCE_SECONDS)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    @guarded(server, lambda: None)
    def did_save(ls: EcrmServer, params: types.DidSaveTextDocumentParams) -> None:
        ls.schedule(params.text_document.uri, 0)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    @guarded(server, lambda: None)
    def did_close(ls: EcrmServer, params: types.DidCloseTextDocumentParams) -> None:
        uri = params.text_document.uri
        ls.fixable.pop(uri, None)
        ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=[]))
        # Its unsaved text is gone: the project's other open files are linted against the file on disk again.
        closed = _path(uri)
        roots = [root for root in ls.snapshots if closed is not None and closed.is_relative_to(root)]
        for other in ls.workspace.text_documents:
            path = _path(other)
            if other != uri and path is not None and any(path.is_relative_to(root) for root in roots):
                ls.schedule(other, DEBOUNCE_SECONDS)
                break

    @server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    @guarded(server, lambda: None)
    def files_changed(ls: EcrmServer, params: types.DidChangeWatchedFilesParams) -> None:
        # A file changed on disk (a checkout, another tool): lint each affected project again, once.
        changed = [path for event in params.changes if (path := _path(event.uri)) is not None]
        linted: set[Path] = set()
        for uri in list(ls.workspace.text_documents):
            path = _path(uri)
            root = next((r for r in ls.snapshots if path is not None and path.is_relative_to(r)), None)
            if root is not None and root not in linted and any(c.is_relative_to(root) for c in changed):
                linted.add(root)
                ls.schedule(uri, DEBOUNCE_SECONDS)

    @server.feature(types.TEXT_DOCUMENT_FORMATTING)
    @guarded(server, list)
    def formatting(ls: EcrmServer, params: types.DocumentFormattingParams) -> list[types.TextEdit]:
        path = _path(params.text_document.uri)
        if path is None:
            return []
        return format_document(ls.text_of(params.text_document.uri), path, ls.encoding)

    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix]),
    )
    @guarded(server, list)
    def code_action(ls: EcrmServer, params: types.CodeActionParams) -> list[types.CodeAction]:
        uri = params.text_document.uri
        return quick_fixes(ls.fixable.get(uri, []), params, lambda fix: ls.edit_for(uri, fix))

    @server.feature(
        types.TEXT_DOCUMENT_COMPLETION,
        types.CompletionOptions(trigger_characters=[".", "("]),
    )
    @guarded(server, lambda: None)
    def complete(ls: EcrmServer, params: types.CompletionParams) -> types.CompletionList | None:
        uri = params.text_document.uri
        path = _path(uri)
        if path is None:
            return None
        snapshot = ls.snapshot_for(path)
        workspace = snapshot.workspace if snapshot is not None else None
        snippets = get_capability(
            ls.client_capabilities, "text_document.completion.completion_item.snippet_support", False
        )
        return completion.complete(ls.text_of(uri), path, params.position, ls.encoding, workspace, bool(snippets))

    @server.feature(types.TEXT_DOCUMENT_HOVER)
    @guarded(server, lambda: None)
    def hover_(ls: EcrmServer, params: types.HoverParams) -> types.Hover | None:
        uri = params.text_document.uri
        path = _path(uri)
        snapshot = ls.snapshot_for(path) if path is not None else None
        if path is None or snapshot is None or snapshot.workspace is None:
            return None
        return hover.hover(ls.text_of(uri), path, params.position, ls.encoding, snapshot)

    @server.feature(types.TEXT_DOCUMENT_DEFINITION)
    @guarded(server, lambda: None)
    def definition_(ls: EcrmServer, params: types.DefinitionParams) -> list[types.Location] | None:
        uri = params.text_document.uri
        path = _path(uri)
        snapshot = ls.snapshot_for(path) if path is not None else None
        if path is None or snapshot is None or snapshot.workspace is None:
            return None
        return definition.definition(ls.text_of(uri), params.position, ls.encoding, snapshot)

    return server
