"""history: timeline and "which version served at T" (one DynamoDB Query)."""

from __future__ import annotations

from tests.unit.cli.world import SERVING_ACCOUNT, World

EID = f"{SERVING_ACCOUNT}/eu-west-1/fraud-prod"


def _seed(world: World) -> None:
    world.deployment("fraud-prod", "fraud-detector", account=SERVING_ACCOUNT)
    world.deployer()
    world.ledger()
    world.entry(EID, "2026-11-20T09:00:00.000000Z", "live", version=6, serving_version=6)
    world.entry(
        EID,
        "2026-11-20T10:00:00.000000Z",
        "requested",
        version=7,
        previous_version=6,
        serving_version=6,
        approved_by="arn:aws:sts::123456789012:assumed-role/mlops-risk-approver/alice",
    )
    world.entry(EID, "2026-11-20T10:00:00.500000Z", "in_progress", version=7, serving_version=6)
    world.entry(EID, "2026-11-20T10:20:00.000000Z", "live", version=7, previous_version=6, serving_version=7)
    world.entry(
        EID, "2026-11-21T08:00:00.000000Z", "rolled_back", version=8, serving_version=7, reason="5xx alarm"
    )
    world.entry(
        "123456789012/eu-west-1/other", "2026-11-20T10:30:00.000000Z", "live", version=1, serving_version=1
    )


def test_timeline_oldest_first(world: World, cli) -> None:
    _seed(world)
    run = cli("history", "fraud-prod", "--json")
    assert run.code == 0, run.err
    data = run.json()
    assert data["endpoint_id"] == EID
    assert [e["status"] for e in data["entries"]] == [
        "live",
        "requested",
        "in_progress",
        "live",
        "rolled_back",
    ]
    assert data["entries"][1]["approved_by"].endswith("mlops-risk-approver/alice")
    text = cli("history", "fraud-prod").out.splitlines()
    assert text[0].split()[:4] == ["AT", "STATUS", "VERSION", "PREVIOUS"]
    assert "5xx alarm" in text[-1]


def test_timeline_limit_keeps_the_newest(world: World, cli) -> None:
    _seed(world)
    entries = cli("history", EID, "--limit", "2", "--json").json()["entries"]
    assert [e["at"] for e in entries] == ["2026-11-20T10:20:00.000000Z", "2026-11-21T08:00:00.000000Z"]


def test_at_answers_with_exactly_one_query(world: World, cli, calls) -> None:
    _seed(world)
    calls.clear()
    run = cli("history", EID, "--at", "2026-11-20T10:10:00Z", "--json")
    assert run.code == 0, run.err
    assert run.json()["serving_version"] == 6
    (query,) = calls.named("Query")
    assert query["KeyConditionExpression"] == "endpoint_id = :e AND #at <= :t"
    assert query["ExpressionAttributeValues"][":t"] == {"S": "2026-11-20T10:10:00.000000Z"}
    assert (query["ScanIndexForward"], query["Limit"]) == (False, 1)
    assert [op for op, _ in calls.log] == ["Query"]  # a full id needs no deployer lookup


def test_at_boundaries_and_time_formats(world: World, cli) -> None:
    _seed(world)

    def served(at: str) -> int:
        run = cli("history", "fraud-prod", "--at", at, "--json")
        assert run.code == 0, run.err
        return int(run.json()["serving_version"])

    assert served("2026-11-20T10:20:00Z") == 7  # an entry exactly at T counts
    assert served("2026-11-20T10:19:59.999999Z") == 6
    assert served("2026-11-20T11:20:00+01:00") == 7  # offsets are converted to UTC
    assert served("2026-11-20 10:10") == 6  # naive = UTC
    assert served("2026-11-22") == 7
    text = cli("history", "fraud-prod", "--at", "2026-11-21T09:00:00Z").out
    assert text.startswith(f"{EID} served version 7 at 2026-11-21T09:00:00.000000Z")
    assert "rolled_back, 5xx alarm" in text


def test_at_before_the_first_entry_is_not_found(world: World, cli) -> None:
    _seed(world)
    run = cli("history", "fraud-prod", "--at", "2026-01-01T00:00:00Z")
    assert run.code == 2 and "no ledger entry" in run.err


def test_invalid_time_is_a_usage_error(world: World, cli, calls) -> None:
    _seed(world)
    calls.clear()
    run = cli("history", "fraud-prod", "--at", "yesterday-ish")
    assert run.code == 1 and "invalid time" in run.err
    assert calls.log == []


def test_unknown_endpoint_and_missing_table(world: World, cli) -> None:
    _seed(world)
    unknown = cli("history", "fraud-pord")
    assert unknown.code == 2 and "did you mean: fraud-prod" in unknown.err
    assert cli("history", "1/eu-west-1/never").code == 2
    missing = cli("history", EID, "--ledger-table", "nope")
    assert missing.code == 2 and "ledger table 'nope'" in missing.err


def test_timeline_paginates_past_one_megabyte(world: World, cli, calls) -> None:
    world.ledger()
    for minute in range(30):
        world.entry(EID, f"2026-11-20T10:{minute:02d}:00.000000Z", "skipped", reason="x" * 50_000)
    calls.clear()
    run = cli("history", EID, "--json")
    assert run.code == 0, run.err
    assert len(run.json()["entries"]) == 30
    assert len(calls.named("Query")) == 2  # DynamoDB (and moto) stop a page at 1 MB


def test_plain_name_without_access_to_the_catalog_suggests_the_full_id(world: World, cli, deny) -> None:
    _seed(world)
    deny("GetParametersByPath")
    run = cli("history", "fraud-prod")
    assert run.code == 3
    assert "ssm:GetParametersByPath on parameter /mlops/deployments" in run.err
    assert "or pass the full id <account>/<region>/<endpoint name>" in run.err
    assert cli("history", EID, "--json").code == 0
