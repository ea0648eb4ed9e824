"""Every invalid config value fails with one message naming the key path, the bad value and what is allowed."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from stacks.config import MAX_DISCOVERY_ACCOUNTS_WITHOUT_ORG, ConfigError, load_config, parse_config
from tests.unit.stacks.synth import EXAMPLE_CONFIG

BASE: dict[str, Any] = yaml.safe_load(EXAMPLE_CONFIG.read_text())


def with_change(path: str, value: Any) -> dict[str, Any]:
    """The example config with one key (dotted path) set, or deleted when value is DELETE."""
    raw = copy.deepcopy(BASE)
    *parents, last = path.split(".")
    node = raw
    for key in parents:
        node = node[key]
    if value is DELETE:
        del node[last]
    else:
        node[last] = value
    return raw


DELETE = object()
DEP = "deployments.fraud-detector-prod"


def test_example_config_parses_into_typed_values() -> None:
    config = load_config(EXAMPLE_CONFIG)
    assert config.registry.account == "111111111111"
    assert [t.name for t in config.teams] == ["fraud", "recsys"]
    fraud = config.teams[0]
    assert fraud.approver_account == "444444444444"
    assert config.teams[1].approver_account == "555555555555"  # defaults to the team account
    prod = config.deployments[0]
    assert (prod.rollout.strategy, prod.rollout.step_percent, prod.rollout.bake_seconds) == (
        "canary",
        25,
        600,
    )
    recommender = config.deployments[1]
    assert (recommender.account, recommender.region) == ("111111111111", "eu-west-1")  # registry defaults
    assert recommender.follows == "Production"
    assert config.serving_targets == (("333333333333", "eu-west-1"),)


def test_pipeline_block_defaults_and_disable() -> None:
    config = load_config(EXAMPLE_CONFIG)
    pipeline = config.teams[0].pipeline
    assert pipeline is not None
    assert (pipeline.model_group, pipeline.metric_threshold, pipeline.training_instance_type) == (
        "fraud-detector",
        0.85,
        "ml.m5.xlarge",
    )
    assert config.teams[1].pipeline is None
    assert parse_config(with_change("teams.fraud.pipeline.enabled", False)).pipeline_teams == ()
    minimal = parse_config(with_change("teams.fraud.pipeline", {}))
    assert minimal.teams[0].pipeline is not None and minimal.teams[0].pipeline.model_group == "fraud-detector"


def test_defaults_for_optional_deployment_keys() -> None:
    raw = with_change(f"{DEP}.rollout", DELETE)
    del raw["deployments"]["fraud-detector-prod"]["follows"]
    deployment = parse_config(raw).deployments[0]
    assert deployment.follows == "Approved"
    assert deployment.rollout.strategy == "all_at_once"
    assert deployment.network_isolation is True  # containers get no network unless a deployment says so


def test_network_isolation_may_be_turned_off_per_deployment() -> None:
    config = parse_config(with_change(f"{DEP}.network_isolation", False))
    by_name = {d.endpoint: d.network_isolation for d in config.deployments}
    assert by_name == {"fraud-detector-prod": False, "recommender-prod": True}


@pytest.mark.parametrize(
    ("path", "value", "key", "allowed"),
    [
        ("registry.account", 111111111111, "registry.account", "quoted string of 12 digits"),
        ("registry.account", "12345", "registry.account", "exactly 12 digits"),
        ("registry.region", "eu-middle-9", "registry.region", "eu-west-1"),
        ("registry.organization_id", "org-1", "registry.organization_id", "o-a1b2c3d4e5"),
        ("registry.colour", "blue", "registry.colour", "allowed keys"),
        ("registry.team_stacks", 0, "registry.team_stacks", "from 1 to 100"),
        ("teams.fraud.account", "22222222222x", "teams.fraud.account", "12 digits"),
        ("teams.fraud.approver_account", "1", "teams.fraud.approver_account", "12 digits"),
        ("teams.fraud.model_groups", [], "teams.fraud.model_groups", "non-empty list"),
        (
            "teams.fraud.model_groups",
            ["bad_name!"],
            "teams.fraud.model_groups[0]",
            "letters, digits and hyphens",
        ),
        (
            "teams.recsys.model_groups",
            ["fraud-detector"],
            "teams.recsys.model_groups[0]",
            "already used by team 'fraud'",
        ),
        ("teams.Fraud", {"account": "222222222222", "model_groups": ["x"]}, "teams.Fraud", "lowercase"),
        ("teams.fraud.model_groups", DELETE, "teams.fraud.model_groups", "required"),
        (f"{DEP}.model_group", "ghost", f"{DEP}.model_group", "fraud-detector, fraud-explainer, recommender"),
        (f"{DEP}.account", "3333", f"{DEP}.account", "12 digits"),
        (f"{DEP}.region", "mars-1", f"{DEP}.region", "a SageMaker region name"),
        (f"{DEP}.region", "us-east-1", f"{DEP}.region", "the registry's region eu-west-1"),
        (f"{DEP}.account", "3333333333333", f"{DEP}.account", "exactly 12 digits"),
        (
            "deployments.recommender-prod.rollout.step_percent",
            55,
            "deployments.recommender-prod.rollout.step_percent",
            "from 10 to 50",
        ),
        (
            "deployments.recommender-prod.rollout.step_percent",
            9,
            "deployments.recommender-prod.rollout.step_percent",
            "from 10 to 50",
        ),
        (f"{DEP}.follows", "Approved!", f"{DEP}.follows", "lifecycle stage"),
        (f"{DEP}.instance_type", "m5.large", f"{DEP}.instance_type", "ml.m5.large"),
        (f"{DEP}.instance_count", 0, f"{DEP}.instance_count", "from 1 to 100"),
        (f"{DEP}.network_isolation", "yes", f"{DEP}.network_isolation", "true (the default"),
        (f"{DEP}.network_isolation", 1, f"{DEP}.network_isolation", "or false"),
        (f"{DEP}.rollout.strategy", "big_bang", f"{DEP}.rollout.strategy", "canary, linear"),
        (f"{DEP}.rollout.step_percent", 60, f"{DEP}.rollout.step_percent", "from 1 to 50"),
        (f"{DEP}.rollout.wait_seconds", 3601, f"{DEP}.rollout.wait_seconds", "from 0 to 3600"),
        (f"{DEP}.rollout.bake_seconds", -1, f"{DEP}.rollout.bake_seconds", "from 0 to 3600"),
        (f"{DEP}.rollout.step_percent", DELETE, f"{DEP}.rollout.step_percent", "required"),
        (
            "teams.fraud.pipeline.model_group",
            "recommender",
            "teams.fraud.pipeline.model_group",
            "one of the team's groups",
        ),
        (
            "teams.fraud.pipeline.metric_threshold",
            1.5,
            "teams.fraud.pipeline.metric_threshold",
            "from 0 to 1",
        ),
        ("teams.fraud.pipeline.schedule", "daily", "teams.fraud.pipeline.schedule", "cron(...) or rate(...)"),
        ("teams.fraud.pipeline.enabled", "yes", "teams.fraud.pipeline.enabled", "true or false"),
        (
            "teams.fraud.pipeline.training_instance_type",
            "big",
            "teams.fraud.pipeline.training_instance_type",
            "ml.m5.large",
        ),
    ],
)
def test_invalid_value_names_key_value_and_allowed(path: str, value: Any, key: str, allowed: str) -> None:
    raw = with_change(path, value)
    with pytest.raises(ConfigError) as caught:
        parse_config(raw)
    assert caught.value.path == key
    message = str(caught.value)
    assert f"'{key}'" in message
    assert allowed in message


def test_linear_step_below_sagemaker_minimum_is_rejected() -> None:
    raw = with_change(f"{DEP}.rollout.strategy", "linear")
    raw["deployments"]["fraud-detector-prod"]["rollout"]["step_percent"] = 5
    with pytest.raises(ConfigError, match=r"rollout.step_percent.*from 10 to 50"):
        parse_config(raw)


@pytest.mark.parametrize(
    ("count", "step", "ok"), [(2, 25, True), (2, 50, True), (1, 25, False), (3, 50, False), (4, 50, True)]
)
def test_canary_may_not_exceed_half_of_the_fleet(count: int, step: int, ok: bool) -> None:
    raw = with_change(f"{DEP}.instance_count", count)
    raw["deployments"]["fraud-detector-prod"]["rollout"]["step_percent"] = step
    if ok:
        assert parse_config(raw).deployments[0].rollout.step_percent == step
    else:
        with pytest.raises(ConfigError, match="more than SageMaker's limit of 50% of the fleet"):
            parse_config(raw)


def test_missing_file_and_bad_yaml_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="must exist"):
        load_config(tmp_path / "nope.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("registry: [unclosed")
    with pytest.raises(ConfigError, match="valid YAML"):
        load_config(broken)


def test_without_an_organization_discovery_accounts_are_capped() -> None:
    raw = with_change("registry.organization_id", DELETE)
    raw["teams"] = {
        f"t{i}": {"account": f"{200000000000 + i}", "model_groups": [f"g{i}"]}
        for i in range(MAX_DISCOVERY_ACCOUNTS_WITHOUT_ORG + 1)
    }
    raw["deployments"] = {}
    with pytest.raises(ConfigError, match="registry.organization_id.*discovery is granted organization-wide"):
        parse_config(raw)
    del raw["teams"]["t0"]
    assert len(parse_config(raw).team_accounts) == MAX_DISCOVERY_ACCOUNTS_WITHOUT_ORG


def test_all_at_once_bakes_with_the_configured_or_default_bake_seconds() -> None:
    """bake_seconds becomes TerminationWaitInSeconds for every strategy: without it an all_at_once
    update has no baking period in which the rollback alarms could act."""
    raw = with_change(f"{DEP}.rollout", {"strategy": "all_at_once", "bake_seconds": 900})
    rollout = parse_config(raw).deployments[0].rollout
    assert rollout.as_dict() == {"strategy": "all_at_once", "bake_seconds": 900}
    default = parse_config(with_change(f"{DEP}.rollout", {"strategy": "all_at_once"})).deployments[0].rollout
    assert default.as_dict() == {"strategy": "all_at_once", "bake_seconds": 300}
    assert parse_config(with_change(f"{DEP}.rollout", DELETE)).deployments[0].rollout.bake_seconds == 300


def test_a_deployment_in_another_region_than_the_registry_names_its_key() -> None:
    raw = with_change("deployments.recommender-prod.region", "eu-central-1")
    with pytest.raises(ConfigError) as error:
        parse_config(raw)
    assert error.value.path == "deployments.recommender-prod.region"
    assert error.value.value == "eu-central-1"
    assert "eu-west-1" in str(error.value)


# --- retired deployments ---------------------------------------------------------------------------


def _with_retired(retired: Any) -> dict[str, Any]:
    raw = copy.deepcopy(BASE)
    raw["retired"] = retired
    return raw


def test_retired_endpoints_default_to_the_registry_account_and_region() -> None:
    config = parse_config(
        _with_retired(
            {"old-prod": {"on_remove": "delete"}, "older": {"on_remove": "keep", "account": "333333333333"}}
        )
    )
    assert [(r.endpoint, r.account, r.region, r.on_remove) for r in config.retired] == [
        ("old-prod", "111111111111", "eu-west-1", "delete"),
        ("older", "333333333333", "eu-west-1", "keep"),
    ]


@pytest.mark.parametrize(
    ("retired", "key", "allowed"),
    [
        ({"old": {"on_remove": "destroy"}}, "retired.old.on_remove", "delete"),
        ({"old": {"on_remove": "Delete"}}, "retired.old.on_remove", "did you mean 'delete'"),
        ({"old": {}}, "retired.old.on_remove", "required"),
        ({"old": {"on_remove": "keep", "instance_count": 2}}, "retired.old.instance_count", "allowed keys"),
        ({"fraud-detector-prod": {"on_remove": "delete"}}, "retired.fraud-detector-prod", "not both"),
        ({"old": {"on_remove": "delete", "region": "us-east-1"}}, "retired.old.region", "registry's region"),
    ],
)
def test_a_bad_retired_entry_names_the_key_and_the_allowed_values(
    retired: Any, key: str, allowed: str
) -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(_with_retired(retired))
    assert f"config error at '{key}'" in str(err.value) and allowed in str(err.value)
