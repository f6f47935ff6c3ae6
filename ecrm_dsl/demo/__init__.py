"""``ecrm demo``: a generated shop, the example scenarios deployed, a simulated month of ticks."""
