"""The Mesa model: teams, work items, demand, the organisation, the two structures and
every mechanism (quality, spread, desk, intake, debt, projects, sourcing, market,
relationship, improvement), with the per-tick recorder and the item log. Uses only
:mod:`sim.scenario`; does no I/O."""
