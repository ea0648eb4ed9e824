"""No downtime, measured: requests keep being answered through every kind of rollout, and each phase
serves the share of traffic its DeploymentConfig names.

Two kinds of evidence:

- the demo's scenario (session fixture ``played``) runs a bounded load generator through create,
  canary update, rejection rollback and alarm rollback on the real clock: zero errors once the
  endpoint is InService, and the deterministic shares (0% while provisioning and after a rollback,
  100% while baking) hold;
- the tests below gate the emulator clock on the measurement: the clock stops (manual mode) while the
  load generator calls the endpoint, and a phase ends only when it has served enough requests for its
  share to be checked within +/-5 points. This makes the checks independent of the machine's speed.

Statistics: a phase with configured share p serves each request from the new fleet with probability
p (the emulator routes at random, like SageMaker's default RANDOM routing). After n requests the
observed share has standard deviation sqrt(p(1-p)/n). With n >= 15.2 * p(1-p) / 0.05**2
(z = 3.9), |observed - p| > 5 points has probability below 1 in 10000 per phase (about 1 in 1000 for
the seven random phases of this module): 1141 requests at p = 25% or 75%, 1521 at 50%. Phases at
0% or 100% are deterministic (one stray request fails them); 100 requests each.
"""

from __future__ import annotations

import math
import re
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from botocore.exceptions import ClientError
from deployer.controller import deployment_config
from deployer.settings import Rollout, parse_rollout

from local.demo import ENDPOINT, Scenario, StepResult
from local.emulator import advance, configure
from local.emulator.endpoints import phase_of, seconds_left
from local.traffic import Traffic, TrafficReport

pytestmark = pytest.mark.skipif(shutil.which("npx") is None, reason="the CDK CLI (npx) is not installed")

Z = 3.9
TOLERANCE = 5.0  # points


def needed(configured: float | None) -> int:
    """Requests a phase must serve before its share is checked (see the module docstring)."""
    if configured is None or configured in (0.0, 100.0):
        return 100
    p = configured / 100
    return math.ceil(Z * Z * p * (1 - p) / (TOLERANCE / 100) ** 2)


def assert_shares(report: TrafficReport, *, skip: tuple[str, ...] = ("before",)) -> None:
    for phase in report.phases:
        if phase.label in skip or phase.configured is None:
            continue
        served = sum(phase.versions.values())
        assert served >= needed(phase.configured), (phase.label, served)
        share = phase.share(report.new_version)
        assert abs(share - phase.configured) <= TOLERANCE, (
            phase.label,
            share,
            phase.configured,
            phase.versions,
        )


@pytest.fixture(scope="module")
def scenario(played: tuple[Scenario, list[StepResult]]) -> Scenario:
    return played[0]


def _wait(what: str, check: Callable[[], Any], timeout: float = 120.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)
    return value


@contextmanager
def gated(scenario: Scenario, account: str, endpoint: str) -> Iterator[Traffic]:
    """Load on ``endpoint`` with the emulator clock stopped; :func:`play` ends each phase when measured."""
    session = scenario.admin(account)
    traffic = Traffic(
        lambda service: scenario.client(session, service),
        endpoint,
        endpoint_url=scenario.info["endpoint_url"],
        concurrency=4,
        max_requests=30_000,
        time_limit=600,
    )
    configure(realtime=False)
    try:
        with traffic:
            yield traffic
    finally:
        configure(realtime=True)


def end_phase(traffic: Traffic, account: str, region: str, endpoint: str) -> bool:
    """Let the current phase serve `needed` requests, then move the clock to its end (False: none left)."""
    phase = phase_of(account, region, endpoint)
    left = seconds_left(account, region, endpoint)
    if phase is None or left is None:
        return False
    _wait(
        f"the load generator to see {phase.message}", lambda: traffic.current_phase().message == phase.message
    )
    mark = traffic.current_phase()
    _wait(
        f"{needed(mark.configured)} requests in {mark.label}",
        lambda: traffic.served_in_current_phase() >= needed(mark.configured),
    )
    advance(left)
    _wait("the next phase", lambda: traffic.current_phase().start > mark.start)
    return True


def play(traffic: Traffic, account: str, region: str, endpoint: str) -> TrafficReport:
    """Once the update started: end every phase after it served `needed` requests, until InService."""
    _wait("the update to start", lambda: traffic.current_phase().label not in ("before",))
    while end_phase(traffic, account, region, endpoint):
        pass
    _wait("requests after the update", lambda: traffic.served_in_current_phase() >= 100)
    return traffic.report()


# --- the demo's scenario, on the real clock -----------------------------------------------------


def test_create_answers_aws_error_until_in_service_then_never_fails(scenario: Scenario) -> None:
    report = next(r for what, r in scenario.traffic.items() if what.startswith("create"))
    serving = report.phase("in service")
    assert serving.requests > 0 and serving.errors == 0
    assert serving.versions.keys() == {1}
    failed = [p for p in report.phases if p.errors]
    assert {p.label for p in failed} <= {"before", "creating"}
    assert set(report.error_codes) <= {"ValidationError"}


@pytest.mark.parametrize(
    ("what", "last", "shifted"),
    [
        ("update to v2", "after update", "canary"),
        ("rollback to v1 after the rejection", "after update", "baking"),
        ("update to v3, rolled back by the alarm", "after rollback", "rollback"),
    ],
)
def test_demo_updates_serve_every_request(scenario: Scenario, what: str, last: str, shifted: str) -> None:
    report = scenario.traffic[what]
    assert report.requests > 0
    assert report.errors == 0, report.error_codes
    labels = [p.label for p in report.phases]
    assert labels[-1] == last
    assert shifted in labels
    for phase in report.phases:  # the deterministic shares, whatever the request count
        if phase.configured in (0.0, 100.0) and phase.label != "before":
            assert phase.share(report.new_version) == phase.configured, (what, phase.label, phase.versions)


def test_demo_alarm_rollback_sends_everything_back(scenario: Scenario) -> None:
    report = scenario.traffic["update to v3, rolled back by the alarm"]
    assert report.new_version == 3
    assert [p.label for p in report.phases][-2:] == ["rollback", "after rollback"]
    assert report.phase("rollback").versions.keys() <= {1}
    assert report.phase("after rollback").versions.keys() == {1}


# --- clock gated on the measurement: shares within +/-5 points ----------------------------------


def test_canary_through_the_deployer(scenario: Scenario) -> None:
    account, region = scenario.deployment["account"], scenario.info["region"]
    # the demo leaves v1 serving; test_demo_flow's retry test may have brought v3 back: either is a fleet to update
    scenario.wait(
        "an approved version live", lambda: scenario.status_is("InService") and scenario.served_version()
    )
    version = int(scenario.register("v4").rsplit("/", 1)[1])
    with gated(scenario, account, ENDPOINT) as traffic:
        scenario.set_status(version, "Approved", "traffic test")
        report = play(traffic, account, region, ENDPOINT)
    assert report.errors == 0, report.error_codes
    assert report.new_version == version
    assert [p.label for p in report.phases] == ["before", "provisioning", "canary", "baking", "after update"]
    assert report.phase("canary").configured == 25
    assert_shares(report)
    scenario.wait("ledger: v4 live", lambda: scenario.ledger_has("live", version))


def test_rejection_rollback_through_the_deployer(scenario: Scenario) -> None:
    account, region = scenario.deployment["account"], scenario.info["region"]
    live = scenario.served_version()
    assert live is not None and live > 1
    # v3 is Approved but was rolled back by the demo's alarm: reject it too, so v1 is the one to return to
    scenario.set_status(3, "Rejected", "traffic test")
    with gated(scenario, account, ENDPOINT) as traffic:
        scenario.set_status(live, "Rejected", "traffic test: reject the live version")
        report = play(traffic, account, region, ENDPOINT)
    assert report.errors == 0, report.error_codes
    assert report.new_version == 1  # the previous approved version comes back through a canary
    assert_shares(report)


def test_alarm_rollback_through_the_deployer(scenario: Scenario) -> None:
    account, region = scenario.deployment["account"], scenario.info["region"]
    cloudwatch = scenario.serving("cloudwatch")
    version = int(scenario.register("v5").rsplit("/", 1)[1])
    with gated(scenario, account, ENDPOINT) as traffic:
        scenario.set_status(version, "Approved", "traffic test: a bad canary")
        _wait("the update to start", lambda: traffic.current_phase().label == "provisioning")
        # the deployer made this update's alarms on the new fleet (named in its DeploymentConfig)
        alarm = Scenario.new_fleet_alarm(scenario.endpoint() or {})
        end_phase(traffic, account, region, ENDPOINT)
        assert traffic.current_phase().label == "canary"
        _wait("a measured canary", lambda: traffic.served_in_current_phase() >= needed(25))
        cloudwatch.set_alarm_state(AlarmName=alarm, StateValue="ALARM", StateReason="traffic test")
        try:
            report = play(traffic, account, region, ENDPOINT)
        finally:  # the deployer deletes the alarms once the endpoint settled
            if cloudwatch.describe_alarms(AlarmNames=[alarm])["MetricAlarms"]:
                cloudwatch.set_alarm_state(AlarmName=alarm, StateValue="OK", StateReason="traffic test done")
    assert report.errors == 0, report.error_codes
    assert [p.label for p in report.phases] == [
        "before",
        "provisioning",
        "canary",
        "rollback",
        "after rollback",
    ]
    assert_shares(report)


def _recsys(scenario: Scenario) -> tuple[Any, Any]:
    publisher = scenario.client(scenario.as_team("recsys", "publisher", "recsys-ds"), "sagemaker")
    approver = scenario.client(scenario.as_team("recsys", "approver", "recsys-ap"), "sagemaker")
    return publisher, approver


def _promote(scenario: Scenario) -> int:
    publisher, approver = _recsys(scenario)
    bucket = f"mlops-artifacts-{scenario.info['registry_account']}-{scenario.info['region']}"
    arn = publisher.create_model_package(
        ModelPackageGroupName="recommender",
        ModelApprovalStatus="PendingManualApproval",
        InferenceSpecification={
            "Containers": [
                {
                    "Image": "111111111111.dkr.ecr.eu-west-1.amazonaws.com/recommender:2.0",
                    "ModelDataUrl": f"s3://{bucket}/recsys/recommender/v1/model.tar.gz",
                }
            ],
            "SupportedContentTypes": ["application/json"],
            "SupportedResponseMIMETypes": ["application/json"],
        },
    )["ModelPackageArn"]
    approver.update_model_package(
        ModelPackageArn=arn, ModelApprovalStatus="Approved", ApprovalDescription="ok"
    )
    approver.update_model_package(
        ModelPackageArn=arn,
        ModelLifeCycle={"Stage": "Production", "StageStatus": "Approved", "StageDescription": "traffic test"},
    )
    return int(arn.rsplit("/", 1)[1])


def _in_service(scenario: Scenario, name: str) -> bool:
    try:
        endpoint = scenario.registry("sagemaker").describe_endpoint(EndpointName=name)
    except ClientError:
        return False
    return bool(endpoint["EndpointStatus"] == "InService")


def test_linear_through_the_deployer(scenario: Scenario) -> None:
    """recommender-prod (registry account) follows Production with linear 25% steps."""
    account, region = scenario.info["registry_account"], scenario.info["region"]
    if not _in_service(scenario, "recommender-prod"):
        _promote(scenario)
        scenario.wait("recommender-prod InService", lambda: _in_service(scenario, "recommender-prod"))
    with gated(scenario, account, "recommender-prod") as traffic:
        version = _promote(scenario)
        report = play(traffic, account, region, "recommender-prod")
    assert report.errors == 0, report.error_codes
    assert report.new_version == version
    assert [p.label for p in report.phases] == [
        "before",
        "provisioning",
        "linear 1",
        "linear 2",
        "linear 3",
        "baking",
        "after update",
    ]
    assert [report.phase(f"linear {k}").configured for k in (1, 2, 3)] == [25, 50, 75]
    assert_shares(report)


# --- all-at-once and rolling: the deployer's DeploymentConfig on an endpoint the test owns --------


@pytest.fixture(scope="module")
def probe(scenario: Scenario) -> tuple[Any, list[str]]:
    """An endpoint in the serving account with two configs: the models the deployer made for two versions."""
    sm = scenario.serving("sagemaker")
    by_version: dict[str, str] = {}
    for model in sm.list_models(MaxResults=100)["Models"]:
        name = model["ModelName"]
        found = re.search(r"-v(\d+)-", name)
        if name.startswith(ENDPOINT) and found:  # the deployer's "<endpoint>-<hash>-v<N>-..." models
            by_version.setdefault(found[1], name)
    assert len(by_version) >= 2, by_version
    configs = []
    for index, model in enumerate(sorted(by_version.values())[:2]):
        name = f"traffic-probe-c{index}"
        sm.create_endpoint_config(
            EndpointConfigName=name,
            ProductionVariants=[
                {
                    "VariantName": "AllTraffic",
                    "ModelName": model,
                    "InitialInstanceCount": 2,
                    "InstanceType": "ml.m5.large",
                }
            ],
        )
        configs.append(name)
    sm.create_endpoint(EndpointName="traffic-probe", EndpointConfigName=configs[0])
    _wait(
        "traffic-probe InService",
        lambda: sm.describe_endpoint(EndpointName="traffic-probe")["EndpointStatus"] == "InService",
    )
    return sm, configs


def _probe_update(scenario: Scenario, probe: tuple[Any, list[str]], config: dict[str, Any]) -> TrafficReport:
    sm, configs = probe
    account, region = scenario.deployment["account"], scenario.info["region"]
    current = sm.describe_endpoint(EndpointName="traffic-probe")["EndpointConfigName"]
    target = configs[1] if current == configs[0] else configs[0]
    with gated(scenario, account, "traffic-probe") as traffic:
        sm.update_endpoint(EndpointName="traffic-probe", EndpointConfigName=target, DeploymentConfig=config)
        return play(traffic, account, region, "traffic-probe")


def test_all_at_once(scenario: Scenario, probe: tuple[Any, list[str]]) -> None:
    config = deployment_config(Rollout(strategy="all_at_once", bake_seconds=300), ["mlops-none"])
    report = _probe_update(scenario, probe, config)
    assert report.errors == 0, report.error_codes
    assert [p.label for p in report.phases] == ["before", "provisioning", "baking", "after update"]
    assert_shares(report)


def test_rolling_update_serves_both_versions_without_doubling(
    scenario: Scenario, probe: tuple[Any, list[str]]
) -> None:
    rollout = parse_rollout(
        {
            "strategy": "rolling",
            "wait_seconds": 120,
            "batch": {"type": "CAPACITY_PERCENT", "value": 50},
            "batches": 2,
        }
    )
    config = deployment_config(rollout, ["mlops-none"])
    report = _probe_update(scenario, probe, config)
    assert report.errors == 0, report.error_codes
    assert [p.label for p in report.phases] == [
        "before",
        "provisioning 1",
        "batch 1",
        "provisioning 2",
        "batch 2",
        "after update",
    ]
    assert report.phase("batch 1").configured == 50
    assert_shares(report)
