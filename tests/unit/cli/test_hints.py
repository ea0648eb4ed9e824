"""Day-two hints: wrong input is refused before any AWS call, and every hint points the right way."""

from __future__ import annotations

from typing import Any

import botocore.client
import botocore.exceptions
import pytest

from tests.unit.cli.world import World


def test_version_flag(cli, capsys) -> None:
    from mlops_cli.main import main

    assert main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("mlops ")


@pytest.mark.parametrize(
    "argv",
    [
        ("groups", "--role-arn", "garbage"),
        ("groups", "--role-arn", "arn:aws:iam::12345:role/short-account"),
        ("groups", "--role-arn", "arn:aws:iam::123456789012:user/not-a-role"),
        ("history", "fraud-prod", "--limit", "-3"),
        ("history", "fraud-prod", "--limit", "0"),
        ("status", "--stuck-minutes", "-1"),
        ("history", "fraud-prod", "--at", "2999-01-01T00:00:00Z"),
        ("compare", "g", "1", "1"),
        ("promote", "g", "1", "--stage", "Production", "--stage-status", "Bogus"),
    ],
)
def test_bad_input_is_a_usage_error_before_any_aws_call(world: World, cli, calls, capsys, argv) -> None:
    world.group("g")
    world.version("g", "Approved")
    calls.clear()
    run = cli(*argv)
    assert run.code == 1, run.out
    assert calls.log == []
    assert "error" in run.err + capsys.readouterr().err  # argparse writes to sys.stderr


def test_usage_errors_say_what_is_allowed(world: World, cli, capsys) -> None:
    cli("groups", "--role-arn", "x")
    assert "expected arn:aws:iam::<12-digit account>:role/<name>" in capsys.readouterr().err
    cli("promote", "g", "1", "--stage", "Production", "--stage-status", "Bogus")
    assert "choose from Approved, PendingApproval" in capsys.readouterr().err
    future = cli("history", "123456789012/eu-west-1/e", "--at", "2999-01-01")
    assert "is in the future" in future.err
    assert "two different versions" in cli("compare", "g", "3", "3").err


def test_stage_status_is_case_insensitive_and_sent_as_documented(world: World, cli, calls) -> None:
    world.group("g")
    world.version("g", "Approved")
    run = cli("promote", "g", "1", "--stage", "Production", "--stage-status", "pendingapproval", "--json")
    assert run.code == 0, run.err
    (update,) = calls.named("UpdateModelPackage")
    assert update["ModelLifeCycle"]["StageStatus"] == "PendingApproval"


def test_a_valid_role_arn_in_another_partition_is_accepted(world: World, cli, calls) -> None:
    run = cli("groups", "--role-arn", "arn:aws-cn:iam::123456789012:role/team/mlops-risk-approver")
    assert run.code == 0, run.err
    assert len(calls.named("AssumeRole")) == 1


@pytest.mark.parametrize(
    ("env", "region"),
    [
        ({"AWS_REGION": "eu-west-1"}, "eu-west-1"),
        ({"AWS_DEFAULT_REGION": "eu-west-1"}, "eu-west-1"),
        ({"AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "eu-west-1"}, "us-east-1"),
    ],
)
def test_aws_region_and_aws_default_region(world: World, cli, calls, monkeypatch, env, region) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.delenv("AWS_REGION", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    world.group("g")  # in eu-west-1
    run = cli("groups", "--json")
    assert run.code == 0, run.err
    assert [g["group"] for g in run.json()] == (["g"] if region == "eu-west-1" else [])


def test_no_region_hint_names_both_variables(world: World, cli, monkeypatch) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.delenv("AWS_REGION", raising=False)
    run = cli("groups")
    assert run.code == 1
    assert "AWS_REGION" in run.err and "AWS_DEFAULT_REGION" in run.err and "--region" in run.err


@pytest.mark.parametrize("code", ["InvalidClientTokenId", "UnrecognizedClientException", "ExpiredToken"])
def test_rejected_credentials_are_not_called_a_missing_permission(
    world: World, cli, monkeypatch, code
) -> None:
    """AWS answers an unknown or expired key with HTTP 403 and these codes (error injection: moto without
    IAM enforcement accepts any key)."""

    def rejected(self: Any, operation: str, params: dict[str, Any]) -> Any:
        raise botocore.exceptions.ClientError(
            {
                "Error": {"Code": code, "Message": "The security token included in the request is invalid."},
                "ResponseMetadata": {"HTTPStatusCode": 403},
            },
            operation,
        )

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", rejected)
    run = cli("groups")
    assert run.code == 3
    assert "credentials were rejected" in run.err
    assert "List*" not in run.err and "permission" not in run.err
    assert "--profile" in run.err


def test_versions_says_why_metrics_are_missing(world: World, cli, deny) -> None:
    world.group("g")
    world.version("g", "Approved", metrics={"regression_metrics": {"auc": {"value": 0.9}}})
    world.version("g", "Approved")  # no report registered
    text = cli("versions", "g").out
    assert "no metrics for v2: no evaluation report registered" in text
    assert "v1" not in text.split("no metrics for")[1]
    deny("GetObject")  # as AWS answers a role without s3:GetObject on the team's prefix
    denied = cli("versions", "g")
    assert denied.code == 0
    assert "no metrics for v1: cannot read s3://reports/g/1/evaluation.json: AccessDenied" in denied.out
    assert "s3:GetObject on the team's prefix" in denied.out
    assert "(metrics not read: --no-metrics)" in cli("versions", "g", "--no-metrics").out


def _catalog(world: World) -> None:
    world.deployment("fraud-prod", "g", account="333333333333")
    world.deployer()  # the deployments catalog, in the registry account and region


def test_wrong_region_says_where_the_registry_is(world: World, cli) -> None:
    world.group("g")  # registry: 123456789012, eu-west-1
    _catalog(world)
    run = cli("groups", "--region", "us-east-1")
    assert run.code == 2
    assert "no model package groups in account 123456789012, region us-east-1" in run.err
    assert "the registry is in account 123456789012, region eu-west-1: use --region eu-west-1" in run.err
    missing = cli("versions", "g", "--region", "us-east-1")
    assert missing.code == 2 and "use --region eu-west-1" in missing.err


def test_wrong_account_says_how_to_get_there(world: World, cli) -> None:
    world.group("g")
    _catalog(world)
    run = cli("groups", "--role-arn", "arn:aws:iam::999999999999:role/someone")
    assert run.code == 2
    assert "you are in account 999999999999, region eu-west-1" in run.err
    assert "--role-arn arn:aws:iam::123456789012:role/mlops-<team>-approver" in run.err
    assert "--region" not in run.err.split("use ", 1)[1]  # same region: only the account differs


def test_unknown_registry_location_points_at_the_config(world: World, cli) -> None:
    run = cli("groups", "--region", "us-east-1")  # no catalog anywhere
    assert run.code == 0 and run.out.strip() == "no model package groups"
    assert "you are in account 123456789012, region us-east-1" in run.err
    assert "registry.account" in run.err
