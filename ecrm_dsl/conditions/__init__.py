"""The condition runtime: a normal form for plans (``normal``), SQL for bulk evaluation (``sql``), and a
per-customer evaluator (``evaluate``).

Import from the submodules: the compiler needs only ``normal``, and keeping this package empty keeps
SQLAlchemy out of ``ecrm lint``'s start-up.
"""
