"""``ecrm report``: KPIs and scenario results computed from what a store recorded, in several formats."""
