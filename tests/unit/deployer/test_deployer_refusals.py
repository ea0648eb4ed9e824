"""Refusals the operator must hear about exactly once, with what was refused and why: AWS refusing an
autoscaling minimum, a misconfigured deployment with a partial identity, and the problem notification."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from deployer import names
from deployer.errors import EndpointBusy, PermanentError, TransientError
from deployer.events import (
    MalformedEvent,
    ModelPackageChange,
    parse_event,
    parse_lambda_event,
    parse_sqs_event,
)
from deployer.models import DELETED, FAILED, IN_PROGRESS, LIVE, LedgerEntry, ScalingTarget
from deployer.notifier import Notifier
from deployer.sagemaker_gateway import SageMakerGateway, translate
from deployer.service import REFUSED_SCALING, DeployerService
from deployer.settings import InvalidDeployment, RetiredEndpoint

from tests.unit.deployer.deployer_fakes import (
    REGION,
    SERVING,
    SWEEP,
    FakeEndpoint,
    FakeLedger,
    FakeNotifier,
    FakeSageMaker,
    load_event,
    make_deployment,
    make_settings,
    package_arn,
    package_event,
)
from tests.unit.deployer.test_deployer_service import settle


def _autoscaled_live_endpoint() -> tuple[FakeSageMaker, FakeLedger, Any]:
    """Version 1 live on a 2-instance variant named `blue` that Application Auto Scaling manages (2-8)."""
    deployment = make_deployment()
    sm, notifier = FakeSageMaker(), FakeNotifier()
    ledger = FakeLedger(sm)
    service = DeployerService(make_settings(deployment), sm, ledger, notifier)  # type: ignore[arg-type]
    service.handle_trigger(package_event(sm.register(approval="Approved")))
    settle(sm, service, deployment.endpoint)
    live = sm.endpoints[deployment.endpoint]
    live.variant, live.scaling = "blue", ScalingTarget(2, 8)
    return sm, ledger, deployment


def test_aws_refusing_the_autoscaling_minimum_is_one_failed_item_naming_aws_reason() -> None:
    sm, ledger, deployment = _autoscaled_live_endpoint()
    bigger = dataclasses.replace(deployment, instance_count=4)
    notifier = FakeNotifier()
    service = DeployerService(make_settings(bigger), sm, ledger, notifier)  # type: ignore[arg-type]
    asked: list[tuple[str, ScalingTarget]] = []

    def refuse(dep: Any, variant: str, target: ScalingTarget) -> None:
        asked.append((variant, target))
        raise PermanentError("register_scalable_target: ValidationException: MinCapacity above the quota")

    sm.update_scaling = refuse  # type: ignore[method-assign]
    before = ledger.all(deployment.endpoint_id)
    service.handle_trigger(SWEEP)
    service.handle_trigger(SWEEP)  # the same refusal again: not a second item
    assert asked[0] == ("blue", ScalingTarget(4, 8))  # the endpoint's own variant, not AllTraffic
    (refused,) = ledger.all(deployment.endpoint_id)[len(before) :]
    assert (refused.status, refused.version, refused.serving_version) == (FAILED, 1, 1)
    assert refused.reason == (
        f"{REFUSED_SCALING}: register_scalable_target: ValidationException: MinCapacity above the quota"
    )
    assert sm.endpoints[deployment.endpoint].scaling == ScalingTarget(2, 8)  # nothing moved


def test_an_accepted_autoscaling_minimum_is_recorded_on_the_endpoints_own_variant() -> None:
    sm, ledger, deployment = _autoscaled_live_endpoint()
    bigger = dataclasses.replace(deployment, instance_count=4)
    service = DeployerService(make_settings(bigger), sm, ledger, FakeNotifier())  # type: ignore[arg-type]
    service.handle_trigger(SWEEP)
    assert ("register_scalable_target", {"variant": "blue", "target": ScalingTarget(4, 8)}) in sm.calls
    assert ledger.all(deployment.endpoint_id)[-1].status in (IN_PROGRESS, LIVE)
    assert "autoscaling minimum 2 -> 4" in (ledger.all(deployment.endpoint_id)[-1].reason or "")


def test_a_misconfigured_deployment_missing_any_part_of_its_identity_is_notified_not_recorded() -> None:
    for missing in ("endpoint", "account", "region"):
        identity = {"endpoint": "fraud-detector-stage", "account": SERVING, "region": REGION}
        identity[missing] = None  # type: ignore[assignment]
        invalid = InvalidDeployment(index=2, reason=f"DEPLOYMENTS[2].{missing}: missing", **identity)
        sm, notifier = FakeSageMaker(), FakeNotifier()
        ledger = FakeLedger(sm)
        service = DeployerService(make_settings(make_deployment(), invalid=(invalid,)), sm, ledger, notifier)  # type: ignore[arg-type]
        service.handle_trigger(package_event(sm.register(approval="Approved")))
        service.record_invalid(invalid, package_event(sm.register(approval="Approved")))
        assert ("misconfigured deployment", invalid.reason) in notifier.problems, missing
        assert not any(key.endswith("/fraud-detector-stage") for key in ledger.items), missing


class _Sns:
    def __init__(self) -> None:
        self.published: list[dict[str, Any]] = []

    def publish(self, **kwargs: Any) -> None:
        self.published.append(kwargs)


def test_a_problem_notification_carries_title_reason_and_context_as_json() -> None:
    sns = _Sns()
    notifier = Notifier(sns, "arn:aws:sns:eu-west-1:111111111111:mlops")  # type: ignore[arg-type]
    notifier.problem("misconfigured deployment", "DEPLOYMENTS[4]: expected an object", index=4, endpoint=None)
    (sent,) = sns.published
    assert sent["TopicArn"] == "arn:aws:sns:eu-west-1:111111111111:mlops"
    assert sent["Subject"] == "[mlops] misconfigured deployment"
    assert sent["MessageAttributes"] == {"kind": {"DataType": "String", "StringValue": "problem"}}
    title, body = sent["Message"].split("\n\n", 1)
    assert title == "misconfigured deployment: DEPLOYMENTS[4]: expected an object"
    assert body == json.dumps(
        {"index": 4, "problem": "misconfigured deployment", "reason": "DEPLOYMENTS[4]: expected an object"},
        indent=2,
    )


def test_a_misconfigured_deployment_without_a_readable_group_is_recorded_with_an_empty_group() -> None:
    invalid = InvalidDeployment(
        index=1, reason="DEPLOYMENTS[1].group: missing", endpoint="stage-ep", account=SERVING, region=REGION
    )
    sm, notifier = FakeSageMaker(), FakeNotifier()
    ledger = FakeLedger(sm)
    service = DeployerService(make_settings(make_deployment(), invalid=(invalid,)), sm, ledger, notifier)  # type: ignore[arg-type]
    service.record_invalid(invalid, SWEEP)
    (item,) = ledger.all(f"{SERVING}/{REGION}/stage-ep")
    assert (item.status, item.group, item.endpoint_id) == (FAILED, "", f"{SERVING}/{REGION}/stage-ep")


def _client_error(code: str, message: str, operation: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, operation)


class _AutoScaling:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def register_scalable_target(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        return {}


def test_the_gateway_moves_the_autoscaling_range_of_the_endpoints_variant_through_its_deploy_role() -> None:
    deployment = make_deployment()
    client, opened = _AutoScaling(), []

    def autoscaling_for(region: str, role: str | None) -> _AutoScaling:
        opened.append((region, role))
        return client

    gateway = SageMakerGateway(lambda region, role: None, autoscaling_for=autoscaling_for)
    gateway.update_scaling(deployment, "blue", ScalingTarget(4, 8))
    assert opened == [(deployment.region, deployment.deploy_role_arn)]
    assert client.calls == [
        {
            "ServiceNamespace": "sagemaker",
            "ResourceId": f"endpoint/{deployment.endpoint}/variant/blue",
            "ScalableDimension": "sagemaker:variant:DesiredInstanceCount",
            "MinCapacity": 4,
            "MaxCapacity": 8,
        }
    ]


def test_a_deploy_role_that_cannot_be_assumed_for_autoscaling_is_a_permanent_error_naming_the_role() -> None:
    deployment = make_deployment()

    def autoscaling_for(region: str, role: str | None) -> _AutoScaling:
        raise _client_error("AccessDenied", "not authorized to perform sts:AssumeRole", "AssumeRole")

    gateway = SageMakerGateway(lambda region, role: None, autoscaling_for=autoscaling_for)
    with pytest.raises(PermanentError) as refused:
        gateway.update_scaling(deployment, "blue", ScalingTarget(4, 8))
    assert refused.value.reason == (
        f"sts:AssumeRole {deployment.deploy_role_arn}: AccessDenied: not authorized to perform sts:AssumeRole"
    )


def test_translate_names_what_a_malformed_error_response_lacks_as_empty() -> None:
    """botocore fills Code and Message; a response without them still reads, with nothing invented."""
    bare = ClientError({"ResponseMetadata": {"HTTPStatusCode": 400}}, "UpdateEndpoint")  # type: ignore[arg-type]
    refused = translate(bare, "update_endpoint")
    assert isinstance(refused, PermanentError) and refused.reason == "update_endpoint: : "
    no_message = translate(ClientError({"Error": {"Code": "ValidationException"}}, "X"), "create_model")  # type: ignore[arg-type]
    assert (
        isinstance(no_message, PermanentError) and no_message.reason == "create_model: ValidationException: "
    )


def test_any_in_progress_message_is_busy() -> None:
    for message in ("Cannot update in-progress endpoint", "Endpoint is in-progress: try later"):
        busy = translate(_client_error("ValidationException", message, "UpdateEndpoint"), "update_endpoint")
        assert isinstance(busy, EndpointBusy) and busy.reason == f"update_endpoint: {message}"


def _retired_endpoint() -> RetiredEndpoint:
    return RetiredEndpoint(
        endpoint="old-endpoint",
        account=SERVING,
        region=REGION,
        on_remove="delete",
        deploy_role_arn=f"arn:aws:iam::{SERVING}:role/mlops-deploy-access",
    )


def test_deleting_a_retired_endpoint_through_an_unassumable_role_names_the_role() -> None:
    retired = _retired_endpoint()

    def client_for(region: str, role: str | None) -> Any:
        raise _client_error("AccessDenied", "not authorized to perform sts:AssumeRole", "AssumeRole")

    with pytest.raises(PermanentError) as refused:
        SageMakerGateway(client_for).delete_retired(retired)
    assert refused.value.reason == (
        f"sts:AssumeRole {retired.deploy_role_arn}: AccessDenied: not authorized to perform sts:AssumeRole"
    )


def test_a_retired_endpoint_that_cannot_be_described_is_refused_with_the_aws_reason() -> None:
    class Denied:
        def describe_endpoint(self, **kwargs: Any) -> dict[str, Any]:
            raise _client_error("AccessDeniedException", "no sagemaker:DescribeEndpoint", "DescribeEndpoint")

    with pytest.raises(PermanentError) as refused:
        SageMakerGateway(lambda region, role: Denied()).delete_retired(_retired_endpoint())
    assert refused.value.reason == "describe_endpoint: AccessDeniedException: no sagemaker:DescribeEndpoint"


def test_a_read_failure_outside_any_trigger_is_recorded_without_an_event_id() -> None:
    """`reconcile(deployment)` without a trigger (the CLI's and the fan-out's direct path)."""
    deployment = make_deployment()
    sm, notifier = FakeSageMaker(), FakeNotifier()
    ledger = FakeLedger(sm)

    def denied(_deployment: Any) -> Any:
        raise PermanentError("describe_endpoint: AccessDenied: no")

    sm.describe_endpoint = denied  # type: ignore[method-assign]
    DeployerService(make_settings(deployment), sm, ledger, notifier).reconcile(deployment)  # type: ignore[arg-type]
    (item,) = ledger.all(deployment.endpoint_id)
    assert (item.status, item.event_id) == (FAILED, None)
    assert item.reason == "cannot read SageMaker state: describe_endpoint: AccessDenied: no"


def test_a_misconfigured_deployment_without_identity_is_notified_with_its_index() -> None:
    invalid = InvalidDeployment(index=4, reason="DEPLOYMENTS[4]: expected an object, got str")
    sm, notifier = FakeSageMaker(), FakeNotifier()
    service = DeployerService(
        make_settings(make_deployment(), invalid=(invalid,)), sm, FakeLedger(sm), notifier
    )  # type: ignore[arg-type]
    service.record_invalid(invalid, package_event(sm.register(approval="Approved")))
    assert notifier.contexts == [{"index": 4}]


def test_a_retired_endpoint_already_gone_with_nothing_left_is_gone() -> None:
    class Empty:
        def describe_endpoint(self, **kwargs: Any) -> dict[str, Any]:
            raise _client_error(
                "ValidationException", "Could not find endpoint old-endpoint", "DescribeEndpoint"
            )

        def list_endpoint_configs(self, **kwargs: Any) -> dict[str, Any]:
            return {"EndpointConfigs": []}

        def list_models(self, **kwargs: Any) -> dict[str, Any]:
            return {"Models": []}

    assert SageMakerGateway(lambda region, role: Empty()).delete_retired(_retired_endpoint()) == "gone"


def _served(endpoint_id_of: RetiredEndpoint, version: int) -> LedgerEntry:
    return LedgerEntry(
        status=LIVE,
        endpoint=endpoint_id_of.endpoint,
        account=endpoint_id_of.account,
        region=endpoint_id_of.region,
        group="fraud-detector",
        serving_package_arn=package_arn(version),
        serving_version=version,
    )


def test_retired_endpoint_items_say_what_it_served_and_whether_it_still_does() -> None:
    """Deleted: it served v3 before and serves nothing now. Refused: it still serves v3."""
    retired = _retired_endpoint()
    for refused in (False, True):
        sm, notifier = FakeSageMaker(), FakeNotifier()
        ledger = FakeLedger(sm)
        ledger.append(_served(retired, 3))
        settings = dataclasses.replace(make_settings(), retired=(retired,))
        service = DeployerService(settings, sm, ledger, notifier)  # type: ignore[arg-type]
        sm.endpoints[retired.endpoint] = FakeEndpoint(retired.endpoint, "InService", "cfg")
        if refused:

            def refuse(_retired: Any) -> str:
                raise PermanentError("delete_endpoint: AccessDenied: no")

            sm.delete_retired = refuse  # type: ignore[method-assign]
        service.handle_trigger(SWEEP)
        item = ledger.all(retired.endpoint_id)[-1]
        assert (item.group, item.previous_package_arn, item.previous_version) == (
            "fraud-detector",
            package_arn(3),
            3,
        )
        if refused:
            assert (item.status, item.serving_package_arn, item.serving_version) == (
                FAILED,
                package_arn(3),
                3,
            )
        else:
            assert (item.status, item.serving_package_arn, item.serving_version) == (DELETED, None, None)


def test_a_network_failure_describing_a_retired_endpoint_is_transient_and_named() -> None:
    class Unreachable:
        def describe_endpoint(self, **kwargs: Any) -> dict[str, Any]:
            raise EndpointConnectionError(endpoint_url="https://api.sagemaker.eu-west-1.amazonaws.com")

    with pytest.raises(TransientError) as failed:
        SageMakerGateway(lambda region, role: Unreachable()).delete_retired(_retired_endpoint())
    assert failed.value.reason == (
        'describe_endpoint: Could not connect to the endpoint URL: "https://api.sagemaker.eu-west-1.amazonaws.com"'
    )


def test_cleanup_reports_only_what_it_deleted() -> None:
    """A config another cleanup removed first (not found) or one AWS refuses is not reported deleted."""
    deployment = make_deployment()
    base = names.endpoint_base(deployment.endpoint)
    old = [f"{base}-v1-aaaaaa-0000", f"{base}-v2-bbbbbb-0000"]
    keep = f"{base}-v3-cccccc-0000"

    class Racing:
        def list_endpoint_configs(self, **kwargs: Any) -> dict[str, Any]:
            created = {old[0]: 1, old[1]: 2, keep: 3}
            return {
                "EndpointConfigs": [
                    {"EndpointConfigName": n, "CreationTime": datetime(2026, 1, c, tzinfo=UTC)}
                    for n, c in created.items()
                ]
            }

        def list_models(self, **kwargs: Any) -> dict[str, Any]:
            return {"Models": []}

        def delete_endpoint_config(self, EndpointConfigName: str) -> None:
            if EndpointConfigName == old[0]:
                raise _client_error("ValidationException", "Could not find endpoint configuration", "X")
            raise _client_error("AccessDeniedException", "no", "DeleteEndpointConfig")

    assert SageMakerGateway(lambda region, role: Racing()).cleanup(deployment, keep) == []


def test_a_ledger_item_keeps_no_empty_fields() -> None:
    entry = LedgerEntry(status=FAILED, endpoint="ep", account=SERVING, region=REGION, group="", reason="why")
    assert "group" not in entry.to_dict() and entry.to_dict()["reason"] == "why"


def test_an_sqs_record_without_a_body_is_refused_with_its_reason() -> None:
    parsed = parse_sqs_event({"Records": [{"messageId": "m-1"}]})
    (message,) = parsed
    assert (message.message_id, message.trigger) == ("m-1", None)
    assert (
        isinstance(message.error, MalformedEvent)
        and str(message.error) == "SQS record without a string 'body'"
    )


def test_a_stage_change_event_parses_into_every_field_the_deployer_reads() -> None:
    event = load_event("model_package_stage_production")
    change = parse_event(event)
    spec = event["detail"]["InferenceSpecification"]
    assert change == ModelPackageChange(
        event_id="9b7e1f20-6c3d-4a8e-b5f1-0e2d7c9a4b63",
        time=datetime(2026, 11, 20, 11, 30, 5, tzinfo=UTC),
        group="fraud-detector",
        package_arn="arn:aws:sagemaker:eu-west-1:111111111111:model-package/fraud-detector/7",
        version=7,
        approval_status="Approved",
        stage="Production",
        has_inference_spec=True,
        approved_by="arn:aws:sts::111111111111:assumed-role/mlops-fraud-approver/alice",
        approval_description="AUC 0.94 on holdout, signed off in review FD-112",
        stage_status="Approved",
        inference_specification=json.dumps(spec, sort_keys=True, separators=(",", ":")),
    )


def test_an_event_without_version_or_group_reads_them_from_the_package_arn() -> None:
    event = load_event("model_package_stage_production")
    del event["detail"]["ModelPackageVersion"], event["detail"]["ModelPackageGroupName"]
    change = parse_event(event)
    assert (change.group, change.version) == ("fraud-detector", 7)  # type: ignore[union-attr]


def test_a_bare_eventbridge_event_is_one_message_named_by_its_id() -> None:
    event = load_event("model_package_stage_production")
    (message,) = parse_lambda_event(event)
    assert message.message_id == event["id"] and message.error is None
    broken = {"detail-type": "SageMaker Model Package State Change", "source": "aws.sagemaker", "detail": 5}
    (refused,) = parse_lambda_event(broken)
    assert (refused.message_id, refused.trigger) == ("event", None)
    assert isinstance(refused.error, MalformedEvent)
