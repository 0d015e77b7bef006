"""A team agent exposes its state: knowledge of services, the practice, its backlog."""

from conftest import small_scenario

from sim.model.org_model import OrgModel


def test_team_views_follow_the_model_state() -> None:
    model = OrgModel(small_scenario("micro_provider", demand={"arrival_rate": 8.0}), seed=3)
    for _ in range(30):
        model.step()
    team = model.teams[0]
    assert (team.knowledge == model.knowledge[0]).all()
    assert team.adopted == bool(model.adopted[0])
    assert team.backlog == len(team.pool.heap)
    assert team.knowledge.max() > model.config.knowledge.initial  # it learned by doing
