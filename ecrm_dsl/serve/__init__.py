"""``ecrm serve``: live ingest over HTTP — batches of events, orders, customers and subscriptions as JSON, checked
against published JSON Schemas and the project's customer schema, stored through the importer's loaders,
idempotent by the sender's ids; Shopify webhooks; ``/healthz`` and Prometheus ``/metrics``.

Starlette and uvicorn are imported by this package only, which only ``ecrm serve`` loads.
"""
