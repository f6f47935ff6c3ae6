"""The store's schema revisions (Alembic): ``env.py`` runs them, ``versions/`` holds one module per revision."""
