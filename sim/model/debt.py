"""Keep-the-lights-on and tech debt: services age, KTLO (upgrade) work pays the debt down,
and debt raises the effort and defect risk of work on the service. Under pressure,
unprotected KTLO work is skipped ("working harder"), which lets debt grow: the capability
trap of Repenning & Sterman (2001)."""

from __future__ import annotations

import numpy as np

from sim.scenario.schema import TechDebt


class DebtLedger:
    """Debt per service, in units where 1 doubles effort at ``effort_effect = 1``."""

    def __init__(self, config: TechDebt, services: int) -> None:
        self.config = config
        self.debt = np.zeros(services)

    def age(self) -> None:
        """One tick of obsolescence on every service."""
        self.debt += self.config.aging_per_tick

    def pay_down(self, service: int) -> None:
        """A completed upgrade removes ``upgrade_paydown`` of the service's debt."""
        self.debt[service] *= 1 - self.config.upgrade_paydown

    def effort_factor(self, service: int) -> float:
        return 1 + self.config.effort_effect * self.debt.item(service)

    def defect_factor(self, services: tuple[int, ...]) -> float:
        """Defect risk multiplier of a task: the mean debt of the services it works on."""
        if not services:
            return 1.0
        return 1 + self.config.defect_effect * self.debt[list(services)].sum().item() / len(services)

    def skips(self, pressure: float, rng: np.random.Generator) -> bool:
        """Whether a KTLO item arriving at an intake under ``pressure`` is skipped."""
        cfg = self.config
        return pressure >= cfg.skip_pressure and cfg.protected_share < 1 and rng.random() >= cfg.protected_share
