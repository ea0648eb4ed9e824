"""`teams.<name>.image_repositories`: ECR repositories in the team account whose policy admits exactly the
team's execution roles of the serving accounts (finding 7 of issue 9)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from stacks.config import ConfigError, load_config, parse_config
from tests.unit.stacks.policy_helpers import actions_of, principals_of
from tests.unit.stacks.synth import EXAMPLE_CONFIG, example, synthesize
from tests.unit.stacks.test_config import with_change

STACK = "MlopsTeamImages-fraud"


def repositories(templates: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    resources = templates[STACK]["Resources"].values()
    return {r["Properties"]["RepositoryName"]: r for r in resources if r["Type"] == "AWS::ECR::Repository"}


def test_the_team_repository_admits_only_the_teams_serving_roles_to_pull() -> None:
    synth = example()
    assert synth.assembly.image_stacks[0].account == "222222222222"  # the fraud team's account
    repository = repositories(synth.templates)["fraud/inference"]
    assert repository["DeletionPolicy"] == "Retain"
    props = repository["Properties"]
    assert props["ImageTagMutability"] == "IMMUTABLE"
    (statement,) = props["RepositoryPolicyText"]["Statement"]
    assert statement["Effect"] == "Allow"
    assert principals_of(statement) == ["arn:aws:iam::333333333333:root"]  # fraud-detector-prod's account
    assert actions_of(statement) == [
        "ecr:BatchCheckLayerAvailability",
        "ecr:BatchGetImage",
        "ecr:GetDownloadUrlForLayer",
    ]
    assert statement["Condition"] == {
        "ArnEquals": {"aws:PrincipalArn": ["arn:aws:iam::333333333333:role/mlops-fraud-serving"]},
        "StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"},
    }
    assert "Resource" not in statement  # a repository policy applies to its own repository


def test_each_team_repository_admits_the_accounts_serving_that_team() -> None:
    config = load_config(EXAMPLE_CONFIG)
    recsys = dataclasses.replace(config.teams[1], image_repositories=("recsys/inference",))
    synth = synthesize(dataclasses.replace(config, teams=(config.teams[0], recsys)), nag=False)
    assert {s.stack_name for s in synth.assembly.image_stacks} == {STACK, "MlopsTeamImages-recsys"}
    resources = synth.templates["MlopsTeamImages-recsys"]["Resources"].values()
    (repository,) = [r for r in resources if r["Type"] == "AWS::ECR::Repository"]
    # recommender-prod lives in the registry account: its recsys role, not fraud's serving account
    (statement,) = repository["Properties"]["RepositoryPolicyText"]["Statement"]
    assert principals_of(statement) == ["arn:aws:iam::111111111111:root"]
    assert statement["Condition"]["ArnEquals"] == {
        "aws:PrincipalArn": ["arn:aws:iam::111111111111:role/mlops-recsys-serving"]
    }


@pytest.mark.parametrize(
    ("value", "key", "allowed"),
    [
        ([], "teams.fraud.image_repositories", "non-empty list"),
        ("fraud/inference", "teams.fraud.image_repositories", "non-empty list"),
        (["Fraud"], "teams.fraud.image_repositories[0]", "lowercase letters"),
        (["a"], "teams.fraud.image_repositories[0]", "2-256"),
        (["ok/one", "ok/one"], "teams.fraud.image_repositories[1]", "each repository once"),
    ],
)
def test_bad_repository_names_name_the_key(value: Any, key: str, allowed: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(with_change("teams.fraud.image_repositories", value))
    assert caught.value.path == key and allowed in str(caught.value)
