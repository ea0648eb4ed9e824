"""Where the managed endpoints come from: the deployments catalog in SSM Parameter Store (docs/contracts.md)."""

from __future__ import annotations

import json

import pytest
from moto.core.authorization import enable_iam_authentication

from tests.unit.cli.world import REGION, REGISTRY_ACCOUNT, SERVING_ACCOUNT, World


def _seed(world: World, endpoints: int = 1, per_part: int = 4) -> None:
    world.group("fraud-detector")
    world.version("fraud-detector", "Approved")
    for index in range(endpoints):
        world.deployment(f"fraud-prod-{index}", "fraud-detector", account=SERVING_ACCOUNT)
    world.deployer(per_part=per_part)


def test_catalog_in_several_parts_is_read_whole(world: World, cli, calls) -> None:
    _seed(world, endpoints=25, per_part=2)  # 13 parts: GetParametersByPath pages hold at most 10
    run = cli("groups", "--json")
    assert run.code == 0, run.err
    endpoints = run.json()[0]["endpoints"]
    assert sorted(e["endpoint"] for e in endpoints) == sorted(f"fraud-prod-{i}" for i in range(25))
    assert endpoints[0]["endpoint_id"].startswith(f"{SERVING_ACCOUNT}/{REGION}/")
    assert len(calls.named("GetParametersByPath")) == 2
    assert not calls.named("GetFunction") and not calls.named("GetFunctionConfiguration")


def test_catalog_carries_the_registry_account_and_region(world: World) -> None:
    from mlops_cli.deployments import load_catalog

    _seed(world)
    catalog = load_catalog(world.ssm)
    assert (catalog.registry_account, catalog.registry_region) == (REGISTRY_ACCOUNT, REGION)
    assert [d.endpoint for d in catalog.deployments] == ["fraud-prod-0"]


def test_parts_left_over_from_a_larger_catalog_are_ignored(world: World, cli) -> None:
    _seed(world, endpoints=3, per_part=1)  # parts 0..2
    world.deployments.pop()
    world.deployer(per_part=1)  # now 2 parts; part-002 stays until CloudFormation's cleanup
    run = cli("groups", "--json")
    assert run.code == 0, run.err
    assert sorted(e["endpoint"] for e in run.json()[0]["endpoints"]) == ["fraud-prod-0", "fraud-prod-1"]


def test_catalog_caught_mid_update_says_so(world: World, cli) -> None:
    _seed(world, endpoints=3, per_part=1)
    part = json.loads(world.ssm.get_parameter(Name="/mlops/deployments/part-001")["Parameter"]["Value"])
    part["parts"] = 2  # part-001 already rewritten by an update that shrinks the catalog, part-000 not
    world.ssm.put_parameter(
        Name="/mlops/deployments/part-001", Value=json.dumps(part), Type="String", Overwrite=True
    )
    run = cli("status")
    assert run.code == 6
    assert "is incomplete (parts disagree)" in run.err and "try again in a minute" in run.err


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("{not json", "part /mlops/deployments/part-000 is malformed"),
        ('{"part": 0, "parts": 1, "deployments": [{"endpoint": "x"}]}', "missing a required key"),
    ],
)
def test_malformed_catalog(world: World, cli, value: str, message: str) -> None:
    world.group("g")
    world.ssm.put_parameter(Name="/mlops/deployments/part-000", Value=value, Type="String")
    run = cli("status")
    assert run.code == 6 and message in run.err


def test_missing_catalog_names_path_account_region_and_fix(world: World, cli) -> None:
    world.group("g")
    run = cli("history", "fraud-prod")
    assert run.code == 2
    assert (
        f"no deployments catalog at /mlops/deployments (SSM parameters) in this account and region {REGION}"
        in run.err
    )
    assert "deploy the MlopsDeployer stack" in run.err


def _reader(world: World, statements: list[dict[str, str]]) -> dict[str, str]:
    world.iam.create_user(UserName="reader")
    world.iam.put_user_policy(
        UserName="reader",
        PolicyName="p",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": statements}),
    )
    key = world.iam.create_access_key(UserName="reader")["AccessKey"]
    return {"AWS_ACCESS_KEY_ID": key["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"]}


@pytest.mark.parametrize("granted", [True, False])
def test_the_catalog_statement_of_team_roles_is_enough_and_needed(
    world: World, cli, monkeypatch, granted
) -> None:
    """Team and approver roles get exactly this statement (stacks/constructs/deployments_catalog.py);
    the emulator authorizes GetParametersByPath against the path, as AWS does."""
    _seed(world)
    world.ledger()
    world.entry(
        f"{SERVING_ACCOUNT}/{REGION}/fraud-prod-0", "2026-11-20T10:00:00.000000Z", "live", serving_version=1
    )
    path_arn = f"arn:aws:ssm:{REGION}:{REGISTRY_ACCOUNT}:parameter/mlops/deployments"
    ledger = f"arn:aws:dynamodb:{REGION}:{REGISTRY_ACCOUNT}:table/mlops-deployment-ledger"
    statements = [{"Effect": "Allow", "Action": "dynamodb:Query", "Resource": ledger}]
    if granted:
        statements.append({"Effect": "Allow", "Action": "ssm:GetParametersByPath", "Resource": path_arn})
    for name, value in _reader(world, statements).items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_SESSION_TOKEN")
    with enable_iam_authentication():
        run = cli("history", "fraud-prod-0", "--json")
    if granted:
        assert run.code == 0, run.err
        assert run.json()["entries"][0]["serving_version"] == 1
    else:
        assert run.code == 3
        assert "ssm:GetParametersByPath on parameter /mlops/deployments" in run.err
