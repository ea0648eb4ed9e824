"""Thin SageMaker adapter: boto3 calls in, domain objects and domain errors out.

Clients are injected (``client_for(region, role_arn)``); the registry calls use the deployer's own
role in the registry region, the endpoint calls the deployment's deploy-access role (or the
deployer's own role when ``deploy_role_arn`` is null).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from deployer import names, rollback_alarms
from deployer.controller import package_from_summary
from deployer.errors import EndpointBusy, PermanentError, QuotaExceeded, TransientError
from deployer.models import DeployPlan, EndpointView, Package, ScalingTarget
from deployer.settings import Deployment, RetiredEndpoint

log = logging.getLogger(__name__)

PAGE_SIZE = 100
TRANSIENT_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "RequestThrottled",
        "SlowDown",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "InternalFailure",
        "InternalServerError",
        "InternalError",
        "RequestTimeout",
        "RequestTimeoutException",
        "ProvisionedThroughputExceededException",
        "TransactionInProgressException",
    }
)
# Quotas free up when other resources go away: retry later, never block the version for good.
# https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_UpdateEndpoint.html (Errors: ResourceLimitExceeded)
QUOTA_CODES = frozenset({"ResourceLimitExceeded"})


class Gateway(Protocol):
    """What the service needs from SageMaker (the in-memory fake in the tests implements it too)."""

    def iter_packages(self, deployment: Deployment) -> Iterator[Package]: ...

    def describe_endpoint(self, deployment: Deployment) -> EndpointView: ...

    def deploy(self, deployment: Deployment, plan: DeployPlan) -> None: ...

    def cleanup(self, deployment: Deployment, keep_config: str) -> list[str]: ...

    def describe_package(self, deployment: Deployment, package_arn: str) -> dict[str, Any]: ...

    def update_scaling(self, deployment: Deployment, variant: str, target: ScalingTarget) -> None: ...

    def delete_retired(self, retired: RetiredEndpoint) -> str: ...


# Application Auto Scaling's names for a SageMaker variant's instance count:
# https://docs.aws.amazon.com/autoscaling/application/userguide/services-that-can-integrate-sagemaker.html
SCALING_NAMESPACE = "sagemaker"
SCALING_DIMENSION = "sagemaker:variant:DesiredInstanceCount"


def scaling_resource_id(endpoint: str, variant: str) -> str:
    return f"endpoint/{endpoint}/variant/{variant}"


def translate(exc: Exception, operation: str) -> Exception:
    """Map a botocore error to TransientError / EndpointBusy / PermanentError."""
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        message = str(error.get("Message", ""))
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        if code in QUOTA_CODES:
            return QuotaExceeded(f"{operation}: {code}: {message}")
        # Any 5xx is the service's trouble, whatever its code (listed or not): transient.
        if code in TRANSIENT_CODES or status >= 500:
            return TransientError(f"{operation}: {code or status}: {message} (retries exhausted)")
        if "in-progress" in message.lower():  # "Cannot update in-progress endpoint ..."
            return EndpointBusy(f"{operation}: {message}")
        return PermanentError(f"{operation}: {code}: {message}")
    if isinstance(exc, BotoCoreError):
        return TransientError(f"{operation}: {exc}")
    return exc


def _already_exists(exc: ClientError) -> bool:
    message = str(exc.response.get("Error", {}).get("Message", "")).lower()
    return "already exist" in message


def _not_found(exc: ClientError) -> bool:
    error = exc.response.get("Error", {})
    message = str(error.get("Message", "")).lower()
    return (
        error.get("Code") == "ResourceNotFound" or "could not find" in message or "does not exist" in message
    )


def endpoint_view(response: dict[str, Any]) -> EndpointView:
    """An EndpointView from a DescribeEndpoint response."""
    variants = response.get("ProductionVariants") or []
    first = variants[0] if variants else {}
    count = first.get("CurrentInstanceCount", first.get("DesiredInstanceCount"))
    desired = first.get("DesiredInstanceCount")
    return EndpointView(
        exists=True,
        status=response.get("EndpointStatus"),
        config_name=response.get("EndpointConfigName"),
        variant_name=first.get("VariantName"),
        variant_count=len(variants),
        instance_count=int(count) if count else None,
        failure_reason=response.get("FailureReason"),
        desired_instance_count=int(desired) if desired else None,
    )


class SageMakerGateway:
    def __init__(
        self,
        client_for: Callable[[str, str | None], Any],
        cloudwatch_for: Callable[[str, str | None], Any] | None = None,
        autoscaling_for: Callable[[str, str | None], Any] | None = None,
    ) -> None:
        """``client_for(region, role)``: SageMaker clients; ``cloudwatch_for``: CloudWatch clients
        for the new fleet's rollback alarms (None: the alarms are not managed, e.g. in tests);
        ``autoscaling_for``: Application Auto Scaling clients (same account, region and role as the
        endpoint's; None: no autoscaling is looked up, every variant counts as not autoscaled)."""
        self._client_for = client_for
        self._cloudwatch_for = cloudwatch_for
        self._autoscaling_for = autoscaling_for

    def _cloudwatch(self, deployment: Deployment) -> Any:
        assert self._cloudwatch_for is not None
        try:
            return self._cloudwatch_for(deployment.region, deployment.deploy_role_arn)
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc, f"sts:AssumeRole {deployment.deploy_role_arn}") from exc

    def _registry(self, deployment: Deployment) -> Any:
        return self._client_for(deployment.registry_region, None)

    def _serving(self, deployment: Deployment) -> Any:
        """The serving account's client. Assuming the deploy-access role may fail (role missing, trust
        wrong, not yet propagated): STS's AccessDenied is classified like any AWS error, so it
        becomes a ledger entry instead of an unclassified crash that loops into the DLQ."""
        try:
            return self._client_for(deployment.region, deployment.deploy_role_arn)
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc, f"sts:AssumeRole {deployment.deploy_role_arn}") from exc

    def describe_package(self, deployment: Deployment, package_arn: str) -> dict[str, Any]:
        """DescribeModelPackage: the approval audit fields the state-change event does not carry, and
        what the version runs (its InferenceSpecification, for the admission checks)."""
        return dict(
            self._call(self._registry(deployment), "describe_model_package", ModelPackageName=package_arn)
        )

    def _call(self, client: Any, operation: str, **kwargs: Any) -> Any:
        try:
            return getattr(client, operation)(**kwargs)
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc, operation) from exc

    def iter_packages(self, deployment: Deployment) -> Iterator[Package]:
        """Newest first; pages are fetched only as far as the caller reads."""
        client = self._registry(deployment)
        kwargs: dict[str, Any] = {
            "ModelPackageGroupName": deployment.group,
            "SortBy": "CreationTime",
            "SortOrder": "Descending",
            "MaxResults": PAGE_SIZE,
        }
        # Every `follows` rule needs an Approved version (controller.matches): let SageMaker filter.
        kwargs["ModelApprovalStatus"] = "Approved"
        while True:
            page = self._call(client, "list_model_packages", **kwargs)
            for summary in page.get("ModelPackageSummaryList", []):
                if "ModelPackageVersion" in summary:
                    yield package_from_summary(summary)
            token = page.get("NextToken")
            if not token:
                return
            kwargs["NextToken"] = token

    def describe_endpoint(self, deployment: Deployment) -> EndpointView:
        client = self._serving(deployment)
        try:
            response = client.describe_endpoint(EndpointName=deployment.endpoint)
        except ClientError as exc:
            if _not_found(exc):
                return EndpointView(exists=False)
            raise translate(exc, "describe_endpoint") from exc
        except BotoCoreError as exc:
            raise translate(exc, "describe_endpoint") from exc
        return self._with_serving_settings(deployment, client, endpoint_view(response))

    def _with_serving_settings(self, deployment: Deployment, client: Any, view: EndpointView) -> EndpointView:
        """The live config's instance type, the variant's autoscaling target and the live model's
        execution role, read only where the controller compares them with the configured settings: an
        InService endpoint with one variant on a config the deployer made (two calls, a third only when
        the model is not the one the configured role would have; none for a busy endpoint)."""
        token = names.parse(deployment.endpoint, view.config_name)
        if view.status != "InService" or view.variant_count != 1 or not view.variant_name or token is None:
            return view
        config = self._call(client, "describe_endpoint_config", EndpointConfigName=view.config_name)
        variant: dict[str, Any] = next(
            (v for v in config.get("ProductionVariants", []) if v.get("VariantName") == view.variant_name), {}
        )
        role, isolation = self._live_model(deployment, client, token.version, variant.get("ModelName"))
        return replace(
            view,
            instance_type=variant.get("InstanceType"),
            scaling=self._scaling(deployment, view),
            execution_role_arn=role,
            network_isolation=isolation,
        )

    def _live_model(
        self, deployment: Deployment, client: Any, version: int, model: str | None
    ) -> tuple[str | None, bool | None]:
        """The live model's ExecutionRoleArn and EnableNetworkIsolation. A model made for the configured
        settings has a known name (``names.model_name`` hashes the role and the isolation in), so
        DescribeModel is needed only when the name differs: after a release that changed the role (the
        shared ``mlops-sagemaker-execution`` -> the team's ``mlops-<team>-serving``), or a change of
        network isolation. DescribeModel returns both; an absent EnableNetworkIsolation is CreateModel's
        default, false (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_DescribeModel.html,
        https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateModel.html)."""
        if not model:
            return None, None
        expected = names.model_name(
            deployment.endpoint,
            version,
            deployment.package_arn(version),
            deployment.execution_role_arn,
            network_isolation=deployment.network_isolation,
        )
        if model == expected:
            return deployment.execution_role_arn, deployment.network_isolation
        described = self._call(client, "describe_model", ModelName=model)
        role = described.get("ExecutionRoleArn")
        return (str(role) if role else None), bool(described.get("EnableNetworkIsolation", False))

    def _scaling(self, deployment: Deployment, view: EndpointView) -> ScalingTarget | None:
        if self._autoscaling_for is None or not view.variant_name:
            return None
        try:
            client = self._autoscaling_for(deployment.region, deployment.deploy_role_arn)
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc, f"sts:AssumeRole {deployment.deploy_role_arn}") from exc
        response = self._call(
            client,
            "describe_scalable_targets",
            ServiceNamespace=SCALING_NAMESPACE,
            ResourceIds=[scaling_resource_id(deployment.endpoint, view.variant_name)],
            ScalableDimension=SCALING_DIMENSION,
        )
        targets = response.get("ScalableTargets") or []
        if not targets:
            return None
        return ScalingTarget(int(targets[0]["MinCapacity"]), int(targets[0]["MaxCapacity"]))

    def update_scaling(self, deployment: Deployment, variant: str, target: ScalingTarget) -> None:
        """RegisterScalableTarget on the registered target: it updates the range (only the values given)
        and moves the variant's capacity into it.
        https://docs.aws.amazon.com/autoscaling/application/APIReference/API_RegisterScalableTarget.html"""
        assert self._autoscaling_for is not None, "a scaling target was read, so a client exists"
        try:
            client = self._autoscaling_for(deployment.region, deployment.deploy_role_arn)
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc, f"sts:AssumeRole {deployment.deploy_role_arn}") from exc
        self._call(
            client,
            "register_scalable_target",
            ServiceNamespace=SCALING_NAMESPACE,
            ResourceId=scaling_resource_id(deployment.endpoint, variant),
            ScalableDimension=SCALING_DIMENSION,
            MinCapacity=target.min_capacity,
            MaxCapacity=target.max_capacity,
        )

    def deploy(self, deployment: Deployment, plan: DeployPlan) -> None:
        """CreateModel, CreateEndpointConfig (both idempotent by name), then Update/CreateEndpoint."""
        client = self._serving(deployment)
        self._create(
            client,
            "create_model",
            ModelName=plan.model_name,
            ExecutionRoleArn=plan.execution_role_arn,
            Containers=[{"ModelPackageName": plan.package.arn}],
            # no network in or out of the containers unless the deployment turns it off
            # (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateModel.html, EnableNetworkIsolation)
            EnableNetworkIsolation=plan.network_isolation,
            Tags=[{"Key": "mlops:endpoint", "Value": deployment.endpoint}],
        )
        self._create(
            client,
            "create_endpoint_config",
            EndpointConfigName=plan.config_name,
            ProductionVariants=[
                {
                    "VariantName": plan.variant_name,
                    "ModelName": plan.model_name,
                    "InitialInstanceCount": plan.instance_count,
                    "InstanceType": plan.instance_type,
                    "InitialVariantWeight": 1.0,
                }
            ],
            Tags=[{"Key": "mlops:endpoint", "Value": deployment.endpoint}],
        )
        if plan.kind == "create":
            try:
                client.create_endpoint(
                    EndpointName=deployment.endpoint,
                    EndpointConfigName=plan.config_name,
                    Tags=[{"Key": "mlops:managed-by", "Value": "mlops-deployer"}],
                )
            except ClientError as exc:
                if _already_exists(exc):  # a concurrent invocation created it: look again later
                    raise EndpointBusy(f"create_endpoint: {exc}") from exc
                raise translate(exc, "create_endpoint") from exc
            except BotoCoreError as exc:
                raise translate(exc, "create_endpoint") from exc
        else:
            if self._cloudwatch_for is not None and plan.alarm_requests:
                cloudwatch = self._cloudwatch(deployment)
                for request in plan.alarm_requests:  # before the update: SageMaker reads them from the start
                    self._call(cloudwatch, "put_metric_alarm", **request)
            self._call(
                client,
                "update_endpoint",
                EndpointName=deployment.endpoint,
                EndpointConfigName=plan.config_name,
                DeploymentConfig=plan.deployment_config,
            )

    def _create(self, client: Any, operation: str, **kwargs: Any) -> None:
        try:
            getattr(client, operation)(**kwargs)
        except ClientError as exc:
            if _already_exists(exc):  # a retry of a half-done deployment: same name, same content
                return
            raise translate(exc, operation) from exc
        except BotoCoreError as exc:
            raise translate(exc, operation) from exc

    def cleanup(self, deployment: Deployment, keep_config: str) -> list[str]:
        """Delete deployer-made configs and models of this endpoint older than the config in use.

        Only names that parse as this endpoint's (``names.parse``) are candidates; the config in
        use and every model with its version token are kept, and so is anything created after the
        config in use (a concurrent deployment may be about to use it). Failures are logged, not
        raised: cleanup never fails a deployment.
        """
        keep_token = names.parse(deployment.endpoint, keep_config)
        base = names.endpoint_base(deployment.endpoint)
        deleted: list[str] = []
        try:
            client = self._serving(deployment)
            configs = self._list(
                client, "list_endpoint_configs", "EndpointConfigs", "EndpointConfigName", base
            )
            models = self._list(client, "list_models", "Models", "ModelName", base)
        except (TransientError, PermanentError) as exc:
            log.warning(  # pragma: no mutate
                "cleanup skipped",  # pragma: no mutate
                extra={"endpoint": deployment.endpoint, "reason": exc.reason},  # pragma: no mutate
            )  # pragma: no mutate
            return deleted
        keep_created = configs.get(keep_config)
        if keep_token is None or keep_created is None:
            return deleted
        for name, created in configs.items():
            if (
                name != keep_config
                and names.parse(deployment.endpoint, name)
                and created < keep_created
                and self._delete(client, "delete_endpoint_config", EndpointConfigName=name)
            ):
                deleted.append(name)
        self._delete_alarms(deployment, [keep_config, *(n for n in deleted)])
        for name, created in models.items():
            token = names.parse(deployment.endpoint, name)
            if (
                token
                and token != keep_token
                and created < keep_created
                and self._delete(client, "delete_model", ModelName=name)
            ):
                deleted.append(name)
        return deleted

    def _delete_alarms(self, deployment: Deployment, configs: list[str]) -> None:
        """The new-fleet alarms of settled deployments: the endpoint is InService on ``configs[0]`` and
        the others are gone, so no update watches them any more (a redeploy of the same config makes
        them again). Failures are logged: cleanup never fails a deployment."""
        if self._cloudwatch_for is None:
            return
        alarm_names = [a for c in configs for a in rollback_alarms.alarm_names(c)]
        try:
            self._call(self._cloudwatch(deployment), "delete_alarms", AlarmNames=alarm_names)
        except (TransientError, PermanentError) as exc:
            log.warning(  # pragma: no mutate
                "alarm cleanup skipped",  # pragma: no mutate
                extra={"endpoint": deployment.endpoint, "reason": exc.reason},  # pragma: no mutate
            )  # pragma: no mutate

    def delete_retired(self, retired: RetiredEndpoint) -> str:
        """Delete a retired endpoint; once it is gone, its deployer-made configs and models.

        Returns ``deleted`` (DeleteEndpoint accepted now), ``deleting`` (already on its way) or ``gone``.
        DeleteEndpoint keeps the configs and models
        (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_DeleteEndpoint.html), so a later
        look removes those whose names the deployer generated for this endpoint.
        """
        try:
            client = self._client_for(retired.region, retired.deploy_role_arn)
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc, f"sts:AssumeRole {retired.deploy_role_arn}") from exc
        try:
            status = client.describe_endpoint(EndpointName=retired.endpoint).get("EndpointStatus")
        except ClientError as exc:
            if not _not_found(exc):
                raise translate(exc, "describe_endpoint") from exc
            status = None
        except BotoCoreError as exc:
            raise translate(exc, "describe_endpoint") from exc
        if status == "Deleting":
            return "deleting"
        if status is not None:
            self._call(client, "delete_endpoint", EndpointName=retired.endpoint)
            return "deleted"
        base = names.endpoint_base(retired.endpoint)
        configs = self._list(client, "list_endpoint_configs", "EndpointConfigs", "EndpointConfigName", base)
        models = self._list(client, "list_models", "Models", "ModelName", base)
        for name in configs:
            if names.parse(retired.endpoint, name):
                self._delete(client, "delete_endpoint_config", EndpointConfigName=name)
        for name in models:
            if names.parse(retired.endpoint, name):
                self._delete(client, "delete_model", ModelName=name)
        return "gone"

    def _list(self, client: Any, operation: str, key: str, name_key: str, base: str) -> dict[str, datetime]:
        found: dict[str, datetime] = {}
        kwargs: dict[str, Any] = {"NameContains": base, "MaxResults": PAGE_SIZE}
        while True:
            page = self._call(client, operation, **kwargs)
            for item in page.get(key, []):
                found[item[name_key]] = item["CreationTime"]
            token = page.get("NextToken")
            if not token:
                return found
            kwargs["NextToken"] = token

    def _delete(self, client: Any, operation: str, **kwargs: Any) -> bool:
        try:
            getattr(client, operation)(**kwargs)
            return True
        except (ClientError, BotoCoreError) as exc:
            if isinstance(exc, ClientError) and _not_found(exc):
                return False
            log.warning(  # pragma: no mutate
                "cleanup call failed",  # pragma: no mutate
                extra={"operation": operation, "reason": str(exc)},  # pragma: no mutate
            )  # pragma: no mutate
            return False
