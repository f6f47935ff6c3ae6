"""``ecrm lsp``: the language server editors start over stdio (pygls).

The server answers from the same engine as the command line: diagnostics from ``ecrm lint``'s pipeline,
formatting from ``ecrm fmt``, quick fixes from the findings' own ``Diagnostic.fix``. Modules: ``server`` (wiring),
``positions`` (the one place columns become LSP positions), ``snapshot`` (the project with unsaved buffers laid
over it), ``findings``, ``completion``, ``hover``, ``definition``, ``formatting`` and ``code_actions``. Only
``ecrm lsp`` imports it, and with it pygls.
"""
