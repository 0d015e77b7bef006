"""OrgSim: an agent-based model of central IT versus internal micro-providers."""

from sim.config import Scenario
from sim.run import RunResult, run_scenario
from sim.scenario_file import ScenarioError, load_scenario

__all__ = ["RunResult", "Scenario", "ScenarioError", "load_scenario", "run_scenario"]
