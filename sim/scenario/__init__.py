"""Scenarios as typed, strictly validated data: the schema, reading TOML files with
``extends`` and ``--set`` overrides, and the generated reference. The bottom layer: it
knows nothing of the model, experiments or the command line."""
