"""The project layer: ``ecrm.toml``, the files it names, presets, suppressions, rule selection and lint."""
