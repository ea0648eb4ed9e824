"""SageMaker model registry calls moto lacks or gets wrong, and the model package state events.

- ``Put/Get/DeleteModelPackageGroupPolicy``; ``DeleteModelPackage``; ``DeleteModelPackageGroup``;
  ``BatchDescribeModelPackage``;
- group and package addressed by name or by ARN, including another account's ARN: the call is then
  served by the owning account after the group's resource policy admits the caller;
- ``CreateModelPackage``: versions are never reused (moto counts packages, so a deletion made it
  reuse numbers), versioned packages default to ``PendingManualApproval`` as in AWS, ``ModelLifeCycle``
  is stored, ``CreatedBy``/``LastModifiedBy`` carry the caller's IAM identity;
- ``UpdateModelPackage`` changes only what the request names (moto wiped approval, description and
  metadata when omitted), merges ``CustomerMetadataProperties``, stores ``ModelLifeCycle``;
- Describe/List/BatchDescribe return ``ModelLifeCycle``;
- "SageMaker Model Package State Change" on create, on an approval status change and on a
  lifecycle change.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

from moto.core.exceptions import JsonRESTError
from moto.core.responses import ActionResult, EmptyResult
from moto.core.utils import utcnow
from moto.sagemaker.exceptions import SagemakerClientError, ValidationError
from moto.sagemaker.models import ModelPackage, ModelPackageGroup, sagemaker_backends
from moto.sagemaker.responses import SageMakerResponse
from moto.sagemaker.utils import arn_formatter, validate_model_approval_status
from moto.sts.models import sts_backends

from . import events, organizations, policy
from .principals import principal_arn
from .request_keys import sagemaker_request_keys

MODEL_PACKAGE_STATE_CHANGE = "SageMaker Model Package State Change"
_ARN = re.compile(r"^arn:[^:]+:sagemaker:([^:]+):(\d{12}):(model-package-group|model-package)/(.+)$")


class AccessDeniedException(JsonRESTError):
    """SageMaker's AccessDeniedException (HTTP 400, JSON body), as AWS returns it."""

    code = 400

    def __init__(self, message: str) -> None:
        super().__init__("AccessDeniedException", message)


class ResourceNotFound(SagemakerClientError):
    code = "ResourceNotFound"


# --- identity and addressing -------------------------------------------------------------------


def caller(self: SageMakerResponse) -> tuple[str, str]:
    """(ARN, account) of the caller, from its access key (moto's default user when unknown)."""
    backend = sts_backends[self.current_account][self.partition]
    _, arn, account = backend.get_caller_identity(self.get_access_key(), self.region)
    return arn, account


def user_context(self: SageMakerResponse) -> dict[str, Any]:
    arn, _ = caller(self)
    return {"IamIdentity": {"Arn": arn, "PrincipalId": self.get_access_key()}}


def _backend_for(self: SageMakerResponse, name_or_arn: str) -> tuple[Any, str, bool]:
    """(backend, name or ARN, is_cross_account) for a registry identifier."""
    m = _ARN.match(name_or_arn or "")
    if not m:
        return self.sagemaker_backend, name_or_arn, False
    region, account, kind, rest = m.groups()
    backend = sagemaker_backends[account][region]
    key = rest if kind == "model-package-group" else name_or_arn
    return backend, key, account != self.current_account


def _group(backend: Any, name: str) -> ModelPackageGroup:
    group = backend.model_package_groups.get(name)
    if group is None:
        arn = arn_formatter("model-package-group", name, backend.account_id, backend.region_name)
        raise ValidationError(f"ModelPackageGroup {arn} does not exist.")
    return group


def _package(backend: Any, name_or_arn: str) -> ModelPackage:
    key = backend.model_package_name_mapping.get(name_or_arn, name_or_arn)
    package = backend.model_packages.get(key) or backend.model_packages.get(str(key).lower())
    if package is None:
        raise ValidationError(f"Model package {name_or_arn} not found")
    return package


def _authorize_cross_account(
    self: SageMakerResponse, backend: Any, group_name: str | None, resource_arn: str
) -> None:
    """Another account's registry: its group's resource policy must allow the caller."""
    caller_arn, caller_account = caller(self)
    action = f"sagemaker:{self._get_action()}"
    group = backend.model_package_groups.get(group_name) if group_name else None
    doc = getattr(group, "resource_policy", None)
    context = {
        "aws:PrincipalAccount": [caller_account],
        "aws:PrincipalArn": [principal_arn(caller_arn)],
        **organizations.context_of(caller_account),
        # the request's own keys: a resource policy is evaluated with them as an identity policy is
        **sagemaker_request_keys(self._get_action(), self._get_param),
    }
    if doc and policy.evaluate([doc], action, resource_arn, context, caller=(caller_arn, caller_account)) is (
        policy.Decision.ALLOW
    ):
        return
    raise AccessDeniedException(
        f"User: {caller_arn} is not authorized to perform: {action} on resource: {resource_arn} "
        "because no resource-based policy allows the action"
    )


def _resolve_group(
    self: SageMakerResponse, name_or_arn: str, on_packages: bool = False
) -> tuple[Any, ModelPackageGroup]:
    backend, name, cross = _backend_for(self, name_or_arn)
    group = _group(backend, name)
    if cross:
        # calls about a group's versions are authorized on the versions' ARNs
        resource = group.arn
        if on_packages:
            prefix = group.arn.split(":model-package-group/")[0]
            resource = f"{prefix}:model-package/{group.model_package_group_name.lower()}/*"
        _authorize_cross_account(self, backend, group.model_package_group_name, resource)
    return backend, group


def _resolve_package(self: SageMakerResponse, name_or_arn: str) -> tuple[Any, ModelPackage]:
    backend, key, cross = _backend_for(self, name_or_arn)
    package = _package(backend, key)
    if cross:
        _authorize_cross_account(self, backend, package.model_package_group_name, package.arn)
    return backend, package


# --- responses and events ----------------------------------------------------------------------


_original_gen_response_object = ModelPackage.gen_response_object


def _package_response(self: ModelPackage) -> dict[str, Any]:
    response = _original_gen_response_object(self)
    for attr, key in (
        ("model_life_cycle", "ModelLifeCycle"),
        ("emu_last_modified_by", "LastModifiedBy"),
        ("emu_created_by", "CreatedBy"),
    ):
        if getattr(self, attr, None):
            response[key] = getattr(self, attr)
    return response


def _iso(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, dict):
        return {k: _iso(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_iso(v) for v in value]
    return value


def emit_package_event(package: ModelPackage) -> None:
    parts = package.arn.split(":")
    detail = _iso(_package_response(package))
    if package.model_package_group_name:
        detail.pop("ModelPackageName", None)
    events.emit(parts[4], parts[3], MODEL_PACKAGE_STATE_CHANGE, detail, [package.arn])


def _validate_life_cycle(life_cycle: dict[str, Any] | None) -> None:
    if life_cycle is None:
        return
    for key in ("Stage", "StageStatus"):
        if not life_cycle.get(key):
            raise ValidationError(f"ModelLifeCycle.{key} is required")


def create_model_package(self: SageMakerResponse) -> ActionResult:
    group_param = self._get_param("ModelPackageGroupName")
    name = self._get_param("ModelPackageName")
    if group_param and name:
        raise ValidationError(
            "Both ModelPackageName and ModelPackageGroupName are provided in the input. "
            "Cannot determine which one to use."
        )
    if not group_param and not name:
        raise ValidationError("Missing ARN.")
    status = self._get_param("ModelApprovalStatus")
    validate_model_approval_status(status)
    life_cycle = self._get_param("ModelLifeCycle")
    _validate_life_cycle(life_cycle)
    if group_param:
        backend, group = _resolve_group(self, group_param, on_packages=True)
        group_name = group.model_package_group_name
        version = getattr(group, "emu_last_version", 0) + 1
        for existing in backend.model_packages.values():
            if existing.model_package_group_name == group_name:
                version = max(version, (existing.model_package_version or 0) + 1)
        group.emu_last_version = version  # type: ignore[attr-defined]
        status = status or "PendingManualApproval"
        package_type, package_name = "Versioned", group_name
    else:
        backend, version, group_name = self.sagemaker_backend, None, None
        package_type, package_name = "Unversioned", name
    package = ModelPackage(
        model_package_name=package_name,
        model_package_group_name=group_name,
        model_package_version=version,
        model_package_description=self._get_param("ModelPackageDescription"),
        inference_specification=self._get_param("InferenceSpecification"),
        source_algorithm_specification=self._get_param("SourceAlgorithmSpecification"),
        validation_specification=self._get_param("ValidationSpecification"),
        certify_for_marketplace=self._get_param("CertifyForMarketplace", False),
        model_approval_status=status,
        metadata_properties=self._get_param("MetadataProperties"),
        model_metrics=self._get_param("ModelMetrics"),
        approval_description=None,
        customer_metadata_properties=self._get_param("CustomerMetadataProperties"),
        drift_check_baselines=self._get_param("DriftCheckBaselines"),
        domain=self._get_param("Domain"),
        task=self._get_param("Task"),
        sample_payload_url=self._get_param("SamplePayloadUrl"),
        additional_inference_specifications=self._get_param("AdditionalInferenceSpecifications"),
        client_token=self._get_param("ClientToken"),
        region_name=backend.region_name,
        account_id=backend.account_id,
        model_package_type=package_type,
        tags=self._get_param("Tags"),
    )
    package.model_life_cycle = life_cycle  # type: ignore[attr-defined]
    package.emu_created_by = user_context(self)  # type: ignore[attr-defined]
    backend.model_package_name_mapping[package.model_package_name] = package.arn
    backend.model_package_name_mapping[package.arn] = package.arn
    backend.model_packages[package.arn] = package
    emit_package_event(package)
    return ActionResult({"ModelPackageArn": package.arn})


def update_model_package(self: SageMakerResponse) -> ActionResult:
    _, package = _resolve_package(self, self._get_param("ModelPackageArn"))
    status = self._get_param("ModelApprovalStatus")
    life_cycle = self._get_param("ModelLifeCycle")
    _validate_life_cycle(life_cycle)
    changed = False
    if status is not None:
        validate_model_approval_status(status)
        changed = changed or status != package.model_approval_status
        package.model_approval_status = status
    if self._get_param("ApprovalDescription") is not None:
        package.approval_description = self._get_param("ApprovalDescription")
    metadata = self._get_param("CustomerMetadataProperties")
    if metadata is not None:
        package.customer_metadata_properties = {**(package.customer_metadata_properties or {}), **metadata}
    to_remove = self._get_param("CustomerMetadataPropertiesToRemove")
    if to_remove and package.customer_metadata_properties:
        package.remove_customer_metadata_property(to_remove)
    additional = self._get_param("AdditionalInferenceSpecificationsToAdd")
    if additional is not None:
        package.add_additional_inference_specifications(additional)
    for param, attr in (
        ("InferenceSpecification", "inference_specification"),
        ("SourceUri", "source_uri"),
    ):
        if self._get_param(param) is not None:
            setattr(package, attr, self._get_param(param))
    if life_cycle is not None:
        changed = changed or life_cycle != getattr(package, "model_life_cycle", None)
        package.model_life_cycle = life_cycle  # type: ignore[attr-defined]
    package.last_modified_time = utcnow()
    package.emu_last_modified_by = user_context(self)  # type: ignore[attr-defined]
    if changed:
        emit_package_event(package)
    return ActionResult({"ModelPackageArn": package.arn})


def describe_model_package(self: SageMakerResponse) -> ActionResult:
    _, package = _resolve_package(self, self._get_param("ModelPackageName"))
    return ActionResult(_package_response(package))


def delete_model_package(self: SageMakerResponse) -> EmptyResult:
    backend, package = _resolve_package(self, self._get_param("ModelPackageName"))
    del backend.model_packages[package.arn]
    for key in [k for k, v in backend.model_package_name_mapping.items() if v == package.arn]:
        del backend.model_package_name_mapping[key]
    # the group name maps to its newest remaining version, as moto's create does
    remaining = [
        p
        for p in backend.model_packages.values()
        if p.model_package_group_name and p.model_package_group_name == package.model_package_group_name
    ]
    if remaining:
        newest = max(remaining, key=lambda p: p.model_package_version or 0)
        backend.model_package_name_mapping[newest.model_package_name] = newest.arn
    return EmptyResult()


def batch_describe_model_package(self: SageMakerResponse) -> ActionResult:
    summaries: dict[str, Any] = {}
    errors: dict[str, Any] = {}
    keys = (
        "ModelPackageGroupName",
        "ModelPackageVersion",
        "ModelPackageArn",
        "ModelPackageDescription",
        "CreationTime",
        "InferenceSpecification",
        "ModelPackageStatus",
        "ModelApprovalStatus",
    )
    for arn in self._get_param("ModelPackageArnList") or []:
        try:
            _, package = _resolve_package(self, arn)
        except SagemakerClientError as exc:
            errors[arn] = {"ErrorCode": exc.code, "ErrorResponse": exc.message}
            continue
        full = _package_response(package)
        summaries[arn] = {k: full[k] for k in keys if k in full}
    return ActionResult({"ModelPackageSummaries": summaries, "BatchDescribeModelPackageErrorMap": errors})


def describe_model_package_group(self: SageMakerResponse) -> ActionResult:
    _, group = _resolve_group(self, self._get_param("ModelPackageGroupName"))
    return ActionResult(group.gen_response_object())


def list_model_packages(self: SageMakerResponse) -> Any:
    group_param = self._get_param("ModelPackageGroupName")
    if group_param:
        backend, group = _resolve_group(self, group_param, on_packages=True)
        if backend is not self.sagemaker_backend:
            self.params["ModelPackageGroupName"] = group.model_package_group_name
            self.current_account, self.region = backend.account_id, backend.region_name
    return _original_list_model_packages(self)


_original_list_model_packages = SageMakerResponse.list_model_packages


def delete_model_package_group(self: SageMakerResponse) -> EmptyResult:
    backend, group = _resolve_group(self, self._get_param("ModelPackageGroupName"))
    name = group.model_package_group_name
    if any(p.model_package_group_name == name for p in backend.model_packages.values()):
        raise ValidationError(
            f"Model Package Group {group.arn} cannot be deleted because it still contains model packages."
        )
    del backend.model_package_groups[name]
    return EmptyResult()


def put_model_package_group_policy(self: SageMakerResponse) -> ActionResult:
    _, group = _resolve_group(self, self._get_param("ModelPackageGroupName"))
    doc = self._get_param("ResourcePolicy")
    try:
        parsed = json.loads(doc)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"Invalid ResourcePolicy: {exc}") from exc
    if not isinstance(parsed, dict) or "Statement" not in parsed:
        raise ValidationError("Invalid ResourcePolicy: a policy document needs a Statement")
    group.resource_policy = doc  # type: ignore[attr-defined]
    return ActionResult({"ModelPackageGroupArn": group.arn})


def get_model_package_group_policy(self: SageMakerResponse) -> ActionResult:
    _, group = _resolve_group(self, self._get_param("ModelPackageGroupName"))
    doc = getattr(group, "resource_policy", None)
    if not doc:
        raise ResourceNotFound(f"Cannot find resource policy for model package group {group.arn}")
    return ActionResult({"ResourcePolicy": doc})


def delete_model_package_group_policy(self: SageMakerResponse) -> EmptyResult:
    _, group = _resolve_group(self, self._get_param("ModelPackageGroupName"))
    if not getattr(group, "resource_policy", None):
        raise ResourceNotFound(f"Cannot find resource policy for model package group {group.arn}")
    group.resource_policy = None  # type: ignore[attr-defined]
    return EmptyResult()


def install() -> None:
    ModelPackage.gen_response_object = _package_response  # type: ignore[method-assign]
    for fn in (
        create_model_package,
        update_model_package,
        describe_model_package,
        delete_model_package,
        batch_describe_model_package,
        describe_model_package_group,
        list_model_packages,
        delete_model_package_group,
        put_model_package_group_policy,
        get_model_package_group_policy,
        delete_model_package_group_policy,
    ):
        setattr(SageMakerResponse, fn.__name__, fn)
