"""The bounded load generator (local.traffic) against the emulator served over HTTP."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto.core.base_backend import BackendDict

from local.emulator import advance, configure, reset_clock
from local.emulator.endpoints import phase_of, seconds_left
from local.emulator.server import EmulatorServer
from local.traffic import Traffic

ACCOUNT, REGION = "123456789012", "eu-west-1"


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    BackendDict.reset()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no request log lines
    with EmulatorServer(port=0, updating_seconds=1) as server:
        configure(realtime=False)  # the test moves the clock: phases end when enough was measured
        yield server.url
    BackendDict.reset()
    reset_clock()


def _client(url: str) -> Any:
    return lambda service: boto3.client(service, endpoint_url=url, region_name=REGION)


def _wait(predicate: Any, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def _setup(url: str, name: str) -> Any:
    sm = _client(url)("sagemaker")
    sm.create_model_package_group(ModelPackageGroupName=name)
    for version in (1, 2):
        sm.create_model_package(
            ModelPackageGroupName=name,
            InferenceSpecification={
                "Containers": [{"Image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/i:1"}],
                "SupportedContentTypes": ["text/csv"],
                "SupportedResponseMIMETypes": ["application/json"],
            },
        )
        sm.create_model(
            ModelName=f"{name}-m{version}",
            ExecutionRoleArn=f"arn:aws:iam::{ACCOUNT}:role/x",
            PrimaryContainer={
                "ModelPackageName": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package/{name}/{version}"
            },
        )
        sm.create_endpoint_config(
            EndpointConfigName=f"{name}-c{version}",
            ProductionVariants=[
                {
                    "VariantName": "AllTraffic",
                    "ModelName": f"{name}-m{version}",
                    "InitialInstanceCount": 4,
                    "InstanceType": "ml.m5.large",
                }
            ],
        )
    sm.create_endpoint(EndpointName=name, EndpointConfigName=f"{name}-c1")
    return sm


def test_refuses_anything_but_localhost() -> None:
    with pytest.raises(ValueError, match="only calls the local emulator"):
        Traffic(lambda s: None, "e", endpoint_url="https://runtime.sagemaker.eu-west-1.amazonaws.com")


def test_stops_by_itself_at_its_request_count(url: str) -> None:
    sm = _setup(url, "bounded")
    advance(1)
    traffic = Traffic(
        _client(url), "bounded", endpoint_url=url, concurrency=3, max_requests=40, time_limit=30
    )
    with traffic:
        _wait(lambda: not any(t.is_alive() for t in traffic._threads[1:]))
    report = traffic.report()
    assert report.requests == 40
    assert report.errors == 0
    assert report.phase("before").versions == {1: 40}
    assert sm.describe_endpoint(EndpointName="bounded")["EndpointStatus"] == "InService"


def test_creating_endpoint_errors_then_serves(url: str) -> None:
    _setup(url, "fresh")
    traffic = Traffic(
        _client(url), "fresh", endpoint_url=url, concurrency=2, max_requests=2000, time_limit=30
    )
    with traffic:
        _wait(lambda: traffic.current_phase().label == "creating" and traffic.report().requests >= 10)
        advance(1)
        _wait(lambda: traffic.current_phase().label == "in service")
        _wait(lambda: traffic.served_in_current_phase() >= 10)
    report = traffic.report()
    creating, serving = report.phase("creating"), report.phase("in service")
    assert creating.errors == creating.requests > 0
    assert report.error_codes.keys() == {"ValidationError"}
    assert serving.errors == 0 and serving.versions == {1: serving.requests}


def test_linear_update_phases_and_shares(url: str) -> None:
    """Each phase gets >= 400 requests before the clock moves on.

    Tolerance: at share p and n requests the observed share has sd sqrt(p(1-p)/n); n = 400 gives at
    most 2.5 points (p = 0.5); +/-10 points is 4 sd, a false failure below 1 in 10000 per phase.
    (tests/e2e checks +/-5 points with more requests.)
    """
    sm = _setup(url, "lin")
    advance(1)
    n = 400
    traffic = Traffic(
        _client(url), "lin", endpoint_url=url, concurrency=4, max_requests=20_000, time_limit=120
    )
    with traffic:
        sm.update_endpoint(
            EndpointName="lin",
            EndpointConfigName="lin-c2",
            DeploymentConfig={
                "BlueGreenUpdatePolicy": {
                    "TrafficRoutingConfiguration": {
                        "Type": "LINEAR",
                        "LinearStepSize": {"Type": "CAPACITY_PERCENT", "Value": 25},
                        "WaitIntervalInSeconds": 120,
                    },
                    "TerminationWaitInSeconds": 300,
                }
            },
        )
        while (phase := phase_of(ACCOUNT, REGION, "lin")) is not None:
            left = seconds_left(ACCOUNT, REGION, "lin")
            assert left is not None
            _wait(lambda p=phase: traffic.current_phase().message == p.message)  # the watcher saw it
            _wait(lambda: traffic.served_in_current_phase() >= n, timeout=60)
            advance(left)
        _wait(lambda: traffic.current_phase().label == "after update")
        _wait(lambda: traffic.served_in_current_phase() >= 50)
    report = traffic.report()
    assert report.errors == 0
    assert report.new_version == 2
    labels = [p.label for p in report.phases]
    assert labels == ["before", "provisioning", "linear 1", "linear 2", "linear 3", "baking", "after update"]
    for measured in report.phases[1:]:
        assert measured.configured is not None
        assert abs(measured.share(2) - measured.configured) <= 10, (measured.label, measured.versions)
    assert report.phase("provisioning").versions.keys() == {1}
    assert report.phase("baking").versions.keys() == {2}
    linear1 = report.phase("linear 1")
    assert report.lines()[2] == (
        f"{linear1.requests} requests, 0 errors; linear 1 phase: {linear1.share(2):.1f}% on v2 "
        f"(configured 25%; +/-{196 * (0.25 * 0.75 / linear1.requests) ** 0.5:.1f} points at 95%)"
    )
