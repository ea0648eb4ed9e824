"""rollback promises only what the deployer will do; `retry` asks it, once, for a held-back version."""

from __future__ import annotations

from typing import Any

from tests.unit.cli.world import REGISTRY_ACCOUNT, World

G = "fraud-detector"


def _after_alarm_rollback(world: World) -> str:
    """v2 and v4 approved; the deployer's update to v4 was rolled back by an alarm: v2 serves."""
    world.group(G, team="risk")
    for status in ("Approved", "Approved", "Rejected", "Approved"):
        world.version(G, status)
    world.endpoint("fraud-prod", world.package_arn(G, 2))
    world.deployment("fraud-prod", G)
    world.deployer()
    world.ledger()
    eid = f"{REGISTRY_ACCOUNT}/eu-west-1/fraud-prod"
    v2, v4 = world.package_arn(G, 2), world.package_arn(G, 4)
    # as the deployer writes them (every item names its endpoint, account, region and group)
    where = {"endpoint": "fraud-prod", "account": REGISTRY_ACCOUNT, "region": "eu-west-1", "group": G}
    serves_v2 = {"serving_version": 2, "serving_package_arn": v2, **where}
    world.entry(eid, "2026-11-20T09:00:00.000000Z", "live", version=2, model_package_arn=v2, **serves_v2)
    world.entry(
        eid, "2026-11-20T10:00:00.000000Z", "in_progress", version=4, model_package_arn=v4, **serves_v2
    )
    world.entry(
        eid,
        "2026-11-20T10:20:00.000000Z",
        "rolled_back",
        version=4,
        model_package_arn=v4,
        reason="SageMaker rolled back (5xx alarm)",
        **serves_v2,
    )
    world.entry(eid, "2026-11-20T10:21:00.000000Z", "superseded", version=3, **where)  # a note, not a state
    return eid


def test_rollback_does_not_promise_a_held_back_version(world: World, cli, calls) -> None:
    _after_alarm_rollback(world)
    run = cli("rollback", "fraud-prod", "--reason", "bad", "--yes")
    assert run.code == 1
    assert "would want version 4, but it holds that version back" in run.err
    assert "would stay on version 2" in run.err
    assert "mlops retry fraud-prod 4" in run.err and "--to" in run.err
    assert not calls.named("UpdateModelPackage")  # nothing was changed


def test_rollback_to_an_older_version_still_works_after_an_alarm(world: World, cli) -> None:
    _after_alarm_rollback(world)
    run = cli("rollback", "fraud-prod", "--to", "1", "--reason", "bad", "--yes", "--json")
    assert run.code == 0, run.err
    assert run.json()["target_version"] == 1


def test_retry_writes_one_requested_entry(world: World, cli) -> None:
    eid = _after_alarm_rollback(world)
    run = cli("retry", "fraud-prod", "--reason", "the alarm was a false positive", "--json")
    assert run.code == 0, run.err
    requested = run.json()["requested"]
    assert requested["status"] == "requested" and requested["version"] == 4
    assert requested["model_package_arn"] == world.package_arn(G, 4)
    assert requested["serving_version"] == 2  # a request changes nothing that serves
    assert "false positive" in requested["reason"]
    timeline = cli("history", eid, "--json").json()["entries"]
    assert [e["status"] for e in timeline][-1] == "requested"
    # honoured once: a second retry before the deployer acted has nothing to lift
    again = cli("retry", "fraud-prod", "4", "--reason", "again")
    assert again.code == 1 and "nothing to retry" in again.err


def test_retry_refuses_a_version_the_deployer_would_not_deploy(world: World, cli, calls) -> None:
    _after_alarm_rollback(world)
    calls.clear()
    run = cli("retry", "fraud-prod", "2", "--reason", "r")
    assert run.code == 1
    assert "newest version matching 'Approved' (version 4), not version 2" in run.err
    assert "mlops rollback fraud-prod --to 2" in run.err
    assert not calls.named("PutItem")


def test_retry_without_a_hold_has_nothing_to_do(world: World, cli) -> None:
    world.group(G, team="risk")
    world.version(G, "Approved")
    world.endpoint("fraud-prod", world.package_arn(G, 1))
    world.deployment("fraud-prod", G)
    world.deployer()
    world.ledger()
    run = cli("retry", "fraud-prod", "--reason", "r")
    assert run.code == 1 and "does not hold version 1 back" in run.err


def _ledger_entries(world: World, eid: str) -> list[dict[str, Any]]:
    return world.ddb.query(
        TableName="mlops-deployment-ledger",
        KeyConditionExpression="endpoint_id = :e",
        ExpressionAttributeValues={":e": {"S": eid}},
    )["Items"]


def test_the_deployer_honours_the_request_once(world: World, cli) -> None:
    """The CLI's entry, read back by the deployer's own ledger code, lifts the hold for one attempt;
    a second rollback holds the version back again."""
    from dataclasses import replace

    from deployer import controller, names
    from deployer.ledger import from_item
    from deployer.models import EndpointView, Package
    from deployer.settings import parse_deployment

    eid = _after_alarm_rollback(world)
    assert cli("retry", "fraud-prod", "--reason", "false alarm").code == 0
    deployment = parse_deployment(world.deployments[0])
    v4 = Package(world.package_arn(G, 4), 4, "Approved", None, "Completed")
    v2 = world.package_arn(G, 2)
    model = names.model_name("fraud-prod", 2, v2, deployment.execution_role_arn)
    config = names.config_name(
        "fraud-prod", 2, v2, model=model, variant="AllTraffic", instance_type="ml.m5.large", instance_count=2
    )
    endpoint = EndpointView(
        exists=True,
        status="InService",
        config_name=config,
        variant_name="AllTraffic",
        variant_count=1,
        instance_count=2,
    )
    recent = [from_item(item) for item in reversed(_ledger_entries(world, eid))]
    decision = controller.decide(deployment, v4, endpoint, recent)
    assert decision.deploy is not None and decision.deploy.package.version == 4
    assert decision.started is not None
    again = replace(decision.started, status="rolled_back", at="2026-11-21T00:00:00.000000Z")
    held = controller.decide(deployment, v4, endpoint, [again, decision.started, *recent])
    assert held.deploy is None and "not retrying" in held.reason
