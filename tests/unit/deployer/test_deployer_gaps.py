"""The survivors of the sampled mutation runs (docs/mutants.md), each a behaviour no test looked at: a null
inside a ledger item, an approval identity that is not an object, SageMaker's bare ResourceNotFound, the
second page of a listing, the autoscaling lookup's role and arguments, a model made without network
isolation, the decisions' reasons and versions, one endpoint's error among several, a registry that will
not describe a version at admission, the deployer's settings errors, its JSON log lines and its alarms'
metrics."""

from __future__ import annotations

import dataclasses
import io
import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from deployer import controller, names
from deployer.admission import AdmissionRules
from deployer.errors import PermanentError
from deployer.events import audit_fields
from deployer.ledger import Ledger
from deployer.log import JsonFormatter
from deployer.models import FAILED, LIVE, REQUESTED, ROLLED_BACK, LedgerEntry, ScalingTarget
from deployer.notifier import subject_for
from deployer.rollback_alarms import alarm_requests
from deployer.sagemaker_gateway import SageMakerGateway
from deployer.service import DeployerService
from deployer.settings import SettingsError, load_settings, parse_deployment, parse_rollout

from tests.unit.deployer.deployer_fakes import (
    GROUP,
    REGION,
    SERVING,
    FakeLedger,
    FakeNotifier,
    FakeSageMaker,
    make_deployment,
    make_settings,
    package_arn,
    package_event,
)
from tests.unit.deployer.test_deployer_controller import (
    D,
    approval_event,
    config_for,
    item,
    live,
    pending_item,
    pkg,
    serving,
)
from tests.unit.deployer.test_deployer_survivors import RecordingTable, _client_error

T0 = datetime(2026, 11, 20, 10, tzinfo=UTC)


def test_a_null_inside_a_ledger_item_is_stored_as_dynamodbs_null_true() -> None:
    """DynamoDB accepts only ``{"NULL": true}`` (AttributeValue, API reference); ``false`` is refused."""
    table = RecordingTable()
    entry = LedgerEntry(
        status=LIVE,
        endpoint="fraud-detector-prod",
        account=SERVING,
        region=REGION,
        group=GROUP,
        model_package_arn=package_arn(7),
        version=7,
        rollout={"strategy": "all_at_once", "step_percent": None},
    )
    Ledger(table, "mlops-deployment-ledger", clock=lambda: T0).append(entry)
    assert table.items[0]["rollout"] == {
        "M": {"strategy": {"S": "all_at_once"}, "step_percent": {"NULL": True}}
    }


def test_an_approval_identity_that_is_not_an_object_names_nobody() -> None:
    assert audit_fields({"LastModifiedBy": {"IamIdentity": "arn:aws:iam::111111111111:user/x"}}) == (
        None,
        None,
    )
    assert audit_fields({"LastModifiedBy": "alice", "ApprovalDescription": "ok"}) == (None, "ok")


# --- the gateway against a scripted SageMaker --------------------------------------------------------------


class ScriptedClient:
    """Answers each operation from ``answers`` (a callable of the call's arguments, or a value);
    records every call."""

    def __init__(self, **answers: Any) -> None:
        self.answers = answers
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def __getattr__(self, operation: str) -> Any:
        def call(**kwargs: Any) -> Any:
            self.calls.append((operation, kwargs))
            answer = self.answers.get(operation, {})
            if isinstance(answer, Exception):
                raise answer
            return answer(**kwargs) if callable(answer) else answer

        return call


def test_sagemakers_bare_resource_not_found_means_no_endpoint() -> None:
    """ResourceNotFound is the SageMaker API's error code for a missing resource ("Resource being access
    is not found"), whatever message goes with it."""
    sagemaker = ScriptedClient(
        describe_endpoint=_client_error("ResourceNotFound", "gone", "DescribeEndpoint")
    )
    view = SageMakerGateway(lambda region, role: sagemaker).describe_endpoint(make_deployment())
    assert not view.exists


def _in_service(deployment: Any, version: int = 7) -> tuple[str, dict[str, Any], dict[str, Any]]:
    arn = package_arn(version)
    model = names.model_name(deployment.endpoint, version, arn, deployment.execution_role_arn)
    config = names.config_name(
        deployment.endpoint,
        version,
        arn,
        model=model,
        variant="blue",
        instance_type="ml.m5.large",
        instance_count=2,
    )
    endpoint = {
        "EndpointStatus": "InService",
        "EndpointConfigName": config,
        "ProductionVariants": [{"VariantName": "blue", "CurrentInstanceCount": 2, "DesiredInstanceCount": 2}],
    }
    endpoint_config = {
        "ProductionVariants": [{"VariantName": "blue", "InstanceType": "ml.m5.large", "ModelName": model}]
    }
    return config, endpoint, endpoint_config


def test_the_autoscaling_target_is_read_for_the_endpoints_own_variant_with_the_deploy_role() -> None:
    deployment = make_deployment()
    _, endpoint, endpoint_config = _in_service(deployment)
    sagemaker = ScriptedClient(describe_endpoint=endpoint, describe_endpoint_config=endpoint_config)
    scaling = ScriptedClient(
        describe_scalable_targets={"ScalableTargets": [{"MinCapacity": 2, "MaxCapacity": 6}]}
    )
    asked: list[tuple[str, str | None]] = []

    def autoscaling_for(region: str, role: str | None) -> Any:
        asked.append((region, role))
        return scaling

    view = SageMakerGateway(lambda region, role: sagemaker, None, autoscaling_for).describe_endpoint(
        deployment
    )
    assert view.scaling == ScalingTarget(2, 6)
    assert asked == [(REGION, deployment.deploy_role_arn)]
    assert scaling.calls == [
        (
            "describe_scalable_targets",
            {
                "ServiceNamespace": "sagemaker",
                "ResourceIds": ["endpoint/fraud-detector-prod/variant/blue"],
                "ScalableDimension": "sagemaker:variant:DesiredInstanceCount",
            },
        )
    ]


def test_an_autoscaling_role_that_cannot_be_assumed_is_refused_naming_the_role() -> None:
    deployment = make_deployment()
    _, endpoint, endpoint_config = _in_service(deployment)
    sagemaker = ScriptedClient(describe_endpoint=endpoint, describe_endpoint_config=endpoint_config)

    def autoscaling_for(region: str, role: str | None) -> Any:
        raise _client_error("AccessDenied", "not authorized to perform sts:AssumeRole", "AssumeRole")

    gateway = SageMakerGateway(lambda region, role: sagemaker, None, autoscaling_for)
    with pytest.raises(PermanentError) as refused:
        gateway.describe_endpoint(deployment)
    assert refused.value.reason == (
        f"sts:AssumeRole {deployment.deploy_role_arn}: AccessDenied: not authorized to perform sts:AssumeRole"
    )


def test_cleanup_reads_every_page_of_configs_and_models() -> None:
    """ListEndpointConfigs and ListModels page with NextToken; an old config on the second page goes too."""
    deployment = make_deployment()
    keep, _, _ = _in_service(deployment, version=7)
    old_arn = package_arn(6)
    old_model = names.model_name(deployment.endpoint, 6, old_arn, deployment.execution_role_arn)
    old_config = names.config_name(
        deployment.endpoint,
        6,
        old_arn,
        model=old_model,
        variant="blue",
        instance_type="ml.m5.large",
        instance_count=2,
    )

    def pages(key: str, name_key: str, first: list[str], second: list[str]) -> Any:
        def answer(**kwargs: Any) -> dict[str, Any]:
            assert set(kwargs) <= {"NameContains", "MaxResults", "NextToken"}, kwargs
            if kwargs.get("NextToken") == "page-2":
                return {key: [{name_key: n, "CreationTime": T0 - timedelta(days=1)} for n in second]}
            return {key: [{name_key: n, "CreationTime": T0} for n in first], "NextToken": "page-2"}

        return answer

    sagemaker = ScriptedClient(
        list_endpoint_configs=pages("EndpointConfigs", "EndpointConfigName", [keep], [old_config]),
        list_models=pages("Models", "ModelName", [], [old_model]),
    )
    deleted = SageMakerGateway(lambda region, role: sagemaker).cleanup(deployment, keep)
    assert deleted == [old_config, old_model]
    listed = [(op, kw.get("NextToken")) for op, kw in sagemaker.calls if op.startswith("list_")]
    assert listed == [
        ("list_endpoint_configs", None),
        ("list_endpoint_configs", "page-2"),
        ("list_models", None),
        ("list_models", "page-2"),
    ]


def test_a_deployment_that_is_not_an_object_is_refused_under_the_default_label() -> None:
    with pytest.raises(ValueError) as refused:
        parse_deployment("fraud-detector-prod")
    assert str(refused.value) == "deployment: expected an object, got str"


def test_a_model_made_without_network_isolation_is_known_by_its_name() -> None:
    """The live model's name hashes the role and the isolation setting in: a model the deployer made for
    this deployment needs no DescribeModel, isolation off included."""
    deployment = make_deployment(network_isolation=False)
    arn = package_arn(7)
    model = names.model_name(
        deployment.endpoint, 7, arn, deployment.execution_role_arn, network_isolation=False
    )
    _, endpoint, _ = _in_service(deployment)
    endpoint_config = {
        "ProductionVariants": [{"VariantName": "blue", "InstanceType": "ml.m5.large", "ModelName": model}]
    }
    sagemaker = ScriptedClient(describe_endpoint=endpoint, describe_endpoint_config=endpoint_config)
    view = SageMakerGateway(lambda region, role: sagemaker).describe_endpoint(deployment)
    assert (view.execution_role_arn, view.network_isolation) == (deployment.execution_role_arn, False)
    assert [op for op, _ in sagemaker.calls] == ["describe_endpoint", "describe_endpoint_config"]


@pytest.mark.parametrize(("described", "isolation"), [({"EnableNetworkIsolation": True}, True), ({}, False)])
def test_a_model_under_another_name_is_described_for_its_role_and_isolation(
    described: dict[str, Any], isolation: bool
) -> None:
    """An absent EnableNetworkIsolation is CreateModel's default, false."""
    deployment = make_deployment()
    _, endpoint, _ = _in_service(deployment)
    endpoint_config = {
        "ProductionVariants": [
            {"VariantName": "blue", "InstanceType": "ml.m5.large", "ModelName": "old-model"}
        ]
    }
    old_role = f"arn:aws:iam::{SERVING}:role/mlops-sagemaker-execution-old"
    sagemaker = ScriptedClient(
        describe_endpoint=endpoint,
        describe_endpoint_config=endpoint_config,
        describe_model={"ExecutionRoleArn": old_role, **described},
    )
    view = SageMakerGateway(lambda region, role: sagemaker).describe_endpoint(deployment)
    assert (view.execution_role_arn, view.network_isolation) == (old_role, isolation)
    assert sagemaker.calls[-1] == ("describe_model", {"ModelName": "old-model"})


def test_an_endpoint_on_a_config_the_deployer_did_not_make_is_read_with_one_call() -> None:
    """Its serving settings are not compared (the next deployment replaces the config), so none is read."""
    endpoint = {
        "EndpointStatus": "InService",
        "EndpointConfigName": "made-by-hand",
        "ProductionVariants": [{"VariantName": "blue", "CurrentInstanceCount": 2}],
    }
    sagemaker = ScriptedClient(describe_endpoint=endpoint)
    view = SageMakerGateway(lambda region, role: sagemaker).describe_endpoint(make_deployment())
    assert view.exists and view.config_name == "made-by-hand" and view.instance_type is None
    assert [op for op, _ in sagemaker.calls] == ["describe_endpoint"]


# --- the controller's decisions ----------------------------------------------------------------------------


def test_an_update_that_went_live_keeps_its_config_for_cleanup_when_the_next_change_is_refused() -> None:
    bigger = dataclasses.replace(D, instance_type="ml.m5.xlarge")
    endpoint = live(4, scaling=ScalingTarget(2, 6))  # autoscaled: an instance type change needs the operator
    decision = controller.decide(bigger, pkg(4), endpoint, [pending_item(4)])
    assert [r.status for r in decision.records] == [LIVE, FAILED]
    assert decision.cleanup_keep == config_for(4)


def test_a_version_without_inference_specification_is_the_decisions_reason() -> None:
    decision = controller.decide(D, pkg(4), serving(3), [], approval_event(4, has_spec=False))
    assert decision.reason == "package has no inference specification"


def test_a_failed_endpoint_is_recorded_with_sagemakers_reason_and_what_to_do() -> None:
    endpoint = serving(3, status="Failed", failure_reason="capacity")
    decision = controller.decide(D, pkg(4), endpoint, [item(LIVE, 3, serving_version=3)])
    (failed,) = decision.records
    assert (
        failed.reason == f"{controller.ENDPOINT_FAILED} (capacity); delete it and the deployer recreates it"
    )
    assert (failed.version, failed.model_package_arn) == (4, package_arn(4))


def test_a_refused_instance_type_change_names_the_version_it_held_back() -> None:
    bigger = dataclasses.replace(D, instance_type="ml.m5.xlarge")
    decision = controller.decide(
        bigger, pkg(4), live(scaling=ScalingTarget(2, 6)), [item(LIVE, 3, serving_version=3)]
    )
    (refused,) = decision.records
    assert (refused.status, refused.version, refused.model_package_arn) == (FAILED, 4, package_arn(4))


@pytest.mark.parametrize(
    "audit", [{"approved_by": "alice"}, {"approval_description": "fixes the false positives"}]
)
def test_a_retry_carries_the_approval_the_ledger_recorded_for_the_version(audit: dict[str, str]) -> None:
    recent = [item(REQUESTED, 4), item(ROLLED_BACK, 4, serving_version=3, **audit)]
    decision = controller.decide(D, pkg(4), serving(3), recent)
    assert decision.started is not None
    assert (decision.started.approved_by, decision.started.approval_description) == (
        audit.get("approved_by"),
        audit.get("approval_description"),
    )


# --- the service -----------------------------------------------------------------------------------------


class LedgerDownFor(FakeLedger):
    """A ledger whose reads fail for one endpoint (a bug of ours, not an AWS error)."""

    def __init__(self, sagemaker: FakeSageMaker, broken: str) -> None:
        super().__init__(sagemaker)
        self.broken = broken

    def recent(self, key: str, limit: int = 25) -> list[LedgerEntry]:
        if key == self.broken:
            raise RuntimeError(f"ledger read failed for {key}")
        return super().recent(key, limit)


def test_one_endpoints_error_is_raised_as_it_was_after_the_other_endpoints_are_reconciled() -> None:
    broken = make_deployment()
    other = make_deployment(endpoint="fraud-detector-staging")
    sagemaker, notifier = FakeSageMaker(), FakeNotifier()
    service = DeployerService(
        make_settings(broken, other), sagemaker, LedgerDownFor(sagemaker, broken.endpoint_id), notifier
    )
    package = sagemaker.register(approval="Approved")
    with pytest.raises(RuntimeError) as raised:
        service.handle_trigger(package_event(package))
    assert str(raised.value) == f"ledger read failed for {broken.endpoint_id}"
    assert ("create_endpoint", "fraud-detector-staging") in [
        (op, kw.get("endpoint")) for op, kw in sagemaker.calls
    ]


class RegistryRefuses(FakeSageMaker):
    def describe_package(self, deployment: Any, package_arn: str) -> dict[str, Any]:
        raise PermanentError("describe_model_package: AccessDeniedException: not authorized")


def test_a_version_the_registry_will_not_describe_is_refused_at_admission_with_the_reason() -> None:
    deployment = make_deployment(
        admission=AdmissionRules(frozenset({SERVING}), model_data_prefix="s3://mlops-artifacts/fraud/")
    )
    sagemaker, notifier = RegistryRefuses(), FakeNotifier()
    ledger = FakeLedger(sagemaker)
    package = sagemaker.register(approval="Approved")
    event = package_event(package)
    DeployerService(make_settings(deployment), sagemaker, ledger, notifier).handle_trigger(event)
    (entry,) = ledger.all(deployment.endpoint_id)
    assert entry.status == FAILED and entry.version == 1
    assert entry.reason == (
        f"{controller.REFUSED} the deployment: describe_model_package: AccessDeniedException: not authorized"
    )
    assert sagemaker.write_calls() == []


# --- the deployer's own settings ---------------------------------------------------------------------------

ENV = {
    "LEDGER_TABLE": "mlops-deployment-ledger",
    "TOPIC_ARN": "arn:aws:sns:eu-west-1:111111111111:t",
    "REGISTRY_ACCOUNT": "111111111111",
}


def test_settings_without_deployments_name_both_ways_to_give_them() -> None:
    with pytest.raises(SettingsError) as refused:
        load_settings(ENV)
    assert str(refused.value) == "environment variable(s) DEPLOYMENTS (or DEPLOYMENTS_FILE) missing or empty"


def test_an_invalid_deployment_keeps_its_index_and_a_bad_role_says_what_is_allowed() -> None:
    good = make_deployment()
    valid = {
        "endpoint": good.endpoint,
        "group": good.group,
        "group_arn": good.group_arn,
        "account": good.account,
        "region": good.region,
        "follows": "Approved",
        "instance_type": "ml.m5.large",
        "instance_count": 2,
        "execution_role_arn": good.execution_role_arn,
        "alarms": ["a"],
        "rollout": {"strategy": "canary", "step_percent": 1, "wait_seconds": 300, "bake_seconds": 600},
    }
    bad_role = {**valid, "endpoint": "other", "execution_role_arn": "mlops-serving"}
    settings = load_settings({**ENV, "DEPLOYMENTS": json.dumps([valid, bad_role])})
    (deployment,) = settings.deployments
    assert (deployment.rollout.step_percent, deployment.rollout.bake_seconds) == (1, 600)
    (invalid,) = settings.invalid
    assert invalid.index == 1 and invalid.endpoint == "other"
    assert "execution_role_arn" in invalid.reason and "an IAM role ARN" in invalid.reason


def test_a_linear_rollout_keeps_its_baking_period() -> None:
    rollout = parse_rollout(
        {"strategy": "linear", "step_percent": 10, "wait_seconds": 60, "bake_seconds": 900}
    )
    assert (rollout.step_percent, rollout.wait_seconds, rollout.bake_seconds) == (10, 60, 900)


# --- logs ------------------------------------------------------------------------------------------------


def test_a_log_line_is_one_json_object_with_the_callers_fields_and_the_exception() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("deployer.test-json-lines")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        raise ValueError("boom")
    except ValueError:
        logger.warning("cleanup failed", extra={"endpoint": "fraud-detector-prod"}, exc_info=True)
    finally:
        logger.removeHandler(handler)
    line = json.loads(stream.getvalue())
    assert set(line) == {"time", "level", "logger", "message", "endpoint", "exception"}
    assert (line["level"], line["message"], line["endpoint"]) == (
        "WARNING",
        "cleanup failed",
        "fraud-detector-prod",
    )
    assert line["exception"].startswith("Traceback") and line["exception"].endswith("ValueError: boom")


def test_the_new_fleets_alarms_watch_its_5xx_errors_and_its_p99_model_latency() -> None:
    errors, latency = alarm_requests("fraud-detector-prod", "fraud-detector-prod-v7", "blue")
    assert (errors["MetricName"], errors["Statistic"]) == ("Invocation5XXErrors", "Sum")
    assert (latency["MetricName"], latency["ExtendedStatistic"]) == ("ModelLatency", "p99")
    assert "Statistic" not in latency and "ExtendedStatistic" not in errors


def test_a_status_this_deployer_does_not_know_is_still_notified_under_its_own_name() -> None:
    """A ledger item written by a newer deployer (a status added later) still makes a readable subject."""
    entry = LedgerEntry(
        status="paused", endpoint="fraud-detector-prod", account=SERVING, region=REGION, group=GROUP
    )
    assert subject_for(entry) == "[mlops] fraud-detector-prod: paused"
