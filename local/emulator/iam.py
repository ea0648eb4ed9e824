"""IAM authorization of SageMaker calls when moto's IAM enforcement is on.

moto authorizes every SageMaker call against resource ``*`` and evaluates no condition keys. Here
``SageMakerResponse`` gets:

- ``_determine_resource``: the ARN the call acts on (AWS's ARN spelling: endpoint, endpoint-config,
  model and model-package names lower-cased);
- ``_authenticate_and_authorize_normal_action``: moto's signature check, then the caller's identity
  policies evaluated with :mod:`local.emulator.policy` on every resource of the call, with the
  request's condition keys (``sagemaker:ModelApprovalStatus`` and ``sagemaker:ModelLifeCycle:Stage``/
  ``StageStatus`` on Create/UpdateModelPackage, see :mod:`local.emulator.request_keys`;
  ``aws:PrincipalArn``, ``aws:PrincipalAccount``, ``aws:RequestedRegion``, ``aws:RequestTag/*`` and
  ``aws:TagKeys`` from the call's ``Tags``, ``aws:ResourceTag/*`` of an existing endpoint, endpoint
  config or model), plus ``iam:PassRole``
  on the execution role of ``CreateModel``. A denial is an ``AccessDeniedException`` (HTTP 400,
  JSON), worded as AWS words it.

Enforcement itself stays moto's: off until ``INITIAL_NO_AUTH_ACTION_COUNT`` requests have been made
(``POST /moto-api/reset-auth`` or ``moto.core.set_initial_no_auth_action_count``).
"""

from __future__ import annotations

import re
from typing import Any

from moto.iam.access_control import IAMPolicy, IAMRequest
from moto.sagemaker.responses import SageMakerResponse

from . import policy
from .principals import principal_arn
from .registry import AccessDeniedException
from .request_keys import sagemaker_request_keys

_ARN = re.compile(r"^arn:[^:]+:sagemaker:")

_GROUP_ACTIONS = {
    "CreateModelPackageGroup",
    "DescribeModelPackageGroup",
    "DeleteModelPackageGroup",
    "PutModelPackageGroupPolicy",
    "GetModelPackageGroupPolicy",
    "DeleteModelPackageGroupPolicy",
}
_PACKAGE_ACTIONS = {
    "DescribeModelPackage": "ModelPackageName",
    "DeleteModelPackage": "ModelPackageName",
    "UpdateModelPackage": "ModelPackageArn",
}


def _arn(self: SageMakerResponse, kind: str, name: str, lower: bool = True) -> str:
    if _ARN.match(name or ""):
        return name
    name = name.lower() if lower else name
    return f"arn:{self.partition}:sagemaker:{self.region}:{self.current_account}:{kind}/{name}"


def _package_arn(self: SageMakerResponse, name_or_arn: str) -> str:
    if _ARN.match(name_or_arn or ""):
        return name_or_arn
    mapped = self.sagemaker_backend.model_package_name_mapping.get(name_or_arn)
    return mapped or _arn(self, "model-package", name_or_arn)


def _group_versions(self: SageMakerResponse, group: str) -> str:
    """``model-package/<group>/*``: every version of a group (name or ARN)."""
    if _ARN.match(group):
        prefix, name = group.split(":model-package-group/")
    else:
        prefix, name = f"arn:{self.partition}:sagemaker:{self.region}:{self.current_account}", group
    return f"{prefix}:model-package/{name.lower()}/*"


def resources(self: SageMakerResponse) -> list[str]:
    """Every resource ARN the current SageMaker call is authorized against."""
    action = self._get_action()
    p = self._get_param
    if action in _GROUP_ACTIONS:
        return [_arn(self, "model-package-group", p("ModelPackageGroupName"), lower=False)]
    if action in _PACKAGE_ACTIONS:
        return [_package_arn(self, p(_PACKAGE_ACTIONS[action]))]
    if action == "BatchDescribeModelPackage":
        return [_package_arn(self, a) for a in p("ModelPackageArnList") or []] or ["*"]
    if action == "CreateModelPackage":
        group = p("ModelPackageGroupName")
        if group:
            # the new version's number is unknown before it exists: authorize on the group's versions
            return [_group_versions(self, group)]
        return [_arn(self, "model-package", p("ModelPackageName") or "")]
    if action == "ListModelPackages" and p("ModelPackageGroupName"):
        # resource type model-package (Service Authorization Reference): the listed group's versions
        return [_group_versions(self, p("ModelPackageGroupName"))]
    if action in ("CreateEndpoint", "UpdateEndpoint"):
        return [
            _arn(self, "endpoint", p("EndpointName")),
            _arn(self, "endpoint-config", p("EndpointConfigName")),
        ]
    if action in ("DescribeEndpoint", "DeleteEndpoint", "UpdateEndpointWeightsAndCapacities"):
        return [_arn(self, "endpoint", p("EndpointName"))]
    if action in ("CreateEndpointConfig", "DescribeEndpointConfig", "DeleteEndpointConfig"):
        return [_arn(self, "endpoint-config", p("EndpointConfigName"))]
    if action in ("CreateModel", "DescribeModel", "DeleteModel"):
        return [_arn(self, "model", p("ModelName"))]
    if action in ("AddTags", "DeleteTags", "ListTags"):
        return [p("ResourceArn")]
    return ["*"]


def _determine_resource(self: SageMakerResponse) -> str:
    try:
        return resources(self)[0]
    except Exception:  # noqa: BLE001 - a malformed request is the action's to reject, not ours
        return "*"


class _SageMakerIAMRequest(IAMRequest):
    response: SageMakerResponse

    def check_action_permitted(self, resource: str) -> None:
        response = self.response
        try:
            targets = resources(response)
        except Exception:  # noqa: BLE001
            targets = [resource]
        caller_arn = self._access_key.arn
        docs = [IAMPolicy(p)._policy_json for p in self._access_key.collect_policies()]
        context = _context(response, caller_arn)
        for target in targets:
            _require(docs, self._action, target, {**context, **_resource_tags(response, target)}, caller_arn)
        if self._action == "sagemaker:CreateModel" and response._get_param("ExecutionRoleArn"):
            pass_context = {**context, "iam:PassedToService": ["sagemaker.amazonaws.com"]}
            _require(docs, "iam:PassRole", response._get_param("ExecutionRoleArn"), pass_context, caller_arn)


def base_context(response: Any, caller_arn: str) -> dict[str, list[str]]:
    """The global condition keys of a request: ``aws:PrincipalArn`` (the role of a role session),
    ``aws:PrincipalAccount``, ``aws:RequestedRegion``."""
    return {
        "aws:PrincipalArn": [principal_arn(caller_arn)],
        "aws:PrincipalAccount": [response.current_account],
        "aws:RequestedRegion": [response.region],
    }


_TAGGED = {"endpoint": "endpoints", "endpoint-config": "endpoint_configs", "model": "_models"}


def _resource_tags(response: SageMakerResponse, target: str) -> dict[str, list[str]]:
    """``aws:ResourceTag/<key>`` of an existing endpoint, endpoint config or model (the keys AWS documents
    for these resource types in the Service Authorization Reference)."""
    kind, _, name = target.rpartition(":")[2].partition("/")
    store = getattr(response.sagemaker_backend, _TAGGED.get(kind, ""), None)
    if not isinstance(store, dict):
        return {}
    found = next((r for n, r in store.items() if n.lower() == name.lower()), None)
    return {f"aws:ResourceTag/{t['Key']}": [t["Value"]] for t in getattr(found, "tags", None) or []}


def _request_tags(response: SageMakerResponse) -> dict[str, list[str]]:
    """``aws:RequestTag/<key>`` and ``aws:TagKeys`` of a call that tags (Create* with Tags, AddTags)."""
    tags = response._get_param("Tags") or []
    context = {f"aws:RequestTag/{t['Key']}": [t["Value"]] for t in tags}
    if tags:
        context["aws:TagKeys"] = [t["Key"] for t in tags]
    return context


def _context(response: SageMakerResponse, caller_arn: str) -> dict[str, list[str]]:
    context = {**base_context(response, caller_arn), **_request_tags(response)}
    context.update(sagemaker_request_keys(response._get_action(), response._get_param))
    return context


def denial(
    docs: list[Any], action: str, resource: str, context: dict[str, list[str]], who: str
) -> str | None:
    """None when the identity policies allow ``action`` on ``resource``, else AWS's denial message."""
    decision = policy.evaluate(docs, action, resource, context)
    if decision is policy.Decision.ALLOW:
        return None
    why = (
        "with an explicit deny in an identity-based policy"
        if decision is policy.Decision.DENY
        else f"because no identity-based policy allows the {action} action"
    )
    return f"User: {who} is not authorized to perform: {action} on resource: {resource} {why}"


def _require(docs: list[Any], action: str, resource: str, context: dict[str, list[str]], who: str) -> None:
    message = denial(docs, action, resource, context, who)
    if message is not None:
        raise AccessDeniedException(message)


def _authenticate_and_authorize_normal_action(self: SageMakerResponse, resource: str = "*") -> None:
    response = self

    def make_request(**kwargs: Any) -> _SageMakerIAMRequest:
        request = _SageMakerIAMRequest(**kwargs)
        request.response = response
        return request

    self._authenticate_and_authorize_action(make_request, resource)  # type: ignore[arg-type]


def install() -> None:
    SageMakerResponse._determine_resource = _determine_resource  # type: ignore[attr-defined]
    setattr(  # noqa: B010 - patching moto's hook
        SageMakerResponse,
        "_authenticate_and_authorize_normal_action",
        _authenticate_and_authorize_normal_action,
    )


__all__ = ["base_context", "denial", "install", "resources"]
