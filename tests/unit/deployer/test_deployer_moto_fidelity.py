"""Mutants that survived against moto (issue 10): each test here kills one."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import boto3
from deployer import controller
from deployer.ledger import Ledger, served_at
from deployer.models import FAILED, LIVE, LedgerEntry
from deployer.sagemaker_gateway import SageMakerGateway
from deployer.service import DeployerService
from deployer.settings import load_settings

from local.emulator import advance
from tests.unit.deployer.deployer_fakes import SWEEP, FakeLedger, FakeNotifier
from tests.unit.deployer.test_deployer_moto import (  # noqa: F401 (fixtures)
    GROUP,
    REGION,
    SERVING,
    TABLE,
    _aws_env,
    _mocked,
    create_ledger_table,
    deployment_json,
    make_env,
    moto_aws,
    register,
    world,
)


def test_cleanup_never_deletes_a_config_newer_than_the_one_kept(world: dict[str, Any]) -> None:  # noqa: F811
    """A concurrent deployment may be about to use a newer config: keep it, and its model."""
    sm = world["sm"]
    deployment = load_settings(
        make_env(deployment_json(cross_account=False), topic_arn=world["topic"])
    ).deployments[0]
    gateway = SageMakerGateway(lambda region, role: world["factory"].client("sagemaker", region, role))
    plans = []
    for version in (1, 2, 3):
        arn = register(sm)
        decision = controller.decide(
            deployment,
            controller.Package(arn, version, "Approved"),
            gateway.describe_endpoint(deployment),
            [],
        )
        assert decision.deploy is not None
        gateway.deploy(deployment, decision.deploy)
        advance()
        plans.append(decision.deploy)
    deleted = gateway.cleanup(deployment, plans[1].config_name)  # keep v2; v3 is newer
    assert deleted == [plans[0].config_name, plans[0].model_name]
    configs = {c["EndpointConfigName"] for c in sm.list_endpoint_configs()["EndpointConfigs"]}
    assert configs == {plans[1].config_name, plans[2].config_name}
    models = {m["ModelName"] for m in sm.list_models()["Models"]}
    assert models == {plans[1].model_name, plans[2].model_name}


def test_a_multi_variant_endpoint_read_through_the_real_gateway_is_refused_with_a_ledger_reason(
    world: dict[str, Any],  # noqa: F811
) -> None:
    sm = world["sm"]
    settings = load_settings(
        make_env(deployment_json("shared-ep", cross_account=False), topic_arn=world["topic"])
    )
    deployment = settings.deployments[0]
    arn = register(sm)
    for name in ("a", "b"):
        sm.create_model(
            ModelName=f"hand-{name}",
            ExecutionRoleArn=deployment.execution_role_arn,
            PrimaryContainer={"Image": "x"},
        )
    sm.create_endpoint_config(
        EndpointConfigName="hand-made-two-variants",
        ProductionVariants=[
            {
                "VariantName": f"Variant{name.upper()}",
                "ModelName": f"hand-{name}",
                "InitialInstanceCount": 1,
                "InstanceType": "ml.m5.large",
                "InitialVariantWeight": 0.5,
            }
            for name in ("a", "b")
        ],
    )
    sm.create_endpoint(EndpointName="shared-ep", EndpointConfigName="hand-made-two-variants")
    advance()
    gateway = SageMakerGateway(lambda region, role: world["factory"].client("sagemaker", region, role))
    ledger, notifier = FakeLedger(), FakeNotifier()
    service = DeployerService(settings, gateway, ledger, notifier)  # type: ignore[arg-type]
    service.handle_trigger(SWEEP)
    (entry,) = ledger.all(deployment.endpoint_id)
    assert entry.status == FAILED and entry.model_package_arn == arn
    assert entry.reason == "multi-variant endpoints are not supported by blue/green updates"
    assert notifier.transitions == [entry]
    described = sm.describe_endpoint(EndpointName="shared-ep")
    assert described["EndpointConfigName"] == "hand-made-two-variants"  # untouched


def test_served_at_exactly_an_items_timestamp_returns_that_item(moto_aws: None) -> None:  # noqa: F811
    ddb = create_ledger_table()
    times = iter([datetime(2026, 11, 20, 9, 0, tzinfo=UTC), datetime(2026, 11, 20, 10, 0, tzinfo=UTC)])
    ledger = Ledger(ddb, TABLE, clock=lambda: next(times))

    def entry(version: int) -> LedgerEntry:
        return LedgerEntry(
            status=LIVE,
            endpoint="fraud-detector-prod",
            account=SERVING,
            region=REGION,
            group=GROUP,
            version=version,
            serving_version=version,
        )

    first, second = ledger.append(entry(6)), ledger.append(entry(7))
    client = boto3.client("dynamodb", region_name=REGION)
    assert served_at(client, TABLE, first.endpoint_id, first.at) == first
    assert served_at(client, TABLE, second.endpoint_id, second.at) == second


def test_new_fleet_alarms_exist_before_the_update_and_go_once_it_settled(
    world: dict[str, Any],  # noqa: F811
) -> None:
    sm = world["sm"]
    deployment = load_settings(
        make_env(deployment_json(cross_account=False), topic_arn=world["topic"])
    ).deployments[0]
    factory = world["factory"]
    gateway = SageMakerGateway(
        lambda region, role: factory.client("sagemaker", region, role),
        lambda region, role: factory.client("cloudwatch", region, role),
    )
    cw = boto3.client("cloudwatch", region_name=REGION)
    plans = []
    for version in (1, 2):
        arn = register(sm)
        decision = controller.decide(
            deployment,
            controller.Package(arn, version, "Approved"),
            gateway.describe_endpoint(deployment),
            [],
        )
        assert decision.deploy is not None
        gateway.deploy(deployment, decision.deploy)
        plans.append(decision.deploy)
        if version == 1:
            assert decision.deploy.alarm_requests == ()  # CreateEndpoint: no deployment, no alarms
            advance()
    update = plans[1]
    alarms = cw.describe_alarms(AlarmNamePrefix="mlops-")["MetricAlarms"]
    assert sorted(a["AlarmName"] for a in alarms) == sorted(
        [f"mlops-{update.config_name}-5xx", f"mlops-{update.config_name}-latency"]
    )
    for alarm in alarms:
        assert {d["Name"]: d["Value"] for d in alarm["Dimensions"]} == {
            "EndpointName": deployment.endpoint,
            "VariantName": "AllTraffic",
            "EndpointConfigName": update.config_name,
        }
    described = sm.describe_endpoint(EndpointName=deployment.endpoint)
    assert described["EndpointStatus"] == "Updating"
    assert {
        a["AlarmName"] for a in described["LastDeploymentConfig"]["AutoRollbackConfiguration"]["Alarms"]
    } == {a["AlarmName"] for a in alarms}
    advance()
    gateway.cleanup(deployment, update.config_name)
    assert cw.describe_alarms(AlarmNamePrefix="mlops-")["MetricAlarms"] == []
