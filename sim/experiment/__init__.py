"""Experiments over the run boundary: designs, the resumable sweep engine, result tables
and statistics, sensitivity analysis, scenario discovery and figures. Uses the run
boundary, the model's constants and :mod:`sim.scenario`; never the CLI or the view."""
