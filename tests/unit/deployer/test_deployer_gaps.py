"""The last gaps of the sampled mutation run (docs/mutants.md): a null inside a ledger item, an approval
identity that is not an object, SageMaker's bare ResourceNotFound, the second page of a listing, the
autoscaling lookup's role and arguments, and the default label of a deployment's error."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError
from deployer import names
from deployer.errors import PermanentError
from deployer.events import audit_fields
from deployer.ledger import Ledger
from deployer.models import LIVE, LedgerEntry, ScalingTarget
from deployer.sagemaker_gateway import SageMakerGateway
from deployer.settings import parse_deployment

from tests.unit.deployer.deployer_fakes import GROUP, REGION, SERVING, make_deployment, package_arn

T0 = datetime(2026, 11, 20, 10, tzinfo=UTC)


def _client_error(code: str, message: str, operation: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, operation)


class RecordingTable:
    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def put_item(self, **kwargs: Any) -> None:
        self.items.append(kwargs["Item"])


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
