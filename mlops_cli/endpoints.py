"""What a managed endpoint serves now, read from AWS in the endpoint's own account.

Endpoints in other accounts are described through the deploy-access role named in DEPLOYMENTS
(`deploy_role_arn`); when that is not allowed the state is reported as unknown, never as an error.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mlops_cli.aws import Aws
from mlops_cli.deployments import Deployment
from mlops_cli.errors import CliError, is_denied, is_not_found
from mlops_cli.registry import version_from_arn

BUSY_STATUSES = ("Creating", "Updating", "SystemUpdating", "RollingBack", "Deleting")
NO_ACCESS = "unknown (no access)"
UNKNOWN_ERROR = "unknown (error)"


@dataclass(frozen=True)
class EndpointState:
    status: str  # EndpointStatus, "NotFound" or NO_ACCESS
    config: str | None = None
    package_arn: str | None = None
    version: int | None = None
    failure_reason: str | None = None
    last_modified: Any = None
    problem: str | None = None

    @property
    def known(self) -> bool:
        return self.status != NO_ACCESS

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "endpoint_config": self.config,
            "package_arn": self.package_arn,
            "version": self.version,
            "failure_reason": self.failure_reason,
            "problem": self.problem,
        }


def _package_of_model(model: dict[str, Any]) -> str | None:
    containers = list(model.get("Containers") or [])
    if model.get("PrimaryContainer"):
        containers.insert(0, model["PrimaryContainer"])
    for container in containers:
        if container.get("ModelPackageName"):
            return str(container["ModelPackageName"])
    return None


def _served_package(sm: Any, config_name: str | None) -> str | None:
    if not config_name:
        return None
    config = sm.describe_endpoint_config(EndpointConfigName=config_name)
    for variant in config.get("ProductionVariants", []):
        if variant.get("ModelName"):
            package_arn = _package_of_model(sm.describe_model(ModelName=variant["ModelName"]))
            if package_arn:
                return package_arn
    return None


def read_endpoint(aws: Aws, deployment: Deployment) -> EndpointState:
    from botocore.exceptions import ClientError

    try:
        scoped = aws.assumed(deployment.deploy_role_arn) if deployment.deploy_role_arn else aws
        sm = scoped.client("sagemaker", region=deployment.region)
        endpoint = sm.describe_endpoint(EndpointName=deployment.endpoint)
        config_name = endpoint.get("EndpointConfigName")
        package_arn, problem = None, None
        try:
            package_arn = _served_package(sm, config_name)
        except ClientError as exc:
            if is_denied(exc) or not is_not_found(exc):
                raise
            problem = f"cannot read the endpoint's config or model: {exc}"
        return EndpointState(
            problem=problem,
            status=str(endpoint.get("EndpointStatus")),
            config=config_name,
            package_arn=package_arn,
            version=version_from_arn(package_arn),
            failure_reason=endpoint.get("FailureReason"),
            last_modified=endpoint.get("LastModifiedTime"),
        )
    except CliError as exc:  # AssumeRole of the deploy-access role was refused
        return EndpointState(
            status=NO_ACCESS, problem=f"cannot assume {deployment.deploy_role_arn}: {exc.message}"
        )
    except ClientError as exc:
        if is_denied(exc):
            return EndpointState(status=NO_ACCESS, problem=str(exc))
        if is_not_found(exc):
            return EndpointState(status="NotFound")
        return EndpointState(status=UNKNOWN_ERROR, problem=str(exc))  # e.g. throttled: report, do not abort
