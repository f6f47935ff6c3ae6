"""The runtime: deploy plans to the store, run ticks (enroll, decide, deliver), explain what happened.

It reads compiled plans only, never scenario sources, and talks to the database only through
:mod:`ecrm_dsl.store`.
"""
