"""Teams never move between stacks and groups are never dropped silently (stacks/placement.py)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from stacks.config import ConfigError, ProjectConfig, parse_config
from stacks.placement import (
    FILL_RATIO,
    LIMITS,
    Allowances,
    PlacementError,
    Placements,
    estimate,
    legacy_stack,
    plan,
)
from tests.fixtures.scale import scale_config
from tests.unit.stacks.synth import EXAMPLE_CONFIG, Synthesized, synthesize
from tests.unit.stacks.test_app_entrypoint import run_app


def config_of(raw: dict[str, Any]) -> ProjectConfig:
    return parse_config(raw)


def stacks_of(placements: Placements) -> dict[str, int]:
    return {name: p.stack for name, p in placements.teams.items()}


def add_team(raw: dict[str, Any], name: str, groups: int = 3) -> None:
    index = len(raw["teams"])
    raw["teams"][name] = {
        "account": f"{300000000000 + index:012d}",
        "model_groups": [f"{name}-model-{g}" for g in range(groups)],
    }


# --------------------------------------------------------------------------- planning rules


def test_without_a_placements_file_teams_stay_where_the_hash_placed_them() -> None:
    raw = scale_config(teams=40, team_stacks=4)
    placements = plan(config_of(raw), None)
    assert stacks_of(placements) == {t: legacy_stack(t, 4) for t in raw["teams"]}


def test_adding_teams_and_raising_team_stacks_moves_no_team() -> None:
    raw = scale_config(teams=40, team_stacks=4)
    before = plan(config_of(raw), None)
    for i in range(140):
        add_team(raw, f"new-{i:03d}")
    raw["registry"]["team_stacks"] = 8
    after = plan(config_of(raw), before)
    assert {t: s for t, s in stacks_of(after).items() if t in before.teams} == stacks_of(before)
    # new teams fill the lowest stack with room, and each stack stays under the fill ratio
    # (BYTES_PER_GROUP 2,700 since issue 9's registration and deploy-access conditions)
    assert [after.teams[f"new-{i:03d}"].stack for i in (0, 100, 139)] == [0, 5, 7]
    for stack in after.stacks:
        size = estimate(after_config := config_of(raw), [p for _, p in after.in_stack(stack)])
        assert all(size[k] <= LIMITS[k] * FILL_RATIO for k in LIMITS), (stack, size)
    assert plan(after_config, after) == after  # a second synth changes nothing


def test_a_full_registry_asks_to_raise_team_stacks() -> None:
    raw = scale_config(teams=40, team_stacks=1)
    with pytest.raises(ConfigError, match="no team stack has room for team 'team-0.*raise team_stacks"):
        plan(config_of(raw), None)


def test_lowering_team_stacks_below_a_used_stack_is_refused() -> None:
    raw = scale_config(teams=40, team_stacks=4)
    before = plan(config_of(raw), None)
    raw["registry"]["team_stacks"] = 2
    with pytest.raises(
        ConfigError, match="registry.team_stacks.*at least 4: teams already live in MlopsRegistryTeams3"
    ):
        plan(config_of(raw), before)


def test_a_removed_team_is_retired_in_place_and_comes_back_active() -> None:
    raw = yaml.safe_load(EXAMPLE_CONFIG.read_text())
    before = plan(config_of(raw), None)
    without = copy.deepcopy(raw)
    del without["teams"]["fraud"]
    del without["deployments"]["fraud-detector-prod"]
    retired = plan(config_of(without), before)
    fraud = retired.teams["fraud"]
    assert fraud.retired and fraud.groups == ()
    assert fraud.retired_groups == ("fraud-detector", "fraud-explainer")
    assert fraud.stack == before.teams["fraud"].stack
    back = plan(config_of(raw), retired)
    assert back == before


def test_a_renamed_group_fails_synth_naming_the_group_and_the_safe_way() -> None:
    raw = yaml.safe_load(EXAMPLE_CONFIG.read_text())
    before = plan(config_of(raw), None)
    raw["teams"]["fraud"]["model_groups"] = ["fraud-detector", "fraud-explainer-v2"]
    with pytest.raises(PlacementError) as raised:
        plan(config_of(raw), before)
    message = str(raised.value)
    assert "teams.fraud.model_groups" in message and "'fraud-explainer'" in message
    assert "allow_retire=fraud-explainer" in message
    allowed = plan(config_of(raw), before, Allowances(retire=frozenset({"fraud-explainer"})))
    assert allowed.teams["fraud"].groups == ("fraud-detector", "fraud-explainer-v2")
    assert allowed.teams["fraud"].retired_groups == ("fraud-explainer",)
    assert plan(config_of(raw), allowed) == allowed  # retirement is recorded: no flag needed again


def test_a_group_cannot_move_to_another_team() -> None:
    raw = yaml.safe_load(EXAMPLE_CONFIG.read_text())
    before = plan(config_of(raw), None)
    raw["teams"]["fraud"]["model_groups"] = ["fraud-detector"]
    raw["teams"]["recsys"]["model_groups"] = ["recommender", "fraud-explainer"]
    allow = Allowances(retire=frozenset({"fraud-explainer"}))
    with pytest.raises(PlacementError, match="'fraud-explainer' already lives in the stack of team 'fraud'"):
        plan(config_of(raw), before, allow)


def test_only_retired_groups_are_released_and_a_released_name_is_not_reused_silently() -> None:
    raw = yaml.safe_load(EXAMPLE_CONFIG.read_text())
    before = plan(config_of(raw), None)
    with pytest.raises(PlacementError, match="allow_release.*cannot be released"):
        plan(config_of(raw), before, Allowances(release=frozenset({"fraud-explainer"})))
    raw["teams"]["fraud"]["model_groups"] = ["fraud-detector"]
    both = Allowances(retire=frozenset({"fraud-explainer"}), release=frozenset({"fraud-explainer"}))
    released = plan(config_of(raw), before, both)
    assert "fraud-explainer" not in released.teams["fraud"].all_groups
    assert released.released == {"fraud-explainer": "fraud"}
    raw["teams"]["fraud"]["model_groups"] = ["fraud-detector", "fraud-explainer"]
    with pytest.raises(PlacementError, match="'fraud-explainer' was released from CloudFormation"):
        plan(config_of(raw), released)


def test_placements_file_round_trips() -> None:
    raw = yaml.safe_load(EXAMPLE_CONFIG.read_text())
    raw["teams"]["fraud"]["model_groups"] = ["fraud-detector"]
    placements = plan(
        config_of(raw),
        plan(config_of(yaml.safe_load(EXAMPLE_CONFIG.read_text())), None),
        Allowances(retire=frozenset({"fraud-explainer"})),
    )
    assert Placements.from_json(placements.to_json(), "x") == placements
    with pytest.raises(ConfigError, match="placements file written by cdk synth"):
        Placements.from_json('{"version": 7}', "x")


# --------------------------------------------------------------------------- synthesized, per resource


def resources_by_stack(synth: Synthesized) -> dict[str, dict[str, dict[str, Any]]]:
    return {name: template["Resources"] for name, template in synth.templates.items()}


def assert_every_resource_kept(
    before: Synthesized, after: Synthesized, *, changing: frozenset[str] = frozenset()
) -> None:
    """Every resource of `before` is in the same stack of `after` under the same logical id, unchanged
    (resources in `changing` may change properties, never their stack, logical id or type)."""
    old, new = resources_by_stack(before), resources_by_stack(after)
    for stack, resources in old.items():
        for logical_id, resource in resources.items():
            if resource["Type"] == "AWS::CDK::Metadata":
                continue
            moved = new.get(stack, {}).get(logical_id)
            assert moved is not None, f"{stack}/{logical_id} ({resource['Type']}) left its stack"
            assert moved["Type"] == resource["Type"]
            if logical_id not in changing:
                assert moved == resource, f"{stack}/{logical_id} changed"


@pytest.fixture(scope="module")
def growth() -> dict[str, Synthesized]:
    """One config grown step by step, each step planned from the previous placements, as synth does."""
    raw = scale_config(teams=24, team_stacks=2)
    raw["deployments"] = dict(list(raw["deployments"].items())[:2])
    steps: dict[str, Synthesized] = {}
    placements = None
    for step in ("base", "more teams", "more groups", "more stacks"):
        if step == "more teams":
            for i in range(3):
                add_team(raw, f"late-{i}")
        elif step == "more groups":
            raw["teams"]["team-001"]["model_groups"].append("team-001-extra")
            raw["teams"]["late-0"]["model_groups"].append("late-0-extra")
        elif step == "more stacks":
            raw["registry"]["team_stacks"] = 5
            add_team(raw, "after-raise")
        config = config_of(copy.deepcopy(raw))
        placements = plan(config, placements)
        steps[step] = synthesize(config, nag=False, placements=placements)
    return steps


def test_adding_teams_keeps_every_resource_in_its_stack(growth: dict[str, Synthesized]) -> None:
    assert_every_resource_kept(growth["base"], growth["more teams"])


def test_adding_groups_keeps_every_resource_in_its_stack(growth: dict[str, Synthesized]) -> None:
    before, after = growth["more teams"], growth["more groups"]
    # the two teams that got a group change their roles' policies (scoped to their own groups) only
    grown = {
        logical_id
        for stack, resources in resources_by_stack(before).items()
        for logical_id in resources
        if logical_id.startswith(("Teamteam001Roles", "Teamlate0Roles"))
    }
    assert grown
    assert_every_resource_kept(before, after, changing=frozenset(grown))


def test_raising_team_stacks_keeps_every_resource_in_its_stack(growth: dict[str, Synthesized]) -> None:
    before, after = growth["more groups"], growth["more stacks"]
    assert_every_resource_kept(before, after)
    assert {n for n in after.templates if n.startswith("MlopsRegistryTeams")} >= {
        n for n in before.templates if n.startswith("MlopsRegistryTeams")
    }


def test_every_group_is_retained_on_removal_and_replacement(growth: dict[str, Synthesized]) -> None:
    groups = growth["more stacks"].all_resources("AWS::SageMaker::ModelPackageGroup")
    assert len(groups) == 3 * 28 + 2
    for _, _, group in groups:
        assert group["DeletionPolicy"] == "Retain" and group["UpdateReplacePolicy"] == "Retain"


# --------------------------------------------------------------------------- as cdk synth runs it


def test_app_records_placements_and_refuses_a_rename_unless_allowed(tmp_path: Path) -> None:
    config = tmp_path / "registry.yaml"
    record = tmp_path / "registry.placements.json"
    raw = yaml.safe_load(EXAMPLE_CONFIG.read_text())
    config.write_text(yaml.safe_dump(raw))
    first = run_app(config, tmp_path / "out1")
    assert first.returncode == 0, first.stderr[-2000:]
    assert json.loads(record.read_text())["teams"]["fraud"]["groups"] == ["fraud-detector", "fraud-explainer"]

    raw["teams"]["fraud"]["model_groups"] = ["fraud-detector", "fraud-explainer-v2"]
    config.write_text(yaml.safe_dump(raw))
    refused = run_app(config, tmp_path / "out2")
    assert refused.returncode == 1
    assert "group 'fraud-explainer' of team 'fraud'" in refused.stderr
    assert "cdk deploy -c allow_retire=fraud-explainer" in refused.stderr
    assert not (tmp_path / "out2" / "manifest.json").exists()

    allowed = run_app(config, tmp_path / "out3", context={"allow_retire": "fraud-explainer"})
    assert allowed.returncode == 0, allowed.stderr[-2000:]
    fraud = json.loads(record.read_text())["teams"]["fraud"]
    assert fraud["retired_groups"] == ["fraud-explainer"]
    template = json.loads((tmp_path / "out3" / "MlopsRegistryTeams0.template.json").read_text())
    names = {
        r["Properties"]["ModelPackageGroupName"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::SageMaker::ModelPackageGroup"
    }
    assert names == {"fraud-detector", "fraud-explainer", "fraud-explainer-v2", "recommender"}
