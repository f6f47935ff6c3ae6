"""Replaying a store's history against a plan on a virtual clock: what the plan would have done."""
