"""The Mesa model: the organisation (teams, services, the layout of the two structures),
demand, each mechanism's arrays and set-up, the per-tick recorder and the item table; the
work flow and the tick run in the compiled kernel (``sim.model.kernel``). Uses only
:mod:`sim.scenario`; does no I/O."""
