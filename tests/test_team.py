"""A team agent exposes its state: knowledge of services, the practice, its people at work,
its backlog."""

from conftest import small_scenario

from sim.model.org_model import OrgModel


def test_team_views_follow_the_model_state() -> None:
    model = OrgModel(small_scenario("micro_provider", demand={"arrival_rate": 8.0}), seed=3)
    for _ in range(30):
        model.step()
    team = model.teams[0]
    assert (team.knowledge == model.knowledge[0]).all()
    assert team.adopted == bool(model.adopted[0])
    assert team.knowledge.max() > model.config.knowledge.initial  # it learned by doing
    # Each micro-provider serves its own queue: the backlogs add up to the tasks queued.
    assert sum(t.backlog for t in model.teams) == model.recorder.queued_tasks[29] > 0
    assert 0 < sum(t.busy for t in model.teams) <= sum(t.headcount for t in model.teams)
    assert all(0 <= t.holding_in_hand <= t.busy and t.holding_in_hand <= t.open_items for t in model.teams)
