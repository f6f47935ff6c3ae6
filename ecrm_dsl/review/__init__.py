"""Review tools: semantic diff and diagrams."""
