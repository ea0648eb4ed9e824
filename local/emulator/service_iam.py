"""IAM authorization of DynamoDB, SNS, SQS, STS and SSM calls on their real resource ARNs.

moto authorizes DynamoDB and SNS calls against resource ``*``; SQS and STS calls name their queue or
role, but moto's own matcher turns a conditional Allow that does not match into a Deny and knows only
``StringEquals``. So a role whose statements name resources (the deployer's ``dynamodb:PutItem`` on
the ledger table, ``sns:Publish`` on its topic, ``sts:AssumeRole`` on the serving accounts' roles) was
denied everything. Here each of those response classes gets ``_authenticate_and_authorize_normal_action``:
moto's signature check, then the caller's identity policies evaluated with :mod:`local.emulator.policy`
(the operators of :mod:`local.emulator.iam`, with ``aws:PrincipalArn``, ``aws:PrincipalAccount``,
``aws:RequestedRegion``) for every (action, resource) pair the call needs:

- DynamoDB: any call with ``TableName`` on ``table/<name>`` (``table/<name>/index/<index>`` when a
  Query or Scan names ``IndexName``); ``BatchGetItem``/``BatchWriteItem`` on each table as
  ``GetItem``/``PutItem``/``DeleteItem``, as AWS authorizes them;
- SNS: any call with ``TopicArn`` (``Publish`` also with a topic ``TargetArn``) on that topic,
  ``CreateTopic`` on the topic it names; ``Publish`` to a topic encrypted with a KMS key also needs
  ``kms:GenerateDataKey`` and ``kms:Decrypt`` on that key (AWS requires both of the publisher);
- SQS: any call with ``QueueUrl`` (``GetQueueUrl``/``CreateQueue``: ``QueueName``) on the queue ARN,
  the batch calls as their single-message actions (``sqs:SendMessage``, ``sqs:DeleteMessage``,
  ``sqs:ChangeMessageVisibility``: IAM has no batch actions); on a queue with a KMS key,
  ``ReceiveMessage`` also needs ``kms:Decrypt`` and ``SendMessage`` ``kms:GenerateDataKey`` and
  ``kms:Decrypt`` on it;
- STS: ``AssumeRole`` on ``RoleArn``; then the role's trust policy: for a role of another account
  :func:`trust_denial` (moto checked none), with ``aws:PrincipalOrgID``; for a role of the caller's
  own account moto's own check.
- SSM: ``GetParameter``/``GetParameters``/``GetParameterHistory`` on each parameter named,
  ``GetParametersByPath`` on the path (``parameter/<path>``), as AWS authorizes them.
- CloudWatch: ``PutMetricAlarm`` on the alarm it names, ``DeleteAlarms`` on each alarm.
- Application Auto Scaling: ``DescribeScalableTargets`` on ``*``; ``RegisterScalableTarget`` on the
  registered target's ARN (``*`` for a new one), with ``application-autoscaling:service-namespace`` and
  ``application-autoscaling:scalable-dimension`` from the request.
- ECR: image pulls and pushes (``BatchGetImage``, ``GetDownloadUrlForLayer``,
  ``BatchCheckLayerAvailability``, ``PutImage``, layer uploads, ``DescribeImages``, ``ListImages``) on
  ``repository/<name>`` of ``registryId`` (default: the caller's account). Repository policies are not
  evaluated, and moto serves only the caller's own account's repositories.

Everything else (``ListTables``, ``ListTopics``, ``GetCallerIdentity``, ...) keeps moto's check.
DynamoDB item calls (Get/Put/Update/DeleteItem) and Query carry ``dynamodb:LeadingKeys`` (the
partition key value they name), so a role limited to its own partition keys is limited here too.
Not evaluated: resource policies (queue, topic, key policies), KMS grants, other service condition
keys (``dynamodb:Attributes``, ``dynamodb:Select``, ...). Denials are worded as AWS words them: DynamoDB
``AccessDeniedException`` (HTTP 400; SSM and Application Auto Scaling too), SNS ``AuthorizationError``, SQS and STS ``AccessDenied`` (403).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlparse

from moto.applicationautoscaling.responses import ApplicationAutoScalingResponse
from moto.cloudwatch.responses import CloudWatchResponse
from moto.core.exceptions import AccessDeniedError, JsonRESTError
from moto.dynamodb.responses import DynamoHandler
from moto.ecr.responses import ECRResponse
from moto.iam.access_control import IAMPolicy, IAMRequest
from moto.iam.models import iam_backends
from moto.kms.models import kms_backends
from moto.sns.models import sns_backends
from moto.sns.responses import SNSResponse
from moto.sqs.models import sqs_backends
from moto.sqs.responses import SQSResponse
from moto.ssm.responses import SimpleSystemManagerResponse
from moto.sts.responses import TokenResponse

from . import organizations, policy
from .iam import base_context, denial

Requirement = tuple[str, str]  # (IAM action, resource ARN)
Requirements = Callable[[Any], list[Requirement] | None]


def _params(response: Any) -> dict[str, Any]:
    params = getattr(response, "params", None)
    return params if isinstance(params, dict) else {}


def _prefix(response: Any, service: str, account: str | None = None, region: str | None = None) -> str:
    return f"arn:{response.partition}:{service}:{region or response.region}:{account or response.current_account}"


# --- KMS keys of encrypted topics and queues -------------------------------------------------------


def _key_arn(key_id: str, account: str, region: str) -> str | None:
    """The ARN of a key given as id, ARN, alias name or alias ARN (None when it does not exist)."""
    if key_id.startswith("arn:") and ":key/" in key_id:
        return key_id
    if key_id.startswith("arn:") and ":alias/" in key_id:
        parts = key_id.split(":")
        region, account = parts[3], parts[4]
    try:
        backend = kms_backends[account][region]
        return str(backend.describe_key(key_id).arn)
    except Exception:  # noqa: BLE001 - an unknown key: the service call reports it, not authorization
        return None


def _kms(key_id: str | None, account: str, region: str, actions: tuple[str, ...]) -> list[Requirement]:
    arn = _key_arn(key_id, account, region) if key_id else None
    return [(action, arn) for action in actions] if arn else []


# --- DynamoDB ---------------------------------------------------------------------------------------

_BATCH_ITEM_ACTIONS = {"PutRequest": "PutItem", "DeleteRequest": "DeleteItem"}


def _table_arn(response: Any, name: str) -> str:
    return name if name.startswith("arn:") else f"{_prefix(response, 'dynamodb')}:table/{name}"


def dynamodb_requirements(response: Any) -> list[Requirement] | None:
    action = response._get_action()
    params = _params(response)
    if action == "BatchGetItem":
        return [
            ("dynamodb:GetItem", _table_arn(response, t)) for t in params.get("RequestItems") or {}
        ] or None
    if action == "BatchWriteItem":
        needed = {
            (f"dynamodb:{_BATCH_ITEM_ACTIONS[kind]}", _table_arn(response, table))
            for table, writes in (params.get("RequestItems") or {}).items()
            for write in writes
            for kind in write
            if kind in _BATCH_ITEM_ACTIONS
        }
        return sorted(needed) or None
    table = params.get("TableName")
    if not table:
        return None
    resource = _table_arn(response, table)
    if action in ("Query", "Scan") and params.get("IndexName"):
        resource = f"{resource}/index/{params['IndexName']}"
    return [(f"dynamodb:{action}", resource)]


_KEY_CONDITION = re.compile(r"(#?[A-Za-z0-9_.-]+)\s*=\s*(:[A-Za-z0-9_]+)")
_SINGLE_ITEM_ACTIONS = ("GetItem", "PutItem", "UpdateItem", "DeleteItem")


def dynamodb_leading_keys(response: Any) -> list[str] | None:
    """``dynamodb:LeadingKeys``: the partition key values a single-table item call or Query names
    (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/specifying-conditions.html).
    None when the call names none (a Scan, a table operation): IAM then has no value for the key."""
    from moto.dynamodb.models import dynamodb_backends

    action = response._get_action()
    params = _params(response)
    table_name = params.get("TableName")
    if not table_name or (action != "Query" and action not in _SINGLE_ITEM_ACTIONS):
        return None
    try:
        table = dynamodb_backends[response.current_account][response.region].get_table(table_name)
    except Exception:  # noqa: BLE001 - a missing table is the action's to report
        return None
    hash_key = table.hash_key_attr
    if action in _SINGLE_ITEM_ACTIONS:
        key = (params.get("Item") if action == "PutItem" else params.get("Key")) or {}
        value = key.get(hash_key)
        return [str(next(iter(value.values())))] if isinstance(value, dict) and value else None
    names = params.get("ExpressionAttributeNames") or {}
    values = params.get("ExpressionAttributeValues") or {}
    for name, placeholder in _KEY_CONDITION.findall(params.get("KeyConditionExpression") or ""):
        if names.get(name, name) == hash_key and isinstance(values.get(placeholder), dict):
            return [str(next(iter(values[placeholder].values())))]
    legacy = (params.get("KeyConditions") or {}).get(hash_key) or {}
    listed = legacy.get("AttributeValueList") or []
    return [str(next(iter(listed[0].values())))] if listed else None


# --- SNS --------------------------------------------------------------------------------------------


def sns_requirements(response: Any) -> list[Requirement] | None:
    action = response._get_action()
    params = _params(response)
    if action == "CreateTopic" and params.get("Name"):
        return [("sns:CreateTopic", f"{_prefix(response, 'sns')}:{params['Name']}")]
    topic_arn = params.get("TopicArn")
    if action == "Publish" and not topic_arn and ":sns:" in str(params.get("TargetArn") or ""):
        target = str(params["TargetArn"])
        topic_arn = target if target.count(":") == 5 else None  # a topic, not a platform endpoint
    if not topic_arn:
        return None
    needed = [(f"sns:{action}", topic_arn)]
    if action in ("Publish", "PublishBatch"):
        _, _, _, region, account, _ = topic_arn.split(":", 5)
        try:
            topic = sns_backends[account][region].topics.get(topic_arn)
        except Exception:  # noqa: BLE001
            topic = None
        key = getattr(topic, "kms_master_key_id", None)
        needed += _kms(key, account, region, ("kms:GenerateDataKey", "kms:Decrypt"))
    return needed


# --- SQS --------------------------------------------------------------------------------------------

_SQS_BATCH = {
    "SendMessageBatch": "SendMessage",
    "DeleteMessageBatch": "DeleteMessage",
    "ChangeMessageVisibilityBatch": "ChangeMessageVisibility",
}
_SQS_KMS = {
    "SendMessage": ("kms:GenerateDataKey", "kms:Decrypt"),
    "ReceiveMessage": ("kms:Decrypt",),
}


def _queue(response: Any, params: dict[str, Any]) -> tuple[str, str] | None:
    """(account, queue name) of the call."""
    url = params.get("QueueUrl")
    if url:
        if url.startswith(("http://", "https://")):
            parts = [p for p in urlparse(url).path.split("/") if p]
            if len(parts) >= 2:
                return parts[-2], parts[-1]
            return None
        return response.current_account, url
    name = params.get("QueueName")
    if name:
        return str(params.get("QueueOwnerAWSAccountId") or response.current_account), name
    return None


def sqs_requirements(response: Any) -> list[Requirement] | None:
    action = response._get_action()
    found = _queue(response, _params(response))
    if found is None:
        return None
    account, name = found
    region = response.region
    iam_action = _SQS_BATCH.get(action, action)
    needed = [(f"sqs:{iam_action}", f"{_prefix(response, 'sqs', account)}:{name}")]
    if iam_action in _SQS_KMS:
        try:
            key = getattr(sqs_backends[account][region].get_queue(name), "kms_master_key_id", None)
        except Exception:  # noqa: BLE001 - a missing queue: the call itself reports it
            key = None
        needed += _kms(key, account, region, _SQS_KMS[iam_action])
    return needed


# --- STS --------------------------------------------------------------------------------------------


def sts_requirements(response: Any) -> list[Requirement] | None:
    if response._get_action() != "AssumeRole":
        return None
    role_arn = _params(response).get("RoleArn")
    return [("sts:AssumeRole", role_arn)] if role_arn else None


# --- SSM Parameter Store ---------------------------------------------------------------------------


def _parameter_arn(response: Any, name: str) -> str:
    return f"{_prefix(response, 'ssm')}:parameter/{name.lstrip('/')}"


def ssm_requirements(response: Any) -> list[Requirement] | None:
    """The parameter reads, each authorized as AWS documents: GetParameter(s)/GetParameterHistory against
    every parameter named, GetParametersByPath against the path itself, not the parameters it returns
    (https://docs.aws.amazon.com/systems-manager/latest/userguide/ps-retrieval-authorization.html)."""
    action = response._get_action()
    name, names, path = (response._get_param(key) for key in ("Name", "Names", "Path"))  # JSON body
    if action in ("GetParameter", "GetParameterHistory") and name:
        return [(f"ssm:{action}", _parameter_arn(response, str(name).split(":")[0]))]
    if action == "GetParameters" and names:
        return [("ssm:GetParameters", _parameter_arn(response, str(n).split(":")[0])) for n in names]
    if action == "GetParametersByPath" and path:
        return [("ssm:GetParametersByPath", _parameter_arn(response, str(path)))]
    return None


# --- Application Auto Scaling ----------------------------------------------------------------------


def autoscaling_requirements(response: Any) -> list[Requirement] | None:
    """DescribeScalableTargets has no resource-level permissions (``*``); RegisterScalableTarget is
    authorized against the scalable target's ARN when it updates a registered target, else against
    ``*`` (https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsapplicationautoscaling.html)."""
    from moto.applicationautoscaling.models import applicationautoscaling_backends

    action = response._get_action()
    if action == "DescribeScalableTargets":
        return [("application-autoscaling:DescribeScalableTargets", "*")]
    if action != "RegisterScalableTarget":
        return None
    resource_id, dimension = response._get_param("ResourceId"), response._get_param("ScalableDimension")
    backend = applicationautoscaling_backends[response.current_account][response.region]
    target = (backend.targets.get(dimension) or {}).get(resource_id)
    return [("application-autoscaling:RegisterScalableTarget", target.arn if target is not None else "*")]


def autoscaling_context(response: Any) -> dict[str, list[str]]:
    """``application-autoscaling:service-namespace`` and ``:scalable-dimension`` of a request that names them."""
    context = {}
    for key, param in (
        ("service-namespace", "ServiceNamespace"),
        ("scalable-dimension", "ScalableDimension"),
    ):
        value = response._get_param(param)
        if value:
            context[f"application-autoscaling:{key}"] = [str(value)]
    return context


# --- ECR ----------------------------------------------------------------------------------------------

# image pulls and pushes on one repository, authorized on its ARN (registryId: the repository's account)
_ECR_REPOSITORY_ACTIONS = {
    "BatchGetImage",
    "GetDownloadUrlForLayer",
    "BatchCheckLayerAvailability",
    "PutImage",
    "InitiateLayerUpload",
    "UploadLayerPart",
    "CompleteLayerUpload",
    "DescribeImages",
    "ListImages",
}


def ecr_requirements(response: Any) -> list[Requirement] | None:
    """The repository-level actions on ``repository/<name>`` of ``registryId`` (default: the caller's
    account), as the Service Authorization Reference lists them for ECR
    (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonelasticcontainerregistry.html).
    ``GetAuthorizationToken`` and the rest keep moto's check."""
    action = response._get_action()
    name = response._get_param("repositoryName")
    if action not in _ECR_REPOSITORY_ACTIONS or not name:
        return None
    account = response._get_param("registryId") or response.current_account
    return [(f"ecr:{action}", f"{_prefix(response, 'ecr', str(account))}:repository/{name}")]


def _account_of(role_arn: str) -> str | None:
    m = re.match(r"^arn:[^:]+:iam::(\d{12}):role/", role_arn)
    return m.group(1) if m else None


def trust_denial(role_arn: str, caller_arn: str, context: dict[str, list[str]]) -> str | None:
    """The role's trust policy must name the caller.

    AWS evaluates the target role's trust policy for every AssumeRole (same-account and cross-account)
    with the caller as principal and the request's global keys, ``aws:PrincipalOrgID`` included
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html).
    moto checked it only for a role of the caller's own account. None when trusted, else AWS's message.
    """
    m = re.match(r"^arn:([^:]+):iam::(\d{12}):role/", role_arn)
    if m is None:
        return None  # not a role ARN: the call itself rejects it
    message = f"User: {caller_arn} is not authorized to perform: sts:AssumeRole on resource: {role_arn}"
    try:
        role = iam_backends[m.group(2)][m.group(1)].get_role_by_arn(role_arn)
    except Exception:  # noqa: BLE001 - AWS answers AccessDenied for a role that does not exist
        return message
    caller_account = (context.get("aws:PrincipalAccount") or [""])[0]
    full = {**context, **organizations.context_of(caller_account)}
    decision = policy.evaluate(
        [role.assume_role_policy_document],
        "sts:AssumeRole",
        role_arn,
        full,
        caller=(caller_arn, caller_account),
    )
    return None if decision is policy.Decision.ALLOW else message


# --- CloudWatch ----------------------------------------------------------------------------------


def cloudwatch_requirements(response: Any) -> list[Requirement] | None:
    """``PutMetricAlarm`` on the alarm it names, ``DeleteAlarms`` on each alarm (the deployer's
    new-fleet rollback alarms are allowed by name prefix)."""
    action = response._get_action()
    prefix = f"{_prefix(response, 'cloudwatch')}:alarm"
    if action == "PutMetricAlarm":
        name = response._get_param("AlarmName")
        return [("cloudwatch:PutMetricAlarm", f"{prefix}:{name}")] if name else None
    if action == "DeleteAlarms":
        names = response._get_param("AlarmNames", []) or []
        return [("cloudwatch:DeleteAlarms", f"{prefix}:{n}") for n in names] or None
    return None


# --- enforcement ------------------------------------------------------------------------------------


class _QueryAccessDenied(AccessDeniedError):
    """HTTP 403 with an XML error body (query-protocol services)."""

    def __init__(self, error_type: str, message: str) -> None:  # noqa: D107
        super(AccessDeniedError, self).__init__(error_type, message)


def _denied(service: str, message: str) -> Exception:
    if service in ("dynamodb", "ssm", "application-autoscaling", "ecr"):
        return JsonRESTError("AccessDeniedException", message)  # HTTP 400
    if service == "sqs":
        error = JsonRESTError("AccessDenied", message)
        error.code = 403
        return error
    return _QueryAccessDenied("AuthorizationError" if service == "sns" else "AccessDenied", message)


def _role_exists(role_arn: str) -> bool:
    from moto.iam.models import iam_backends

    match = re.match(r"^arn:([^:]+):iam::(\d{12}):role/", role_arn)
    if not match:
        return True  # not a role ARN: moto's own validation answers
    partition, account = match.groups()
    backend = iam_backends[account][partition]
    return any(role.arn == role_arn for role in backend.roles.values())


class _ResourceIAMRequest(IAMRequest):
    response: Any
    requirements: Requirements
    service: str

    def check_action_permitted(self, resource: str) -> None:
        try:
            needed = self.requirements(self.response)
        except Exception:  # noqa: BLE001 - a malformed request is the action's to reject
            needed = None
        if needed is None:
            super().check_action_permitted(resource)
            return
        caller_arn = self._access_key.arn
        docs = [IAMPolicy(p)._policy_json for p in self._access_key.collect_policies()]
        context = base_context(self.response, caller_arn)
        if self.service == "dynamodb":
            leading = dynamodb_leading_keys(self.response)
            if leading is not None:
                context["dynamodb:LeadingKeys"] = leading
        if self.service == "application-autoscaling":
            context.update(autoscaling_context(self.response))
        if self._action == "sts:AssumeRole":
            context.update(role_resource_context(needed[0][1]))
        for action, target in needed:
            message = denial(docs, action, target, context, caller_arn)
            if message is not None:
                raise _denied(self.service, message)
        if self._action == "sts:AssumeRole":
            target = needed[0][1]
            if not _role_exists(target):
                # moto hands out credentials for any role ARN, and every call with them then fails
                # with an HTML 500; AWS refuses the AssumeRole itself with AccessDenied.
                raise _denied(
                    "sts",
                    f"User: {caller_arn} is not authorized to perform: sts:AssumeRole on resource: {target}",
                )
            if _account_of(target) == self.response.current_account:
                # same account: moto's own check, as before (it denies a trust of the account root,
                # which AWS allows; local/EMULATION.md lists it; the CDK CLI then deploys with the
                # account's admin credentials instead of its bootstrap roles)
                if self._is_assuming_role_operation(target) and not self._check_role_trust_relationship(
                    target
                ):
                    self._raise_access_denied()
                return
            message = trust_denial(target, caller_arn, context)
            if message is not None:
                raise _denied(self.service, message)


def role_resource_context(role_arn: str) -> dict[str, list[str]]:
    """``aws:ResourceAccount`` (the role's account) and, when that account is in an organization,
    ``aws:ResourceOrgID`` of an ``sts:AssumeRole``: AWS sets them for the role being assumed, so an
    identity policy can allow assuming a role name in any account of a list or of the organization
    (https://aws.amazon.com/about-aws/whats-new/2022/04/iam-access-resource-organization/,
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html)."""
    account = _account_of(role_arn)
    if account is None:
        return {}
    context = {"aws:ResourceAccount": [account]}
    org = organizations.organization_of(account)
    if org:
        context["aws:ResourceOrgID"] = [org]
    return context


def _authorizer(service: str, requirements: Requirements) -> Callable[..., None]:
    def authorize(self: Any, resource: str = "*") -> None:
        response = self

        def make_request(**kwargs: Any) -> _ResourceIAMRequest:
            request = _ResourceIAMRequest(**kwargs)
            request.response, request.requirements, request.service = response, requirements, service
            return request

        self._authenticate_and_authorize_action(make_request, resource)

    return authorize


_SERVICES: list[tuple[type, str, Requirements]] = [
    (DynamoHandler, "dynamodb", dynamodb_requirements),
    (SNSResponse, "sns", sns_requirements),
    (SQSResponse, "sqs", sqs_requirements),
    (TokenResponse, "sts", sts_requirements),
    (SimpleSystemManagerResponse, "ssm", ssm_requirements),
    (CloudWatchResponse, "cloudwatch", cloudwatch_requirements),
    (ApplicationAutoScalingResponse, "application-autoscaling", autoscaling_requirements),
    (ECRResponse, "ecr", ecr_requirements),
]


def install() -> None:
    for cls, service, requirements in _SERVICES:
        setattr(cls, "_authenticate_and_authorize_normal_action", _authorizer(service, requirements))  # noqa: B010


__all__ = [
    "dynamodb_leading_keys",
    "cloudwatch_requirements",
    "dynamodb_requirements",
    "ecr_requirements",
    "install",
    "sns_requirements",
    "sqs_requirements",
    "ssm_requirements",
    "sts_requirements",
]
