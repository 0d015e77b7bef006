"""Typed, strictly validated scenario schema (pydantic v2, frozen, unknown keys forbidden).

Every parameter of the model lives here, with its default, range and meaning. The
same schema validates TOML files, ``--set`` overrides and programmatic configs.
"""

from __future__ import annotations

import itertools
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

KINDS = ("feature", "incident", "ktlo")
MAX_TICKS = 1_000_000  # the longest run, and the bound of every duration in ticks


class Strict(BaseModel):
    """Base for every section: frozen, unknown keys are errors, no type coercion (a
    quoted "2" is not a number), no inf or nan; lists in TOML become the tuple fields
    (``strict=False``)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


class Simulation(Strict):
    ticks: int = Field(600, ge=1, le=MAX_TICKS, description="Run length in ticks (1 tick = 1 working day).")
    warmup_ticks: int = Field(100, ge=0, le=MAX_TICKS, description="Ticks excluded from every summary metric.")


class Organisation(Strict):
    teams: int = Field(12, ge=1, le=100_000, description="Number of teams (the agents).")
    team_size: int = Field(6, ge=1, le=1_000, description="People per team; each person works one task at a time.")
    services: int = Field(24, ge=1, le=1_000_000, description="Number of services the organisation runs.")
    dependencies_per_service: float = Field(
        2.0, ge=0, le=1_000, description="Mean number of services each service depends on (random directed network)."
    )
    demand_skew: float = Field(0.5, ge=0, le=5, description="Zipf exponent of demand across services (0 = uniform).")
    self_service_share: float = Field(
        0.25, ge=0, le=1, description="Share of services whose dependency work consumers do themselves."
    )
    self_service_effort_factor: float = Field(
        1.0, ge=0, le=10, description="Effort multiplier for dependency work on a self-service service."
    )


class Effort(Strict):
    distribution: Literal["lognormal", "exponential", "fixed"] = Field(
        "lognormal", description="Distribution of an item's effort."
    )
    mean_days: float = Field(3.0, gt=0, le=10_000, description="Mean effort of an item in person-days.")
    cv: float = Field(1.0, ge=0, le=10, description="Coefficient of variation (lognormal only).")


class KindShares(Strict):
    feature: float = Field(0.6, ge=0, le=1, description="Share of arrivals that are features/changes.")
    incident: float = Field(0.2, ge=0, le=1, description="Share of arrivals that are incidents.")
    ktlo: float = Field(0.2, ge=0, le=1, description="Share of arrivals that are keep-the-lights-on work.")

    @model_validator(mode="after")
    def _sum_to_one(self) -> KindShares:
        total = self.feature + self.incident + self.ktlo
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"kind shares must sum to 1 (they sum to {total:g})")
        return self


class Demand(Strict):
    arrival_rate: float = Field(7.0, ge=0, le=1_000_000, description="Poisson arrivals of work items per tick.")
    effort: Effort = Effort()
    kinds: KindShares = KindShares()
    dependency_touch_prob: float = Field(
        0.5, ge=0, le=1, description="Probability an item touches each dependency of its primary service."
    )
    dependency_effort_share: float = Field(
        0.3, ge=0, le=10, description="Effort on each touched dependency, as a share of the item's effort."
    )
    priority: tuple[Literal["feature", "incident", "ktlo"], ...] = Field(
        ("incident", "ktlo", "feature"),
        strict=False,
        description="Order in which queues serve kinds (first = highest).",
    )

    @field_validator("priority")
    @classmethod
    def _is_permutation(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if sorted(value) != sorted(KINDS):
            raise ValueError(f"priority must list each of {', '.join(KINDS)} exactly once")
        return value


class Handoff(Strict):
    delay_ticks: float = Field(0.5, ge=0, le=1_000, description="Delay when work crosses a team boundary.")
    loss_prob: float = Field(
        0.08, ge=0, le=1, description="Chance a handoff loses information, later showing as a defect."
    )


class Stage(Strict):
    name: str = Field(min_length=1, description="Silo name.")
    effort_share: float = Field(gt=0, le=1, description="Share of an item's effort done in this stage.")


class CentralIT(Strict):
    stages: tuple[Stage, ...] = Field(
        (
            Stage(name="analysis", effort_share=0.15),
            Stage(name="build", effort_share=0.5),
            Stage(name="test", effort_share=0.2),
            Stage(name="operations", effort_share=0.15),
        ),
        min_length=1,
        strict=False,
        description="Functional silos in pipeline order; teams are split across them by effort share.",
    )

    @field_validator("stages")
    @classmethod
    def _shares_sum_to_one(cls, value: tuple[Stage, ...]) -> tuple[Stage, ...]:
        total = sum(s.effort_share for s in value)
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"stage effort shares must sum to 1 (they sum to {total:g})")
        return value


class MicroProvider(Strict):
    request_priority: Literal["fifo", "own_first", "requests_first"] = Field(
        "fifo", description="How a provider orders other teams' requests against its own items of the same kind."
    )


class Quality(Strict):
    base_defect_prob: float = Field(
        0.1, ge=0, le=1, description="Defect probability of an item done by a fully familiar, unpressured team."
    )
    familiarity_effect: float = Field(
        1.0, ge=0, le=100, description="Relative defect increase at zero service knowledge."
    )
    pressure_effect: float = Field(0.5, ge=0, le=100, description="Relative defect increase at full schedule pressure.")
    pressure_horizon_ticks: float = Field(
        10.0, gt=0, description="Queued work (in ticks of capacity) that counts as full pressure."
    )
    switching_effect: float = Field(
        1.0, ge=0, le=100, description="Relative defect increase per unit of capacity lost to switching."
    )
    early_detection_prob: float = Field(0.6, ge=0, le=1, description="Chance a defect is found before release.")
    rework_effort_fraction: float = Field(
        0.3, gt=0, le=10, description="Early rework effort as a share of the item's effort."
    )
    escaped_effort_factor: float = Field(
        0.8,
        gt=0,
        le=100,
        description="Effort of the incident an escaped defect causes, relative to the item (> 0: a fix takes time).",
    )


class Knowledge(Strict):
    initial: float = Field(0.3, ge=0, le=1, description="Every team's starting knowledge of every service.")
    learning_rate: float = Field(
        0.05, ge=0, le=10, description="Knowledge gained per person-day per team member on a service."
    )
    forgetting_rate: float = Field(0.002, ge=0, le=1, description="Share of knowledge lost per tick.")
    unfamiliarity_penalty: float = Field(
        0.5, ge=0, le=100, description="Extra effort at zero knowledge (effort x (1 + penalty x (1 - knowledge)))."
    )


class ContextSwitching(Strict):
    loss_by_concurrency: tuple[float, ...] = Field(
        (0.0, 0.2, 0.4, 0.6, 0.75),
        min_length=1,
        strict=False,
        description=(
            "Capacity lost at 1, 2, 3, ... open items per person (Weinberg); interpolated, last value holds beyond."
        ),
    )
    waiting_weight: float = Field(
        0.5,
        ge=0,
        le=1,
        description=(
            "Attention an open item claims while it is not in a person's hands (waiting on another team, "
            "handed on and not yet released, or accepted and not started), relative to one in hand."
        ),
    )

    @field_validator("loss_by_concurrency")
    @classmethod
    def _valid_losses(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        if any(not 0 <= v < 1 for v in value):
            raise ValueError("each loss must be in [0, 1)")
        if any(b < a for a, b in itertools.pairwise(value)):
            raise ValueError("losses must not decrease with concurrency")
        return value


class Spread(Strict):
    start_tick: int | None = Field(
        None, ge=0, le=MAX_TICKS, description="Tick the practice is introduced (default: end of warm-up)."
    )
    initial_adopters: int = Field(1, ge=0, le=100_000, description="Teams that adopt at the start tick.")
    external_prob: float = Field(
        0.002, ge=0, le=1, description="Bass p: per-tick adoption chance from outside influence."
    )
    imitation_prob: float = Field(
        0.1, ge=0, le=1, description="Bass q: per-tick chance x share of work partners that adopted."
    )
    network: Literal["work", "complete"] = Field(
        "work", description="Imitation network: teams that exchanged work, or every team."
    )
    mandate_lag_ticks: int | None = Field(
        None, ge=0, le=MAX_TICKS, description="Ticks after the start until a central mandate (none if unset)."
    )
    mandate_compliance_prob: float = Field(
        0.05, ge=0, le=1, description="Per-tick adoption chance of a non-adopter under the mandate."
    )
    capacity_coupling: bool = Field(True, description="Adoption slows with load and costs capacity (the learning dip).")
    load_memory_ticks: float = Field(10.0, ge=1, description="Ticks over which a team's load (busy share) is averaged.")
    learning_cost: float = Field(0.3, ge=0, lt=1, description="Capacity lost while learning the practice.")
    learning_ticks: int = Field(10, ge=0, le=MAX_TICKS, description="Duration of the learning dip.")
    defect_reduction: float = Field(0.4, ge=0, le=1, description="Relative drop in defect probability for adopters.")
    detection_gain: float = Field(
        0.5, ge=0, le=1, description="Share of undetected defects adopters catch early in addition."
    )


class OperatingModel(Strict):
    kind: Literal["product", "project", "funded_projects"] = Field(
        "product",
        description=(
            "product: durable teams keep their knowledge; project: teams disband after a project and re-form;"
            " funded_projects: features are funded as projects, built by assembled teams, handed over, disbanded."
        ),
    )
    project_ticks: int = Field(
        60,
        ge=1,
        le=MAX_TICKS,
        description=(
            "Length of a project: project model, teams re-form staggered; funded projects, the planned"
            " duration a project team is sized for."
        ),
    )
    knowledge_kept: float = Field(
        0.0, ge=0, le=1, description="Share of a team's service knowledge that stays when it re-forms (project model)."
    )
    onboarding_ticks: int = Field(
        10, ge=0, le=MAX_TICKS, description="Ticks a re-formed team needs to form (project model)."
    )
    onboarding_cost: float = Field(0.2, ge=0, lt=1, description="Capacity a forming team loses (project model).")
    funding_ticks: int = Field(
        20,
        ge=1,
        le=MAX_TICKS,
        description="Ticks between funding rounds; the features waiting then become one project (funded projects).",
    )
    project_people_share: float = Field(
        0.5,
        gt=0,
        le=1,
        description="Most of the organisation's people that may be on project teams at once (funded projects).",
    )
    handover_share: float = Field(
        0.1,
        ge=0,
        le=10,
        description=(
            "Effort of handing a feature over to the team that runs its service, as a share of its"
            " planned effort, done by that team (funded projects)."
        ),
    )


class TechDebt(Strict):
    enabled: bool = Field(False, description="Services age into debt that KTLO (upgrade) items pay down.")
    aging_per_tick: float = Field(0.01, ge=0, le=10, description="Debt each service accrues per tick (obsolescence).")
    effort_effect: float = Field(1.0, ge=0, le=100, description="Relative extra effort on a service per unit of debt.")
    defect_effect: float = Field(1.0, ge=0, le=100, description="Relative defect increase per unit of debt.")
    upgrade_paydown: float = Field(
        0.8, ge=0, le=1, description="Share of a service's debt a completed KTLO item removes."
    )
    skip_pressure: float = Field(
        0.2, ge=0, le=1, description="Intake pressure at or above which unprotected KTLO work is skipped."
    )
    protected_share: float = Field(
        1.0, ge=0, le=1, description="Share of KTLO items protected from skipping (the maintenance policy)."
    )


class Intake(Strict):
    policy: Literal["queue", "accept_all", "wip_limit"] = Field(
        "queue",
        description=(
            "queue: items wait until someone is free; accept_all: every accepted item counts as open work at once"
            " (everyone's number one); wip_limit: items wait in a backlog until open items are under the limit."
        ),
    )
    wip_limit_per_person: float = Field(
        1.5, gt=0, le=100, description="Open items per person of an intake (central: everyone; micro: the owner team)."
    )


class ServiceDesk(Strict):
    enabled: bool = Field(False, description="Incidents reach a service desk first.")
    staff: int = Field(4, ge=1, le=10_000, description="People on the desk (capacity added to the organisation).")
    triage_days: float = Field(0.1, ge=0, le=100, description="Desk effort to log and triage one incident.")
    resolve_max_days: float = Field(
        1.0, ge=0, le=10_000, description="Incidents up to this effort are resolved at the desk (known errors)."
    )
    routing_accuracy: float = Field(
        0.8, ge=0, le=1, description="Chance the desk routes an incident to the right team or silo first time."
    )
    feedback_share: float = Field(
        0.5, ge=0, le=10, description="Share of a desk-resolved incident's effort the service's team learns from."
    )


class Sourcing(Strict):
    enabled: bool = Field(False, description="Consumers may buy a service's requests from an external provider.")
    review_ticks: int = Field(
        20, ge=1, le=MAX_TICKS, description="Ticks between a consumer's reviews of each provider."
    )
    external_lead_ticks: float = Field(
        4.0, gt=0, le=10_000, description="Mean turnaround of an external provider (exponential)."
    )
    external_defect_prob: float = Field(
        0.05, ge=0, le=1, description="Chance an externally bought request brings a defect."
    )
    external_price_factor: float = Field(
        1.5, ge=0, le=100, description="Price of a bought person-day relative to an internal one."
    )
    switch_cost_days: float = Field(2.0, ge=0, le=10_000, description="Consumer effort to switch provider.")
    switch_margin: float = Field(
        0.2, ge=0, le=10, description="How much better (relative) the other provider must look before a switch."
    )
    failure_weight: float = Field(
        5.0, ge=0, le=1_000, description="Ticks of turnaround a provider's defect rate of 1 is worth in its score."
    )
    smoothing: float = Field(0.1, gt=0, le=1, description="Weight of the newest request in a provider's score.")


class Relationship(Strict):
    mode: Literal["none", "provider_customer", "collaboration"] = Field(
        "none",
        description=(
            "How a team treats work it passes to another team (a request, a stage, a rework pass): none: a plain "
            "handoff; provider_customer: the receiver negotiates first and the sending customer over-asks; "
            "collaboration: the sender's people join the receiver's work on it (swarming)."
        ),
    )
    negotiation_ticks: float = Field(
        1.0, ge=0, le=MAX_TICKS, description="Negotiation before transferred work can start (provider_customer)."
    )
    over_ask_factor: float = Field(
        1.25,
        ge=1,
        le=100,
        description="Transferred effort relative to what is needed: the customer over-asks (provider_customer).",
    )
    swarm_share: float = Field(
        0.5,
        ge=0,
        le=1,
        description="Share of a person the sender lends to the receiver's work on each transfer (collaboration).",
    )


class ExternalProvider(Strict):
    name: str = Field(min_length=1, description="Name of the external provider.")
    capacity_days_per_tick: float = Field(
        gt=0, le=1_000_000, description="Person-days of work it delivers per tick; work beyond that queues (FIFO)."
    )
    lead_ticks: float = Field(
        ge=0,
        le=10_000,
        description="Mean turnaround (exponential) of a piece of work once served, on top of its queue.",
    )
    defect_prob: float = Field(ge=0, le=1, description="Chance a piece of work it delivers brings a defect.")
    price_factor: float = Field(ge=0, le=100, description="Price of its person-day relative to an internal one.")


class Market(Strict):
    enabled: bool = Field(
        False, description="Consumers choose among several internal and external providers of each piece of work."
    )
    internal_providers: int = Field(
        1,
        ge=0,
        le=100_000,
        description=(
            "Other internal teams (micro-providers) or silos (central IT) able to do each service's (each stage's) "
            "work besides its usual provider, drawn at random."
        ),
    )
    externals: tuple[ExternalProvider, ...] = Field(
        (
            ExternalProvider(
                name="vendor", capacity_days_per_tick=4.0, lead_ticks=2.0, defect_prob=0.05, price_factor=1.5
            ),
        ),
        strict=False,
        description="External providers, each with a finite capacity, a turnaround, a defect chance and a price.",
    )
    review_ticks: int = Field(20, ge=1, le=MAX_TICKS, description="Ticks between a consumer's reviews of its choices.")
    explore_prob: float = Field(
        0.05,
        ge=0,
        le=1,
        description="Chance a piece of work goes to another candidate provider than the chosen one (a re-try).",
    )
    switch_margin: float = Field(
        0.2, ge=0, le=10, description="How much better (relative) another provider must score before a switch."
    )
    switch_cost_days: float = Field(
        2.0, ge=0, le=10_000, description="Consumer effort to move a piece of work to another provider."
    )
    failure_weight: float = Field(
        5.0, ge=0, le=1_000, description="Ticks of turnaround a provider's defect rate of 1 is worth in its score."
    )
    price_weight: float = Field(
        2.0, ge=0, le=1_000, description="Ticks of turnaround one unit of price per person-day is worth in a score."
    )
    smoothing: float = Field(0.2, gt=0, le=1, description="Weight of the newest piece of work in a provider's score.")

    @field_validator("externals")
    @classmethod
    def _unique_names(cls, value: tuple[ExternalProvider, ...]) -> tuple[ExternalProvider, ...]:
        names = [e.name for e in value]
        if len(set(names)) < len(names):
            raise ValueError("external provider names must be unique")
        return value


class Value(Strict):
    feature_per_day: float = Field(4.0, ge=0, description="Business value per person-day of a completed feature.")
    incident_per_day: float = Field(2.0, ge=0, description="Value per person-day of a restored incident.")
    ktlo_per_day: float = Field(2.0, ge=0, description="Value per person-day of completed KTLO work.")
    delay_cost_per_tick: float = Field(
        0.01, ge=0, le=1, description="Share of an item's value lost per tick of lead time (cost of delay)."
    )
    cost_per_person_day: float = Field(1.0, gt=0, description="Cost of one person-day of capacity, busy or idle.")


class Improvement(Strict):
    enabled: bool = Field(False, description="Teams spend capacity improving services; improvements are copied.")
    start_tick: int | None = Field(
        None, ge=0, le=MAX_TICKS, description="Tick improvement work begins (default: end of warm-up)."
    )
    effort_share: float = Field(
        0.05, ge=0, le=0.9, description="Share of the deciders' capacity set aside for improvement work (the policy)."
    )
    effort_days: float = Field(10.0, gt=0, le=10_000, description="Effort of one improvement in person-days.")
    gain: float = Field(
        0.1, ge=0, le=1, description="Share of the gap to the floor an improvement removes from the factor it targets."
    )
    floor: float = Field(
        0.5, ge=0, le=1, description="Lowest value an effort, defect or KTLO-need factor can be improved to."
    )
    copy_prob: float = Field(
        0.05, ge=0, le=1, description="Per-tick chance x share of work partners that made an improvement of copying it."
    )
    copy_window_ticks: int = Field(
        30, ge=1, le=MAX_TICKS, description="Ticks after an improvement is made during which it can be copied."
    )
    copy_cost: float = Field(0.2, ge=0, lt=1, description="Capacity a team loses while learning a copied improvement.")
    copy_ticks: int = Field(5, ge=0, le=MAX_TICKS, description="Duration of the learning dip of a copy.")


class Scenario(Strict):
    name: str = Field("", description="Short name shown in output.")
    description: str = Field("", description="Free text.")
    structure: Literal["central_it", "micro_provider"] = Field(
        "central_it", description="How the organisation is structured."
    )
    simulation: Simulation = Simulation()
    organisation: Organisation = Organisation()
    demand: Demand = Demand()
    handoff: Handoff = Handoff()
    central_it: CentralIT = CentralIT()
    micro_provider: MicroProvider = MicroProvider()
    quality: Quality = Quality()
    knowledge: Knowledge = Knowledge()
    context_switching: ContextSwitching = ContextSwitching()
    spread: Spread = Spread()
    operating_model: OperatingModel = OperatingModel()
    tech_debt: TechDebt = TechDebt()
    intake: Intake = Intake()
    service_desk: ServiceDesk = ServiceDesk()
    sourcing: Sourcing = Sourcing()
    relationship: Relationship = Relationship()
    market: Market = Market()
    value: Value = Value()
    improvement: Improvement = Improvement()

    @model_validator(mode="after")
    def _consistent(self) -> Scenario:
        if self.simulation.warmup_ticks >= self.simulation.ticks:
            raise ValueError("simulation.warmup_ticks must be smaller than simulation.ticks")
        if self.structure == "central_it" and self.organisation.teams < len(self.central_it.stages):
            raise ValueError(
                f"central_it needs at least one team per stage: organisation.teams >= {len(self.central_it.stages)}"
            )
        if self.operating_model.kind == "funded_projects" and self.organisation.team_size < 2:
            raise ValueError(
                "operating_model.kind = funded_projects needs people to lend: every team keeps one person, "
                "so organisation.team_size must be at least 2"
            )
        if (
            self.operating_model.kind == "funded_projects"
            and int(self.operating_model.project_people_share * self.organisation.teams * self.organisation.team_size)
            < 1
        ):
            raise ValueError(
                "operating_model.project_people_share x organisation.teams x organisation.team_size must allow "
                "at least one person on a project team"
            )
        if self.spread.initial_adopters > self.organisation.teams:
            raise ValueError("spread.initial_adopters must not exceed organisation.teams")
        if self.market.enabled and self.sourcing.enabled:
            raise ValueError("market.enabled and sourcing.enabled exclude each other: the market replaces make-or-buy")
        if self.market.enabled and not (self.market.internal_providers or self.market.externals):
            raise ValueError("market.enabled needs another provider: market.internal_providers > 0 or market.externals")
        if self._rework_never_ends():
            raise ValueError(
                "quality: a rework pass can carry a defect with certainty (base_defect_prob x its raising effects "
                "x rework_effort_fraction reaches 1) while every defect is caught (early_detection_prob or "
                "spread.detection_gain is 1), so an item could be reworked forever; lower quality.base_defect_prob "
                "or quality.early_detection_prob"
            )
        return self

    def _rework_never_ends(self) -> bool:
        """Whether some item could be reworked forever: the worst-case defect chance of a rework
        pass (docs/ODD.md 7.5: every raising factor at its maximum, unbounded with tech debt)
        reaches 1 while detection is certain."""
        quality, spread = self.quality, self.spread
        certain = quality.early_detection_prob == 1 or spread.detection_gain == 1
        debt = self.tech_debt
        if not certain or quality.base_defect_prob == 0:
            return False
        if debt.enabled and debt.defect_effect > 0 and debt.aging_per_tick > 0:
            return True
        worst = (
            quality.base_defect_prob
            * (1 + quality.familiarity_effect)
            * (1 + quality.pressure_effect)
            * (1 + quality.switching_effect * max(self.context_switching.loss_by_concurrency))
            * quality.rework_effort_fraction
        )
        return worst >= 1

    @property
    def improvement_start_tick(self) -> int:
        """Tick at which improvement work begins."""
        start = self.improvement.start_tick
        return self.simulation.warmup_ticks if start is None else start

    @property
    def spread_start_tick(self) -> int:
        """Tick at which the practice is introduced."""
        start = self.spread.start_tick
        return self.simulation.warmup_ticks if start is None else start
