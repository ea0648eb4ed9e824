"""rollback: the pure plan, then the command against moto."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from mlops_cli.cmd_rollback import plan_rollback
from mlops_cli.deployments import Deployment
from mlops_cli.errors import CliError
from mlops_cli.registry import Version
from tests.unit.cli.conftest import FakeTty
from tests.unit.cli.world import SERVING_ACCOUNT, World

ARN = "arn:aws:sagemaker:eu-west-1:123456789012:model-package/g/{}"


def v(
    number: int, approval: str = "Approved", stage: str | None = None, stage_status: str | None = "Approved"
) -> Version:
    return Version(
        "g", number, ARN.format(number), approval, stage, stage_status if stage else None, datetime.now(UTC)
    )


def dep(name: str = "ep", follows: str = "Approved") -> Deployment:
    return Deployment(endpoint=name, group="g", account="333333333333", region="eu-west-1", follows=follows)


# plan -------------------------------------------------------------------------------------------
def test_default_rejects_the_live_version() -> None:
    plan = plan_rollback(deployment=dep(), versions=[v(3), v(2), v(1)], live=3, reason="r")
    assert [(a.version, a.fields) for a in plan.actions] == [
        (3, {"ModelApprovalStatus": "Rejected", "ApprovalDescription": "r"})
    ]
    assert plan.target == 2


def test_default_for_a_stage_moves_the_live_version_out_of_the_stage() -> None:
    versions = [v(3, stage="Production"), v(2, stage="Production"), v(1)]
    plan = plan_rollback(deployment=dep(follows="Production"), versions=versions, live=3, reason="r")
    (action,) = plan.actions
    assert action.fields == {
        "ModelLifeCycle": {
            "Stage": "Archived",
            "StageStatus": "Rejected",
            "StageDescription": "taken out of Production: r",
        }
    }
    assert plan.target == 2


def test_following_the_archive_stage_itself_moves_elsewhere() -> None:
    versions = [v(2, stage="Archived"), v(1, stage="Archived")]
    plan = plan_rollback(deployment=dep(follows="Archived"), versions=versions, live=2, reason="r")
    assert plan.actions[0].fields["ModelLifeCycle"]["Stage"] == "RolledBack" and plan.target == 1


def test_stage_follow_rule_is_the_deployers() -> None:
    """Stage AND StageStatus Approved AND an Approved version (issue 9); the package must be Completed."""
    assert not v(1, "Rejected", stage="Production", stage_status="Approved").matches("Production")
    assert not v(1, "Approved", stage="Production", stage_status="PendingApproval").matches("Production")
    assert v(1, "Approved", stage="Production", stage_status="Approved").matches("Production")
    assert not replace(v(1, stage="Production"), package_status="Failed").matches("Production")
    assert replace(v(1), package_status="Completed").matches("Approved")
    assert not v(1, "PendingManualApproval", stage="Production").matches("Approved")


def test_to_an_approved_version_rejects_newer_approved_ones_live_last() -> None:
    versions = [v(5, "PendingManualApproval"), v(4), v(3, "Rejected"), v(2), v(1)]
    plan = plan_rollback(deployment=dep(), versions=versions, live=4, reason="r", to=1)
    assert [a.version for a in plan.actions] == [2, 4]  # the live version, which changes desired, is last
    assert plan.target == 1


def test_to_a_stage_moves_the_target_first_then_takes_newer_ones_out() -> None:
    versions = [v(4, stage="Production"), v(3, stage="Production"), v(2, stage="Staging"), v(1)]
    plan = plan_rollback(deployment=dep(follows="Production"), versions=versions, live=4, reason="r", to=2)
    assert [a.version for a in plan.actions] == [2, 3, 4]
    assert plan.actions[0].fields == {
        "ModelLifeCycle": {"Stage": "Production", "StageStatus": "Approved", "StageDescription": "r"}
    }
    assert all(a.fields["ModelLifeCycle"]["Stage"] == "Archived" for a in plan.actions[1:])
    assert all("ModelApprovalStatus" not in a.fields for a in plan.actions)
    assert plan.target == 2


def test_plan_lists_other_endpoints_that_move_too() -> None:
    others = [dep(), dep("ep-eu"), dep("ep-stage", follows="Production"), Deployment("x", "other", "1", "r")]
    plan = plan_rollback(deployment=dep(), versions=[v(3), v(2)], live=3, reason="r", others=others)
    assert plan.other_endpoints == [{"endpoint_id": "333333333333/eu-west-1/ep-eu", "from": 3, "to": 2}]


@pytest.mark.parametrize(
    ("versions", "live", "to", "message"),
    [
        ([v(2), v(1)], 2, 2, "already serves version 2"),
        ([v(2), v(1)], 1, 2, "newer than the live version"),
        ([v(2), v(1, "Rejected")], 2, 1, "version 1 is Rejected"),
        ([v(2), v(1, "PendingManualApproval")], 2, 1, "not Approved"),
        ([v(2), v(1)], 2, 7, "version 7 of g does not exist"),
        ([v(2)], 2, None, "no version of g matches"),
        ([v(2, "Rejected"), v(1)], 2, None, "no longer matches"),
        ([v(1)], 4, None, "live version 4 of g is not in the registry"),
    ],
)
def test_plan_refuses_unsafe_rollbacks(
    versions: list[Version], live: int, to: int | None, message: str
) -> None:
    with pytest.raises(CliError, match=message):
        plan_rollback(deployment=dep(), versions=versions, live=live, reason="r", to=to)


def test_plan_warns_when_a_newer_approved_version_would_be_deployed() -> None:
    plan = plan_rollback(deployment=dep(), versions=[v(3), v(2), v(1)], live=2, reason="r")
    assert plan.target == 3 and "newer than the live version" in plan.warnings[0]


# command ----------------------------------------------------------------------------------------
def _seed(world: World, *, live: int = 3) -> None:
    world.group("fraud-detector", team="risk")
    for approval in ("Approved", "Approved", "Approved", "PendingManualApproval"):
        world.version("fraud-detector", approval)
    world.endpoint("fraud-prod", world.package_arn("fraud-detector", live), account=SERVING_ACCOUNT)
    world.deployment("fraud-prod", "fraud-detector", account=SERVING_ACCOUNT)
    world.deployment("fraud-eu", "fraud-detector")
    world.deployer()
    world.ledger()


def _approval(world: World, version: int) -> str:
    return str(world.package(world.package_arn("fraud-detector", version))["ModelApprovalStatus"])


def test_rollback_rejects_the_live_version_read_from_the_endpoint(world: World, cli) -> None:
    _seed(world)
    run = cli("rollback", "fraud-prod", "--reason", "5xx spike", "--yes")
    assert run.code == 0, run.err
    assert "live version: 3 (read from endpoint)" in run.out
    assert "set approval of v3 to Rejected" in run.out
    assert (
        "updates fraud-prod from version 3 to version 2 in place (canary 25%, wait 300s, bake 600s" in run.out
    )
    assert "mlops-fraud-prod-5xx" in run.out
    assert "123456789012/eu-west-1/fraud-eu" in run.out  # the other follower moves too
    package = world.package(world.package_arn("fraud-detector", 3))
    assert package["ModelApprovalStatus"] == "Rejected"
    assert package["ApprovalDescription"] == f"rollback of {SERVING_ACCOUNT}/eu-west-1/fraud-prod: 5xx spike"
    assert [_approval(world, n) for n in (1, 2)] == ["Approved", "Approved"]


def test_rollback_to_an_older_version(world: World, cli) -> None:
    _seed(world)
    run = cli("rollback", "fraud-prod", "--to", "1", "--reason", "drift", "--yes", "--json")
    assert run.code == 0, run.err
    data = run.json()
    assert (data["live_version"], data["target_version"], data["applied"]) == (3, 1, [2, 3])
    assert [_approval(world, n) for n in (1, 2, 3, 4)] == [
        "Approved",
        "Rejected",
        "Rejected",
        "PendingManualApproval",
    ]


def test_rollback_live_version_from_the_ledger_when_the_endpoint_is_unreadable(world: World, cli) -> None:
    world.group("fraud-detector", team="risk")
    world.version("fraud-detector", "Approved")
    world.version("fraud-detector", "Approved")
    world.deployment("fraud-prod", "fraud-detector", account=SERVING_ACCOUNT)  # endpoint not in moto
    world.deployer()
    world.ledger()
    eid = f"{SERVING_ACCOUNT}/eu-west-1/fraud-prod"
    world.entry(
        eid,
        "2026-11-20T10:00:00.000000Z",
        "live",
        version=2,
        serving_version=2,
        serving_package_arn=world.package_arn("fraud-detector", 2),
    )
    world.entry(eid, "2026-11-20T11:00:00.000000Z", "skipped", reason="no change")
    run = cli("rollback", eid, "--reason", "r", "--dry-run")
    assert run.code == 0, run.err
    assert "live version: 2 (read from ledger entry 2026-11-20T10:00:00.000000Z)" in run.out


def test_rollback_dry_run_changes_nothing(world: World, cli, calls) -> None:
    _seed(world)
    calls.clear()
    run = cli("rollback", "fraud-prod", "--reason", "r", "--dry-run", "--json")
    assert run.code == 0 and run.json()["dry_run"] is True
    assert not calls.named("UpdateModelPackage")


def test_rollback_without_yes_and_without_a_terminal_refuses(world: World, cli) -> None:
    _seed(world)
    run = cli("rollback", "fraud-prod", "--reason", "r")
    assert run.code == 1 and "pass --yes" in run.err
    assert _approval(world, 3) == "Approved"


def test_rollback_prompts_on_a_terminal(world: World, cli) -> None:
    _seed(world)
    declined = cli("rollback", "fraud-prod", "--reason", "r", stdin=FakeTty("n\n"))
    assert declined.code == 1 and "aborted" in declined.err and "Proceed? [y/N]" in declined.out
    assert _approval(world, 3) == "Approved"
    accepted = cli("rollback", "fraud-prod", "--reason", "r", stdin=FakeTty("y\n"))
    assert accepted.code == 0, accepted.err
    assert _approval(world, 3) == "Rejected"


def test_rollback_of_a_stage_follower(world: World, cli) -> None:
    world.group("fraud-detector", team="risk")
    world.version("fraud-detector", "Approved", stage="Production")
    world.version("fraud-detector", "Approved", stage="Staging")
    world.version("fraud-detector", "Approved", stage="Production")
    world.endpoint("fraud-live", world.package_arn("fraud-detector", 3))
    world.deployment("fraud-live", "fraud-detector", follows="Production")
    world.deployer()
    world.ledger()
    run = cli("rollback", "fraud-live", "--to", "2", "--reason", "latency", "--yes", "--json")
    assert run.code == 0, run.err
    assert run.json()["applied"] == [2, 3]

    def life(version: int) -> tuple[str, str]:
        cycle = world.package(world.package_arn("fraud-detector", version))["ModelLifeCycle"]
        return cycle["Stage"], cycle["StageStatus"]

    assert life(2) == ("Production", "Approved")
    assert life(3) == ("Archived", "Rejected")
    assert life(1) == ("Production", "Approved")  # older: untouched
    assert _approval(world, 3) == "Approved"  # a stage rollback leaves the approval alone
    status = cli("status", "fraud-live", "--json").json()["endpoints"][0]
    assert (status["live_version"], status["desired_version"]) == (3, 2)  # the deployer's next target


def test_rollback_unknown_endpoint(world: World, cli) -> None:
    _seed(world)
    run = cli("rollback", "fraud-prd", "--reason", "r", "--yes")
    assert run.code == 2 and "did you mean: fraud-prod" in run.err


def test_rollback_denied_names_the_approver_role_and_what_was_applied(world: World, cli, deny) -> None:
    """AccessDenied by error injection (moto's IAM enforcement is exercised in test_approval)."""
    _seed(world)
    deny("UpdateModelPackage")
    run = cli("rollback", "fraud-prod", "--to", "1", "--reason", "r", "--yes")
    assert run.code == 3
    assert "mlops-risk-approver" in run.err
    assert "changes already applied: none; the endpoint's desired version is unchanged" in run.err
