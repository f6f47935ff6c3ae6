"""The compiler: a checked workspace in, a deterministic execution plan out."""
