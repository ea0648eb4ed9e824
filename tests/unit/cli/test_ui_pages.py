"""`mlops ui` pages fetched like a client (Starlette's TestClient) against moto with the emulator
extension: every page and its JSON twin, pagination, search, the 404 and no-credentials pages."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from mlops_cli.context import Context
from mlops_cli.main import build_parser
from mlops_cli.ui.app import build_app
from mlops_cli.ui.data import PAGE_SIZE, Cache
from tests.unit.cli.world import REGION, SERVING_ACCOUNT, World

EID = f"{SERVING_ACCOUNT}/{REGION}/fraud-prod"


def _client(*argv: str) -> TestClient:
    ctx = Context(build_parser().parse_args(["ui", *argv]))
    return TestClient(build_app(ctx, cache=Cache(seconds=0)), raise_server_exceptions=True)


@pytest.fixture
def seeded(world: World) -> Iterator[World]:
    world.group("fraud-detector", team="fraud", description="card fraud")
    world.group("churn", team="growth")
    for auc in (0.81, 0.86, 0.84):
        world.version(
            "fraud-detector",
            "Approved",
            metrics={"binary_classification_metrics": {"auc": {"value": auc}, "f1": {"value": auc - 0.1}}},
        )
    world.sm.update_model_package(
        ModelPackageArn=world.package_arn("fraud-detector", 2),
        ModelLifeCycle={"Stage": "Production", "StageStatus": "Approved"},
    )
    world.deployment("fraud-prod", "fraud-detector", account=SERVING_ACCOUNT)
    world.deployer()
    world.ledger()
    arn1, arn2 = world.package_arn("fraud-detector", 1), world.package_arn("fraud-detector", 2)
    world.entry(
        EID,
        "2026-11-20T10:00:00.000000Z",
        "live",
        version=1,
        serving_version=1,
        model_package_arn=arn1,
        serving_package_arn=arn1,
        approved_by="alice",
        approval_description="good auc",
    )
    world.entry(
        EID,
        "2026-11-21T10:00:00.000000Z",
        "in_progress",
        version=2,
        serving_version=1,
        model_package_arn=arn2,
        previous_package_arn=arn1,
    )
    world.entry(
        EID,
        "2026-11-21T10:05:00.000000Z",
        "live",
        version=2,
        serving_version=2,
        model_package_arn=arn2,
        serving_package_arn=arn2,
        previous_package_arn=arn1,
        reason="canary passed",
    )
    yield world


def test_registry_lists_groups_with_badges_and_endpoints(seeded: World) -> None:
    client = _client()
    page = client.get("/")
    assert page.status_code == 200
    html = page.text
    assert 'href="/groups/fraud-detector"' in html and 'href="/groups/churn"' in html
    assert 'data-badge="approval">Approved<' in html
    assert f'href="/endpoints/{EID}"' in html
    data = client.get("/.json").json()
    fraud = next(g for g in data["groups"] if g["group"] == "fraud-detector")
    assert fraud["team"] == "fraud" and fraud["newest"]["version"] == 3 and fraud["newest_approved"] == 3
    assert fraud["endpoints"][0]["endpoint_id"] == EID


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("q=FRAUD", ["fraud-detector"]),
        ("q=mlops:team=growth", ["churn"]),
        ("team=growth", ["churn"]),
        ("q=nothing", []),
    ],
)
def test_registry_search_by_name_or_tag(seeded: World, query: str, expected: list[str]) -> None:
    data = _client().get(f"/.json?{query}").json()
    assert [g["group"] for g in data["groups"]] == expected


def test_registry_paginates(world: World) -> None:
    for index in range(PAGE_SIZE + 3):
        world.group(f"g-{index:03d}")
    client = _client()
    first = client.get("/.json").json()
    assert len(first["groups"]) == PAGE_SIZE and first["pagination"] == {
        "page": 1,
        "pages": 2,
        "total": PAGE_SIZE + 3,
    }
    second = client.get("/.json?page=2").json()
    assert [g["group"] for g in second["groups"]] == [f"g-{i:03d}" for i in range(PAGE_SIZE, PAGE_SIZE + 3)]
    assert 'rel="next" href="/?page=2"' in client.get("/").text


def test_group_page_versions_metrics_chart_and_compare(seeded: World) -> None:
    client = _client()
    data = client.get("/groups/fraud-detector.json?metric=auc&a=1&b=2").json()
    assert [v["version"] for v in data["versions"]] == [3, 2, 1]
    v2 = data["versions"][1]
    assert (v2["status"], v2["stage"], v2["metrics"]["auc"]) == ("Approved", "Production", 0.86)
    assert v2["created_by"] and v2["approved_by"]
    assert data["chart"] == {
        "metric": "auc",
        "points": [
            {"version": 1, "value": 0.81},
            {"version": 2, "value": 0.86},
            {"version": 3, "value": 0.84},
        ],
    }
    auc = next(m for m in data["compare"]["metrics"] if m["metric"] == "auc")
    assert (auc["v1"], auc["v2"]) == (0.81, 0.86) and round(auc["delta"], 2) == 0.05
    html = client.get("/groups/fraud-detector?metric=f1&a=1&b=2").text
    assert (
        'id="chart"' in html and 'data-metric="f1"' in html and '<script src="/static/plotly.min.js">' in html
    )
    assert "<th>v1 " in html and "<th>v2 " in html


def test_version_page_spec_history_and_endpoints_that_served_it(seeded: World) -> None:
    data = _client().get("/groups/fraud-detector/versions/1.json").json()
    assert data["containers"][0]["image"] and data["containers"][0]["model_data_url"]
    assert [h["what"] for h in data["history"]][:2] == ["registered", "set to Approved"]
    recorded = [h for h in data["history"] if h["what"].startswith("approval recorded")]
    assert [(h["by"], h["note"]) for h in recorded] == [("alice", "good auc")]  # once, only this version's
    served = data["served"][0]
    assert served["endpoint_id"] == EID and served["live"] is False
    assert served["periods"] == [
        {"from": "2026-11-20T10:00:00.000000Z", "until": "2026-11-21T10:05:00.000000Z"}
    ]
    live = _client().get("/groups/fraud-detector/versions/2.json").json()["served"][0]
    assert live["live"] is True and live["periods"] == [
        {"from": "2026-11-21T10:05:00.000000Z", "until": None}
    ]


def test_endpoint_page_state_rollout_timeline_and_point_in_time(seeded: World) -> None:
    client = _client()
    data = client.get(f"/endpoints/{EID}.json?at=2026-11-21T10:01:00Z").json()
    assert data["rollout_text"] == "canary 25%, wait 300s, bake 600s"
    assert data["alarms"] == ["mlops-fraud-prod-5xx", "mlops-fraud-prod-latency"]
    assert [e["status"] for e in data["timeline"]] == ["live", "in_progress", "live"]
    assert data["question"]["serving_version"] == 1
    html = client.get(f"/endpoints/{EID}?at=2026-11-21T10:01:00Z").text
    assert "served <a" in html and "version 1</a>" in html
    assert html.count("<li data-status=") == 3
    early = client.get(f"/endpoints/{EID}.json?at=2026-01-01").json()["question"]
    assert early["serving_version"] is None and early["entry"] is None


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/groups/fraud-detectr", "model package group &#39;fraud-detectr&#39; does not exist"),
        ("/groups/fraud-detector/versions/9", "version 9 of &#39;fraud-detector&#39; does not exist"),
        (
            f"/endpoints/{SERVING_ACCOUNT}/{REGION}/nope",
            "endpoint &#39;333333333333/eu-west-1/nope&#39; is not managed",
        ),
        ("/no/such/page", "no page at /no/such/page"),
    ],
)
def test_unknown_things_get_a_404_page_that_says_what_and_links_back(
    seeded: World, path: str, message: str
) -> None:
    page = _client().get(path)
    assert page.status_code == 404
    assert message in page.text and '<a href="/">Back to the registry</a>' in page.text
    twin = _client().get(path + ".json") if not path.startswith("/no/") else None
    if twin is not None:
        assert (
            twin.status_code == 404
            and "does not exist" in twin.json()["error"]
            or "not managed" in twin.json()["error"]
        )


def test_group_404_suggests_close_names(seeded: World) -> None:
    assert "did you mean: fraud-detector?" in _client().get("/groups/fraud-detectr").text


def test_no_credentials_page_says_which_and_how_to_fix(
    seeded: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name)
    page = _client().get("/")
    assert page.status_code == 403
    assert "no AWS credentials" in page.text and "use --profile, or set AWS credentials" in page.text
    assert "Traceback" not in page.text


def test_unreachable_endpoint_page_says_which_and_how_to_fix(
    seeded: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://localhost:9")  # nothing listens on the discard port
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    page = _client().get("/groups/fraud-detector")
    assert page.status_code == 503
    assert "cannot reach AWS_ENDPOINT_URL=http://localhost:9" in page.text
    assert "Start it with `mlops local up`" in page.text.replace("&#96;", "`")


def test_permission_denied_names_the_role_needed(seeded: World, deny: Any) -> None:
    deny("ListModelPackageGroups")
    page = _client().get("/")
    assert page.status_code == 403 and "sagemaker:List*/Describe*" in page.text


def test_offline_assets_are_served_locally(seeded: World) -> None:
    client = _client()
    script = client.get("/static/plotly.min.js")
    assert script.status_code == 200 and b"plotly" in script.content[:2000].lower()
    assert client.get("/static/style.css").status_code == 200
    assert "cdn" not in client.get("/groups/fraud-detector").text.lower()


def test_cache_serves_a_stale_value_while_one_thread_reads_it_again() -> None:
    import threading
    import time

    calls: list[int] = []
    release = threading.Event()

    def make() -> int:
        calls.append(1)
        if len(calls) > 1:
            release.wait(5)
        return len(calls)

    cache = Cache(seconds=0.01)
    assert cache.get("k", make) == 1
    time.sleep(0.02)
    assert cache.get("k", make) == 1 and cache.get("k", make) == 1  # stale: served, one refresh started
    while len(calls) < 2:
        time.sleep(0.01)
    assert cache.get("k", make) == 1 and len(calls) == 2  # no page waits, no second refresh
    release.set()
    deadline = time.monotonic() + 5
    while cache.get("k", make) != 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert cache.get("k", lambda: 99) in (2, 3) and len(calls) >= 2
