"""status: the pure stuck decision, then the command against moto (cross-account, no access)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from mlops_cli.cmd_status import assess
from tests.unit.cli.world import SERVING_ACCOUNT, World, ledger_at

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
LIMIT = timedelta(minutes=30)


def _assess(**kwargs):  # type: ignore[no-untyped-def]
    base = {
        "endpoint_status": "InService",
        "live": 2,
        "desired": 3,
        "last_entry": None,
        "desired_since": None,
        "now": NOW,
        "stuck_after": LIMIT,
    }
    return assess(**{**base, **kwargs})


def test_assess_in_sync() -> None:
    assert _assess(desired=2) == _assess(desired=2, last_entry={"at": "2020-01-01T00:00:00.000000Z"})
    assert _assess(desired=2).stuck is False and _assess(desired=2).state == "in sync"


def test_assess_failed_endpoint_is_stuck() -> None:
    assert _assess(endpoint_status="Failed", desired=2).stuck is True


def test_assess_recent_progress_is_not_stuck() -> None:
    recent = {"at": ledger_at(NOW - timedelta(minutes=5)), "status": "in_progress", "version": 3}
    verdict = _assess(endpoint_status="Updating", last_entry=recent)
    assert (verdict.stuck, verdict.state) == (False, "deploying v3")
    assert _assess(desired_since=NOW - timedelta(minutes=1)).stuck is False


def test_assess_no_progress_for_too_long_is_stuck() -> None:
    old = {"at": ledger_at(NOW - timedelta(minutes=45)), "status": "live", "version": 2}
    verdict = _assess(last_entry=old, desired_since=NOW - timedelta(hours=2))
    assert verdict.stuck is True and "no progress for 45 min" in verdict.state
    assert _assess().stuck is True  # never any progress


def test_assess_rolled_back_desired_version_needs_a_human() -> None:
    entry = {"at": ledger_at(NOW - timedelta(minutes=1)), "status": "rolled_back", "version": 3}
    verdict = _assess(last_entry=entry)
    assert verdict.stuck is True and "will not retry" in verdict.state


def test_assess_nothing_matches() -> None:
    assert _assess(desired=None).stuck is False


def _seed(world: World) -> None:
    world.group("fraud-detector", team="risk")
    world.version("fraud-detector", "Approved")
    world.version("fraud-detector", "Approved")
    world.endpoint("fraud-prod", world.package_arn("fraud-detector", 2), account=SERVING_ACCOUNT)
    world.endpoint("fraud-eu", world.package_arn("fraud-detector", 1))
    world.deployment("fraud-prod", "fraud-detector", account=SERVING_ACCOUNT)
    world.deployment("fraud-eu", "fraud-detector")
    world.deployer()
    world.ledger()
    world.entry(
        f"{SERVING_ACCOUNT}/eu-west-1/fraud-prod",
        ledger_at(datetime.now(UTC)),
        "live",
        version=2,
        serving_version=2,
    )


def test_status_reads_endpoints_in_their_accounts(world: World, cli, calls) -> None:
    _seed(world)
    calls.clear()
    run = cli("status", "--json", "--stuck-minutes", "60")
    assert run.code == 0, run.err
    by_name = {e["endpoint"]: e for e in run.json()["endpoints"]}
    prod = by_name["fraud-prod"]
    assert (prod["endpoint_status"], prod["live_version"], prod["desired_version"], prod["stuck"]) == (
        "InService",
        2,
        2,
        False,
    )
    assert prod["last_entry"]["status"] == "live" and prod["state"] == "in sync"
    eu = by_name["fraud-eu"]
    assert (eu["live_version"], eu["desired_version"], eu["stuck"]) == (
        1,
        2,
        False,
    )  # just approved: converging
    assumed = calls.named("AssumeRole")
    assert [c["RoleArn"] for c in assumed] == [f"arn:aws:iam::{SERVING_ACCOUNT}:role/mlops-deploy-access"]
    listing = calls.named("ListModelPackages")
    assert listing and all(c["SortBy"] == "CreationTime" and c["SortOrder"] == "Descending" for c in listing)


def test_status_flags_stuck_endpoints_with_exit_5(world: World, cli) -> None:
    _seed(world)
    run = cli("status", "--stuck-minutes", "0")
    assert run.code == 5
    line = next(line for line in run.out.splitlines() if "fraud-eu" in line)
    assert "STUCK: desired v2 != live v1" in line


def test_status_of_one_endpoint_table(world: World, cli) -> None:
    _seed(world)
    run = cli("status", "fraud-prod")
    assert run.code == 0, run.err
    lines = run.out.splitlines()
    assert lines[0].split()[:5] == ["ENDPOINT", "FOLLOWS", "STATUS", "LIVE", "DESIRED"]
    assert len(lines) == 2 and "in sync" in lines[1]


def test_status_degrades_to_unknown_without_access(world: World, cli, deny) -> None:
    """AssumeRole of the serving account's deploy-access role is refused (error injection: moto never
    checks trust policies, and its IAM enforcement breaks Lambda's signature check)."""
    _seed(world)
    deny("AssumeRole")
    run = cli("status", "--json")
    assert run.code == 0, run.err
    by_name = {e["endpoint"]: e for e in run.json()["endpoints"]}
    prod = by_name["fraud-prod"]
    assert prod["endpoint_status"] == "unknown (no access)"
    assert (prod["live_version"], prod["live_source"]) == (2, "ledger")
    assert "mlops-deploy-access" in prod["problem"]
    assert by_name["fraud-eu"]["endpoint_status"] == "InService"  # same account: no role needed
    text = cli("status", "fraud-prod").out
    assert "unknown (no access)" in text and "2 (ledger)" in text


def test_status_failed_endpoint(world: World, cli, monkeypatch) -> None:
    _seed(world)
    from mlops_cli import endpoints

    original = endpoints.read_endpoint

    def failed(aws, deployment):  # type: ignore[no-untyped-def]
        state = original(aws, deployment)
        return endpoints.EndpointState(status="Failed", version=state.version, failure_reason="boom")

    monkeypatch.setattr("mlops_cli.cmd_status.read_endpoint", failed)
    run = cli("status", "fraud-prod")
    assert run.code == 5 and "STUCK: endpoint Failed" in run.out


def test_status_unknown_endpoint_and_missing_catalog(world: World, cli) -> None:
    _seed(world)
    assert cli("status", "nope").code == 2
    missing = cli("status", "--catalog-path", "/other/deployments")
    assert missing.code == 2 and "no deployments catalog at /other/deployments" in missing.err
    assert "deploy the MlopsDeployer stack" in missing.err


def test_status_reports_other_endpoint_errors_per_endpoint(world: World, cli, monkeypatch) -> None:
    """A throttled DescribeEndpoint (error injection) degrades one row instead of failing the command."""
    _seed(world)
    import botocore.client
    import botocore.exceptions

    inner = botocore.client.BaseClient._make_api_call

    def throttled(self, operation, params):  # type: ignore[no-untyped-def]
        if operation == "DescribeEndpoint" and params["EndpointName"] == "fraud-eu":
            raise botocore.exceptions.ClientError(
                {"Error": {"Code": "ThrottlingException", "Message": "slow"}}, operation
            )
        return inner(self, operation, params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", throttled)
    run = cli("status", "--json", "--stuck-minutes", "60")
    assert run.code == 0, run.err
    by_name = {e["endpoint"]: e for e in run.json()["endpoints"]}
    assert by_name["fraud-eu"]["endpoint_status"] == "unknown (error)"
    assert "ThrottlingException" in by_name["fraud-eu"]["problem"]
    assert by_name["fraud-prod"]["endpoint_status"] == "InService"


def test_status_lists_managed_endpoints_no_deployment_names(world: World, cli) -> None:
    """Issue 14: a deployment removed from the config leaves its endpoint running and billing; status
    lists every endpoint with the deployer's tag that no deployment names, and says what to do."""
    _seed(world)
    managed = [{"Key": "mlops:managed-by", "Value": "mlops-deployer"}]
    for name, tags in (("forgotten", managed), ("retiring", managed), ("kept", managed), ("hand-made", [])):
        world.endpoint(name, world.package_arn("fraud-detector", 1), account=SERVING_ACCOUNT)
        sm = world.sagemaker_in(SERVING_ACCOUNT)
        arn = sm.describe_endpoint(EndpointName=name)["EndpointArn"]
        if tags:
            sm.add_tags(ResourceArn=arn, Tags=tags)
    for name, on_remove in (("retiring", "delete"), ("kept", "keep")):
        world.deployments.append(
            {
                "endpoint": name,
                "account": SERVING_ACCOUNT,
                "region": "eu-west-1",
                "on_remove": on_remove,
                "deploy_role_arn": f"arn:aws:iam::{SERVING_ACCOUNT}:role/mlops-deploy-access",
            }
        )
    world.deployer()
    run = cli("status", "--json", "--stuck-minutes", "60")
    assert run.code == 0, run.err
    body = run.json()
    assert {e["endpoint"] for e in body["endpoints"]} == {
        "fraud-prod",
        "fraud-eu",
    }  # retired: not deployments
    states = {u["endpoint"]: u["state"] for u in body["unconfigured"]}
    assert set(states) == {"forgotten", "retiring", "kept"}  # not the endpoint without the deployer's tag
    assert states["forgotten"].startswith("NOT CONFIGURED") and "on_remove: delete" in states["forgotten"]
    assert states["retiring"].startswith("retired (on_remove: delete)")
    assert states["kept"].startswith("retired (on_remove: keep)")
    table = cli("status", "--stuck-minutes", "60")
    assert "NOT CONFIGURED" in table.out and f"{SERVING_ACCOUNT}/eu-west-1/forgotten" in table.out
