"""The one error a bad scenario, option or value raises (cheap to import: the CLI catches it)."""


class ScenarioError(ValueError):
    """A scenario that cannot be used; each line of the message names file, key and fix."""
