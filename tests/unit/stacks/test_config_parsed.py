"""What a valid config parses into, every field: a config that sets every optional key, and the
defaults of one that sets none. A parser that drops or mangles an accepted value fails here, not in a
deployed stack."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import yaml

from stacks import config as config_module
from stacks.config import DEFAULT_STAGES, MAX_PIPELINE_TEAMS, ConfigError, load_config, parse_config
from tests.unit.stacks.test_config import BASE, with_change

EVERY_KEY = """\
registry:
  account: "111111111111"
  region: eu-west-1
  organization_id: o-a1b2c3d4e5
  team_stacks: 3
  stages: [Staging, Production]
  allowed_image_accounts: ["763104351884", "222222222222"]
  require_image_digest: true
teams:
  fraud:
    account: "222222222222"
    approver_account: "444444444444"
    model_groups: [fraud-detector, fraud-explainer]
    publisher_principals: ["arn:aws:iam::222222222222:role/fraud-ds-*"]
    approver_principals: ["arn:aws:iam::444444444444:role/release-?", "arn:aws:iam::444444444444:user/alice"]
    stage_approvers:
      Production: ["333333333333", "arn:aws:iam::111111111111:role/prod-release"]
      Staging: ["444444444444"]
    image_repositories: [fraud/inference, fraud/batch.v2]
    pipeline:
      enabled: true
      model_group: fraud-explainer
      training_instance_type: ml.c5.2xlarge
      evaluation_instance_type: ml.m5.xlarge
      metric_threshold: 1
      schedule: rate(1 day)
  recsys:
    account: "555555555555"
    model_groups: [recommender]
    pipeline: {}
deployments:
  fraud-canary:
    model_group: fraud-detector
    account: "333333333333"
    region: eu-west-1
    follows: Production
    instance_type: ml.m5.large
    instance_count: 4
    network_isolation: false
    rollout: {strategy: canary, step_percent: 50, wait_seconds: 0, bake_seconds: 3600}
  fraud-linear:
    model_group: fraud-explainer
    instance_type: ml.m5.large
    instance_count: 2
    rollout: {strategy: linear, step_percent: 50}
  recsys-rolling:
    model_group: recommender
    instance_type: ml.c5.xlarge
    instance_count: 10
    follows: Staging
    rollout: {strategy: rolling, batch_instances: 3, rollback_batch_percent: 100, wait_seconds: 60, max_execution_seconds: 601}
  recsys-rolling-percent:
    model_group: recommender
    instance_type: ml.c5.xlarge
    instance_count: 7
    rollout: {strategy: rolling, batch_percent: 30, rollback_batch_instances: 7}
  recsys-plain:
    model_group: recommender
    instance_type: ml.c5.xlarge
    instance_count: 1
retired:
  old-fraud: {on_remove: delete}
  older-fraud: {on_remove: keep, account: "333333333333", region: eu-west-1}
"""

EVERY_KEY_PARSED = {
    "registry": {
        "account": "111111111111",
        "region": "eu-west-1",
        "organization_id": "o-a1b2c3d4e5",
        "team_stacks": 3,
        "stages": ("Staging", "Production"),
        "allowed_image_accounts": ("763104351884", "222222222222"),
        "require_image_digest": True,
    },
    "teams": (
        {
            "name": "fraud",
            "account": "222222222222",
            "approver_account": "444444444444",
            "model_groups": ("fraud-detector", "fraud-explainer"),
            "pipeline": {
                "model_group": "fraud-explainer",
                "training_instance_type": "ml.c5.2xlarge",
                "evaluation_instance_type": "ml.m5.xlarge",
                "metric_threshold": 1.0,
                "schedule": "rate(1 day)",
            },
            "publisher_principals": ("arn:aws:iam::222222222222:role/fraud-ds-*",),
            "approver_principals": (
                "arn:aws:iam::444444444444:role/release-?",
                "arn:aws:iam::444444444444:user/alice",
            ),
            "stage_approvers": (
                ("Production", ("333333333333", "arn:aws:iam::111111111111:role/prod-release")),
                ("Staging", ("444444444444",)),
            ),
            "image_repositories": ("fraud/inference", "fraud/batch.v2"),
        },
        {
            "name": "recsys",
            "account": "555555555555",
            "approver_account": "555555555555",
            "model_groups": ("recommender",),
            "pipeline": {
                "model_group": "recommender",
                "training_instance_type": "ml.m5.xlarge",
                "evaluation_instance_type": "ml.m5.large",
                "metric_threshold": 0.8,
                "schedule": None,
            },
            "publisher_principals": (),
            "approver_principals": (),
            "stage_approvers": (),
            "image_repositories": (),
        },
    ),
    "deployments": (
        {
            "endpoint": "fraud-canary",
            "model_group": "fraud-detector",
            "account": "333333333333",
            "region": "eu-west-1",
            "follows": "Production",
            "instance_type": "ml.m5.large",
            "instance_count": 4,
            "rollout": {
                "strategy": "canary",
                "step_percent": 50,
                "wait_seconds": 0,
                "bake_seconds": 3600,
                "rolling": None,
            },
            "network_isolation": False,
        },
        {
            "endpoint": "fraud-linear",
            "model_group": "fraud-explainer",
            "account": "111111111111",
            "region": "eu-west-1",
            "follows": "Approved",
            "instance_type": "ml.m5.large",
            "instance_count": 2,
            "rollout": {
                "strategy": "linear",
                "step_percent": 50,
                "wait_seconds": 300,
                "bake_seconds": 300,
                "rolling": None,
            },
            "network_isolation": True,
        },
        {
            "endpoint": "recsys-rolling",
            "model_group": "recommender",
            "account": "111111111111",
            "region": "eu-west-1",
            "follows": "Staging",
            "instance_type": "ml.c5.xlarge",
            "instance_count": 10,
            "rollout": {
                "strategy": "rolling",
                "step_percent": None,
                "wait_seconds": 60,
                "bake_seconds": 300,
                "rolling": {
                    "batch": ("INSTANCE_COUNT", 3),
                    "batches": 4,
                    "rollback_batch": ("CAPACITY_PERCENT", 100),
                    "max_execution_seconds": 601,
                },
            },
            "network_isolation": True,
        },
        {
            "endpoint": "recsys-rolling-percent",
            "model_group": "recommender",
            "account": "111111111111",
            "region": "eu-west-1",
            "follows": "Approved",
            "instance_type": "ml.c5.xlarge",
            "instance_count": 7,
            "rollout": {
                "strategy": "rolling",
                "step_percent": None,
                "wait_seconds": 300,
                "bake_seconds": 300,
                "rolling": {
                    "batch": ("CAPACITY_PERCENT", 30),
                    "batches": 3,
                    "rollback_batch": ("INSTANCE_COUNT", 7),
                    "max_execution_seconds": None,
                },
            },
            "network_isolation": True,
        },
        {
            "endpoint": "recsys-plain",
            "model_group": "recommender",
            "account": "111111111111",
            "region": "eu-west-1",
            "follows": "Approved",
            "instance_type": "ml.c5.xlarge",
            "instance_count": 1,
            "rollout": {
                "strategy": "all_at_once",
                "step_percent": None,
                "wait_seconds": None,
                "bake_seconds": 300,
                "rolling": None,
            },
            "network_isolation": True,
        },
    ),
    "retired": (
        {"endpoint": "old-fraud", "account": "111111111111", "region": "eu-west-1", "on_remove": "delete"},
        {"endpoint": "older-fraud", "account": "333333333333", "region": "eu-west-1", "on_remove": "keep"},
    ),
    "warnings": (),
}


@pytest.fixture
def every_key(tmp_path: Path) -> Path:
    path = tmp_path / "every-key.yaml"
    path.write_text(EVERY_KEY)
    return path


def test_a_config_with_every_key_parses_into_exactly_those_values(every_key: Path) -> None:
    assert dataclasses.asdict(load_config(every_key)) == EVERY_KEY_PARSED


def test_rollouts_as_the_deployer_reads_them(every_key: Path) -> None:
    rollouts = {d.endpoint: d.rollout.as_dict() for d in load_config(every_key).deployments}
    assert rollouts == {
        "fraud-canary": {"strategy": "canary", "step_percent": 50, "wait_seconds": 0, "bake_seconds": 3600},
        "fraud-linear": {"strategy": "linear", "step_percent": 50, "wait_seconds": 300, "bake_seconds": 300},
        "recsys-rolling": {
            "strategy": "rolling",
            "wait_seconds": 60,
            "batch": {"type": "INSTANCE_COUNT", "value": 3},
            "batches": 4,
            "rollback_batch": {"type": "CAPACITY_PERCENT", "value": 100},
            "max_execution_seconds": 601,
        },
        "recsys-rolling-percent": {
            "strategy": "rolling",
            "wait_seconds": 300,
            "batch": {"type": "CAPACITY_PERCENT", "value": 30},
            "batches": 3,
            "rollback_batch": {"type": "INSTANCE_COUNT", "value": 7},
        },
        "recsys-plain": {"strategy": "all_at_once", "bake_seconds": 300},
    }


def test_lookups_over_the_parsed_config(every_key: Path) -> None:
    config = load_config(every_key)
    assert config.group_owner("fraud-explainer").name == "fraud"
    assert config.group_owner("recommender").name == "recsys"
    assert [d.endpoint for d in config.deployments_of("recommender")] == [
        "recsys-rolling",
        "recsys-rolling-percent",
        "recsys-plain",
    ]
    assert config.deployments_of("fraud-explainer")[0].endpoint == "fraud-linear"
    assert config.team_accounts == ("222222222222", "555555555555")
    assert config.serving_targets == (("333333333333", "eu-west-1"),)
    assert [t.name for t in config.pipeline_teams] == ["fraud", "recsys"]


def test_instance_types_are_read_from_botocores_service_model(monkeypatch: pytest.MonkeyPatch) -> None:
    """With the per-process cache empty, the valid types come from the API shape named."""
    monkeypatch.setattr(config_module, "_INSTANCE_TYPES", {})
    assert parse_config(BASE).deployments[0].instance_type == "ml.m5.large"
    types = config_module._INSTANCE_TYPES
    assert set(types) == {"ProductionVariantInstanceType", "TrainingInstanceType", "ProcessingInstanceType"}
    assert "ml.m5.large" in types["ProductionVariantInstanceType"]
    assert "ml.p4d.24xlarge" in types["TrainingInstanceType"]
    assert "ml.t2.nano" not in types["ProcessingInstanceType"]


def test_every_team_whose_approver_is_another_teams_account_is_warned_about() -> None:
    raw = with_change("teams.fraud.approver_account", "222222222222")  # its own: no warning for fraud
    raw["teams"]["ads"] = {
        "account": "666666666666",
        "approver_account": "555555555555",
        "model_groups": ["ads"],
    }
    raw["teams"]["search"] = {
        "account": "777777777777",
        "approver_account": "222222222222",
        "model_groups": ["s"],
    }
    assert parse_config(raw).warnings == (
        "teams.ads.approver_account '555555555555' is the account of team(s) recsys: principals there can "
        "assume mlops-ads-approver and approve ads's models; use a governance account (or omit the key to use "
        "the team's own)",
        "teams.search.approver_account '222222222222' is the account of team(s) fraud: principals there can "
        "assume mlops-search-approver and approve search's models; use a governance account (or omit the key "
        "to use the team's own)",
    )


def test_a_key_repeated_inside_a_list_item_is_an_error(tmp_path: Path) -> None:
    text = EVERY_KEY.replace("    pipeline: {}\n", "    pipeline: {}\n    extra: [{a: 1, a: 2}]\n")
    path = tmp_path / "dup.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert (err.value.path, err.value.value) == ("teams.recsys.extra[0].a", "a")
    line = text[: text.index("extra:")].count("\n") + 1
    assert (
        err.value.allowed
        == f"each key may appear once in a mapping; line {line} repeats the key of line {line}"
    )


def test_a_missing_or_unreadable_config_file_is_named_under_the_key_config(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError) as err:
        load_config(missing)
    assert (err.value.path, err.value.value) == ("config", str(missing))
    assert err.value.allowed == "the config file must exist (cdk.json context key 'config')"
    broken = tmp_path / "broken.yaml"
    broken.write_text("registry: [unclosed")
    with pytest.raises(ConfigError) as err:
        load_config(broken)
    assert (err.value.path, err.value.value) == ("config", str(broken))
    assert err.value.allowed.startswith("valid YAML (while parsing a flow sequence")


def test_the_config_is_read_with_libyamls_loader_when_pyyaml_has_it(
    every_key: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The C loader parses a 1,000-team config three times faster (`make bench`)."""
    used: list[str] = []

    class CountingLoader(yaml.SafeLoader):
        def __init__(self, stream: str) -> None:
            used.append("C")
            super().__init__(stream)

    monkeypatch.setattr(yaml, "CSafeLoader", CountingLoader, raising=False)
    load_config(every_key)
    assert used == ["C"]


def test_an_endpoint_name_of_exactly_the_limit_is_accepted() -> None:
    raw = with_change("deployments.fraud-detector-prod", BASE["deployments"]["fraud-detector-prod"])
    raw["deployments"] = {"e" * 40: raw["deployments"]["fraud-detector-prod"]}
    assert parse_config(raw).deployments[0].endpoint == "e" * 40


def test_registry_defaults_when_the_optional_keys_are_absent() -> None:
    registry = parse_config(BASE).registry
    assert (registry.team_stacks, registry.stages) == (1, DEFAULT_STAGES)
    assert (registry.allowed_image_accounts, registry.require_image_digest) == (None, False)


def test_more_pipeline_teams_than_the_bucket_policy_holds_names_the_first_one_too_many() -> None:
    raw = with_change("teams.fraud.pipeline.enabled", False)
    raw["teams"] = {
        f"p{i:02d}": {"account": f"{200000000000 + i}", "model_groups": [f"g{i}"], "pipeline": {}}
        for i in range(MAX_PIPELINE_TEAMS + 1)
    }
    raw["deployments"] = {}
    with pytest.raises(ConfigError) as err:
        parse_config(raw)
    assert (err.value.path, err.value.value) == (f"teams.p{MAX_PIPELINE_TEAMS:02d}.pipeline", "enabled")
    assert err.value.allowed == (
        f"at most {MAX_PIPELINE_TEAMS} teams may run pipelines: each needs its own statement in the "
        "artifact bucket policy, which AWS caps at 20 KB"
    )
    del raw["teams"]["p00"]
    assert len(parse_config(raw).pipeline_teams) == MAX_PIPELINE_TEAMS


def test_a_rollout_without_a_strategy_is_all_at_once_with_its_bake() -> None:
    rollout = parse_config(with_change("deployments.fraud-detector-prod.rollout", {"bake_seconds": 100}))
    assert rollout.deployments[0].rollout.as_dict() == {"strategy": "all_at_once", "bake_seconds": 100}


def test_batch_instances_are_bounded_by_5_to_50_percent_of_a_large_fleet() -> None:
    """30 instances: a batch is 2 (5% rounded up) to 15 instances."""
    raw = with_change("deployments.recommender-prod.instance_count", 30)
    raw["deployments"]["recommender-prod"]["rollout"] = {"strategy": "rolling", "batch_instances": 1}
    with pytest.raises(ConfigError) as err:
        parse_config(raw)
    assert (err.value.path, err.value.value, err.value.allowed) == (
        "deployments.recommender-prod.rollout.batch_instances",
        1,
        "an integer from 2 to 15",
    )
    raw["deployments"]["recommender-prod"]["rollout"]["batch_instances"] = 2
    assert parse_config(raw).deployments[1].rollout.rolling.batches == 15  # type: ignore[union-attr]
