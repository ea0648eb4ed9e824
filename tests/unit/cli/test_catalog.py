"""groups, versions, show, compare against moto."""

from __future__ import annotations

from tests.unit.cli.world import SERVING_ACCOUNT, World


def _seed(world: World) -> None:
    world.group("fraud-detector", team="risk", description="card fraud")
    world.group("churn", team="growth")
    world.group("untagged", team=None)
    world.version(
        "fraud-detector", "Approved", metrics={"binary_classification_metrics": {"auc": {"value": 0.91}}}
    )
    world.version(
        "fraud-detector", "Approved", metrics={"binary_classification_metrics": {"auc": {"value": 0.93}}}
    )
    world.version("fraud-detector", "PendingManualApproval")
    world.version("churn", "Rejected")
    world.deployment("fraud-prod", "fraud-detector", account=SERVING_ACCOUNT)
    world.deployment("fraud-staging", "fraud-detector", follows="Staging")
    world.deployer()


def test_groups_lists_team_latest_approved_and_followers(world: World, cli) -> None:
    _seed(world)
    run = cli("groups", "--json")
    assert run.code == 0, run.err
    by_name = {g["group"]: g for g in run.json()}
    assert set(by_name) == {"fraud-detector", "churn", "untagged"}
    fraud = by_name["fraud-detector"]
    assert (fraud["team"], fraud["latest_version"], fraud["latest_approved_version"]) == ("risk", 3, 2)
    assert [(e["endpoint"], e["follows"]) for e in fraud["endpoints"]] == [
        ("fraud-prod", "Approved"),
        ("fraud-staging", "Staging"),
    ]
    assert fraud["endpoints"][0]["endpoint_id"] == f"{SERVING_ACCOUNT}/eu-west-1/fraud-prod"
    assert (by_name["churn"]["latest_version"], by_name["churn"]["latest_approved_version"]) == (1, None)
    assert by_name["untagged"]["team"] is None and by_name["untagged"]["latest_version"] is None


def test_groups_table_is_aligned(world: World, cli) -> None:
    _seed(world)
    run = cli("groups")
    assert run.code == 0
    lines = run.out.splitlines()
    assert lines[0].split() == ["GROUP", "TEAM", "LATEST", "APPROVED", "ENDPOINTS"]
    fraud = next(line for line in lines if line.startswith("fraud-detector"))
    assert fraud.index("risk") == lines[0].index("TEAM")
    assert "fraud-prod (Approved), fraud-staging (Staging)" in fraud


def test_groups_filter_by_team_and_search(world: World, cli) -> None:
    _seed(world)
    assert [g["group"] for g in cli("groups", "--team", "growth", "--json").json()] == ["churn"]
    assert [g["group"] for g in cli("groups", "--search", "CARD", "--json").json()] == ["fraud-detector"]
    assert cli("groups", "--team", "nobody", "--json").json() == []


def test_groups_without_catalog_warns_and_still_lists(world: World, cli) -> None:
    world.group("solo")
    run = cli("groups", "--json")
    assert run.code == 0
    assert run.json()[0]["endpoints"] is None
    assert "endpoints unknown" in run.err and "no deployments catalog at /mlops/deployments" in run.err


def test_groups_paginates(world: World, cli, calls) -> None:
    for index in range(130):
        world.group(f"g-{index:03d}")
    calls.clear()
    run = cli("groups", "--json")
    assert run.code == 0
    assert len(run.json()) == 130
    assert len(calls.named("ListModelPackageGroups")) == 2  # moto pages by 100


def test_versions_with_status_metrics_and_newest_first(world: World, cli) -> None:
    _seed(world)
    run = cli("versions", "fraud-detector", "--json")
    assert run.code == 0, run.err
    rows = run.json()["versions"]
    assert [r["version"] for r in rows] == [3, 2, 1]
    assert [r["status"] for r in rows] == ["PendingManualApproval", "Approved", "Approved"]
    assert rows[1]["metrics"] == {"auc": 0.93}
    assert rows[0]["metrics"] == {}  # no report: empty, not an error
    assert rows[0]["created_by"]  # moto fills CreatedBy with a user profile
    approved = cli("versions", "fraud-detector", "--status", "approved", "--json").json()["versions"]
    assert [r["version"] for r in approved] == [2, 1]


def test_versions_table_shows_metric_columns(world: World, cli) -> None:
    _seed(world)
    run = cli("versions", "fraud-detector")
    header = run.out.splitlines()[0].split()
    assert header[:2] == ["VERSION", "STATUS"] and header[-1] == "AUC"
    assert "0.93" in run.out.splitlines()[2]


def test_versions_lists_all_500_versions_across_pages(world: World, cli, calls) -> None:
    world.group("big")
    for _ in range(500):
        world.version("big")
    calls.clear()
    run = cli("versions", "big", "--no-metrics", "--json")
    assert run.code == 0, run.err
    versions = [r["version"] for r in run.json()["versions"]]
    assert versions == list(range(500, 0, -1))
    listing = calls.named("ListModelPackages")
    assert len(listing) == 5
    assert all(c["SortBy"] == "CreationTime" and c["SortOrder"] == "Descending" for c in listing)
    assert not calls.named("GetObject") and not calls.named("DescribeModelPackage")


def test_unknown_group_suggests_close_matches(world: World, cli) -> None:
    _seed(world)
    run = cli("versions", "fraud-detecter")
    assert run.code == 2
    assert "does not exist" in run.err and "did you mean: fraud-detector" in run.err


def test_show_full_detail_with_deployments(world: World, cli) -> None:
    _seed(world)
    world.ledger()
    arn2 = world.package_arn("fraud-detector", 2)
    eid = f"{SERVING_ACCOUNT}/eu-west-1/fraud-prod"
    world.entry(eid, "2026-11-20T10:00:00.000000Z", "requested", model_package_arn=arn2, version=2)
    world.entry(
        eid,
        "2026-11-20T10:05:00.000000Z",
        "live",
        model_package_arn=arn2,
        version=2,
        serving_package_arn=arn2,
        serving_version=2,
    )
    run = cli("show", "fraud-detector", "2", "--json")
    assert run.code == 0, run.err
    data = run.json()
    assert data["status"] == "Approved" and data["team"] == "risk"
    assert data["metrics"] == {"auc": 0.93}
    assert data["containers"][0]["model_data_url"] == "s3://artifacts/model.tar.gz"
    assert data["deployments"] == [
        {"endpoint_id": eid, "live": True, "entries": data["deployments"][0]["entries"]}
    ]
    assert [e["status"] for e in data["deployments"][0]["entries"]] == ["requested", "live"]
    text = cli("show", "fraud-detector", "2").out
    assert "live on: " + eid in text and "auc" in text


def test_show_missing_metrics_report_is_not_an_error(world: World, cli) -> None:
    world.group("g")
    world.version("g", metrics_uri="s3://nowhere/missing.json")
    world.deployer()
    world.ledger()
    run = cli("show", "g", "1", "--json")
    assert run.code == 0, run.err
    assert run.json()["metrics"] == {}
    assert "cannot read s3://nowhere/missing.json" in run.json()["metrics_problem"]
    assert run.json()["deployments"] == []


def test_show_unknown_version(world: World, cli) -> None:
    world.group("g")
    world.version("g")
    run = cli("show", "g", "7")
    assert run.code == 2
    assert "version 7 of 'g' does not exist" in run.err and "newest version of g is 1" in run.err


def test_compare_side_by_side_with_difference(world: World, cli) -> None:
    world.group("reg")
    world.version("reg", metrics={"regression_metrics": {"mse": {"value": 4.0}, "r2": {"value": 0.5}}})
    world.version("reg", metrics={"regression_metrics": {"mse": {"value": 3.0}, "mae": {"value": 1.0}}})
    run = cli("compare", "reg", "1", "2", "--json")
    assert run.code == 0, run.err
    rows = {m["metric"]: m for m in run.json()["metrics"]}
    assert rows["mse"]["delta"] == -1.0 and rows["mse"]["change_percent"] == -25.0
    assert rows["r2"]["v2"] is None and rows["r2"]["delta"] is None
    assert rows["mae"]["v1"] is None
    text = cli("compare", "reg", "1", "2").out
    assert text.splitlines()[0].split() == ["METRIC", "V1", "V2", "DELTA", "CHANGE"]
    assert "-25.0%" in text
