"""CloudFormation handlers for resource types moto 5.2.5 skips, used by this project's stacks.

moto finds handlers among the *direct* subclasses of ``CloudFormationModel`` keyed by
``cloudformation_type()``, through lists cached with ``lru_cache``: :func:`install` imports this
module and clears those caches. Each handler applies its resource to the service backend where
moto has one (a queue's Policy attribute, a bucket policy, a bus policy statement, an SNS topic
policy or subscription, a CloudWatch alarm, a model package group and its resource policy) and is
listed in the stack's resources either way.
"""

from __future__ import annotations

import json
from typing import Any

from moto.cloudformation import parsing
from moto.cloudformation.exceptions import CloudFormationError, UnformattedGetAttTemplateException
from moto.cloudformation.exceptions import ValidationError as CfnValidationError
from moto.cloudformation.models import CloudFormationBackend
from moto.cloudformation.responses import CloudFormationResponse
from moto.cloudwatch.models import Dimension, Metric, MetricDataQuery, MetricStat, cloudwatch_backends
from moto.core.common_models import CloudFormationModel
from moto.core.responses import EmptyResult
from moto.dynamodb.models import dynamodb_backends
from moto.events.models import events_backends
from moto.kms.models import Key as KmsKey
from moto.logs.models import LogGroup, logs_backends
from moto.s3.models import s3_backends
from moto.sagemaker.models import sagemaker_backends
from moto.scheduler.models import scheduler_backends
from moto.sns.models import sns_backends
from moto.sqs.models import sqs_backends
from moto.utilities.utils import get_partition


def _json(doc: Any) -> str:
    return doc if isinstance(doc, str) else json.dumps(doc)


class _Handler:
    """Shared behaviour: keep the properties, replace on update, delete via ``delete``."""

    def __init__(self, name: str, properties: dict[str, Any], account_id: str, region_name: str) -> None:
        self.name = name
        self.properties = properties
        self.account_id = account_id
        self.region_name = region_name

    @property
    def physical_resource_id(self) -> str:
        return self.name

    def apply(self) -> None:
        """Make the resource real in moto's backends."""

    def delete(self, account_id: str, region_name: str) -> None:
        """Undo :meth:`apply` (best effort: a resource already gone is fine)."""

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> Any:
        resource = cls(resource_name, cloudformation_json.get("Properties", {}), account_id, region_name)
        resource.apply()
        return resource

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[misc]
        cls,
        original_resource: Any,
        new_resource_name: str,
        cloudformation_json: Any,
        account_id: str,
        region_name: str,
    ) -> Any:
        original_resource.delete(account_id, region_name)
        return cls.create_from_cloudformation_json(
            new_resource_name, cloudformation_json, account_id, region_name
        )

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return False


class ModelPackageGroupResource(_Handler, CloudFormationModel):
    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::SageMaker::ModelPackageGroup"

    @staticmethod
    def cloudformation_name_type() -> str:
        return "ModelPackageGroupName"

    @property
    def backend(self) -> Any:
        return sagemaker_backends[self.account_id][self.region_name]

    @property
    def group(self) -> Any:
        return self.backend.model_package_groups.get(self.name)

    @property
    def physical_resource_id(self) -> str:
        return str(self.group.arn)  # Ref returns the group's ARN

    def apply(self) -> None:
        props = self.properties
        if self.group is None:
            self.backend.create_model_package_group(
                model_package_group_name=self.name,
                model_package_group_description=props.get("ModelPackageGroupDescription"),
                tags=props.get("Tags"),
            )
        policy = props.get("ModelPackageGroupPolicy")
        self.group.resource_policy = _json(policy) if policy else None

    def delete(self, account_id: str, region_name: str) -> None:
        in_use = any(p.model_package_group_name == self.name for p in self.backend.model_packages.values())
        if self.group is not None and not in_use:  # AWS refuses to delete a group with versions
            del self.backend.model_package_groups[self.name]

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> Any:
        """A named resource whose name is taken fails to create, as in CloudFormation (a retained group
        stays in the account: creating it again in a template fails until it is imported or deleted)."""
        name = cloudformation_json.get("Properties", {}).get("ModelPackageGroupName", resource_name)
        if name in sagemaker_backends[account_id][region_name].model_package_groups:
            raise CfnValidationError(
                resource_name, message=f"Model package group {name} already exists (AlreadyExists)"
            )
        return super().create_from_cloudformation_json(
            resource_name, cloudformation_json, account_id, region_name, **kwargs
        )

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[misc]
        cls,
        original_resource: Any,
        new_resource_name: str,
        cloudformation_json: Any,
        account_id: str,
        region_name: str,
    ) -> Any:
        replaced = new_resource_name != original_resource.name
        if replaced and cloudformation_json.get("UpdateReplacePolicy") not in _RETAIN:
            original_resource.delete(account_id, region_name)
        resource = cls(new_resource_name, cloudformation_json.get("Properties", {}), account_id, region_name)
        resource.apply()
        resource.group.model_package_group_description = resource.properties.get(
            "ModelPackageGroupDescription"
        )
        return resource

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in ("ModelPackageGroupArn", "CreationTime", "ModelPackageGroupStatus")

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        if attribute_name == "ModelPackageGroupArn":
            return self.group.arn
        if attribute_name == "CreationTime":
            return str(self.group.creation_time)
        if attribute_name == "ModelPackageGroupStatus":
            return self.group.model_package_group_status
        raise UnformattedGetAttTemplateException()


class QueuePolicyResource(_Handler, CloudFormationModel):
    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::SQS::QueuePolicy"

    def _set(self, policy: str) -> None:
        backend = sqs_backends[self.account_id][self.region_name]
        for url in self.properties.get("Queues", []):
            name = url.rstrip("/").split("/")[-1]
            if name in backend.queues:
                backend.set_queue_attributes(name, {"Policy": policy})

    def apply(self) -> None:
        self._set(_json(self.properties.get("PolicyDocument", {})))

    def delete(self, account_id: str, region_name: str) -> None:
        self._set("")


class BucketPolicyResource(_Handler, CloudFormationModel):
    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::S3::BucketPolicy"

    @property
    def backend(self) -> Any:
        return s3_backends[self.account_id][get_partition(self.region_name)]

    def apply(self) -> None:
        bucket = self.properties.get("Bucket")
        if bucket in self.backend.buckets:
            self.backend.put_bucket_policy(bucket, _json(self.properties.get("PolicyDocument", {})).encode())

    def delete(self, account_id: str, region_name: str) -> None:
        bucket = self.properties.get("Bucket")
        if bucket in self.backend.buckets:
            self.backend.delete_bucket_policy(bucket)


class EventBusPolicyResource(_Handler, CloudFormationModel):
    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Events::EventBusPolicy"

    @property
    def physical_resource_id(self) -> str:
        return str(self.properties.get("StatementId", self.name))

    def _bus(self) -> Any:
        backend = events_backends[self.account_id][self.region_name]
        return backend.describe_event_bus(self.properties.get("EventBusName") or "default")

    def apply(self) -> None:
        props = self.properties
        bus = self._bus()
        statement = dict(props.get("Statement") or {})
        if not statement:  # the older Action/Principal/Condition form
            principal = props.get("Principal", "*")
            statement = {
                "Effect": "Allow",
                "Action": props.get("Action", "events:PutEvents"),
                "Principal": principal if principal == "*" else {"AWS": f"arn:aws:iam::{principal}:root"},
            }
            if props.get("Condition"):
                condition = props["Condition"]
                statement["Condition"] = {"StringEquals": {condition["Key"]: condition["Value"]}}
        statement.setdefault("Resource", bus.arn)
        statement["Sid"] = self.physical_resource_id
        bus._statements.pop(statement["Sid"], None)
        bus.add_policy({"Statement": [statement]})

    def delete(self, account_id: str, region_name: str) -> None:
        self._bus().remove_statement(self.physical_resource_id)


class TopicPolicyResource(_Handler, CloudFormationModel):
    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::SNS::TopicPolicy"

    def _set(self, policy: str) -> None:
        backend = sns_backends[self.account_id][self.region_name]
        for arn in self.properties.get("Topics", []):
            if arn in backend.topics:
                backend.set_topic_attribute(arn, "policy", policy)

    def apply(self) -> None:
        self._set(_json(self.properties.get("PolicyDocument", {})))

    def delete(self, account_id: str, region_name: str) -> None:
        """The topic keeps its last policy (moto has no default policy to restore)."""


class SubscriptionResource(_Handler, CloudFormationModel):
    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::SNS::Subscription"

    arn: str = ""

    @property
    def physical_resource_id(self) -> str:
        return self.arn or self.name

    def apply(self) -> None:
        props = self.properties
        backend = sns_backends[self.account_id][self.region_name]
        subscription = backend.subscribe(props["TopicArn"], props.get("Endpoint", ""), props["Protocol"])
        self.arn = subscription.arn
        for key in ("RawMessageDelivery", "FilterPolicy", "RedrivePolicy"):
            if key in props:
                value = props[key] if isinstance(props[key], str) else json.dumps(props[key])
                backend.set_subscription_attributes(
                    self.arn, key, str(value).lower() if key == "RawMessageDelivery" else value
                )

    def delete(self, account_id: str, region_name: str) -> None:
        backend = sns_backends[self.account_id][self.region_name]
        if self.arn in backend.subscriptions:
            backend.unsubscribe(self.arn)


def _metric_stat(stat: Any) -> MetricStat | None:
    if not stat:
        return None
    metric: Any = stat.get("Metric", {})
    dims = [Dimension(name=d["Name"], value=d["Value"]) for d in metric.get("Dimensions", [])]
    return MetricStat(
        metric=Metric(
            metric_name=metric.get("MetricName"), namespace=metric.get("Namespace"), dimensions=dims
        ),
        period=stat.get("Period"),
        stat=stat.get("Stat"),
        unit=stat.get("Unit"),
    )


class AlarmResource(_Handler, CloudFormationModel):
    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::CloudWatch::Alarm"

    @staticmethod
    def cloudformation_name_type() -> str:
        return "AlarmName"

    def apply(self) -> None:
        p = self.properties
        queries = [
            MetricDataQuery(
                query_id=m["Id"],
                label=m.get("Label"),
                period=m.get("Period"),
                return_data=m.get("ReturnData"),
                expression=m.get("Expression"),
                metric_stat=_metric_stat(m.get("MetricStat")),
            )
            for m in p.get("Metrics", [])
        ]
        alarm: dict[str, Any] = dict(
            name=self.name,
            namespace=p.get("Namespace"),
            metric_name=p.get("MetricName"),
            comparison_operator=p["ComparisonOperator"],
            evaluation_periods=int(p["EvaluationPeriods"]),
            period=int(p["Period"]) if p.get("Period") else None,
            threshold=float(p["Threshold"]) if p.get("Threshold") is not None else None,
            statistic=p.get("Statistic"),
            description=p.get("AlarmDescription"),
            dimensions=p.get("Dimensions", []),
            alarm_actions=p.get("AlarmActions", []),
            metric_data_queries=queries or None,
            datapoints_to_alarm=int(p["DatapointsToAlarm"]) if p.get("DatapointsToAlarm") else None,
            extended_statistic=p.get("ExtendedStatistic"),
            ok_actions=p.get("OKActions", []),
            insufficient_data_actions=p.get("InsufficientDataActions", []),
            unit=p.get("Unit"),
            actions_enabled=str(p.get("ActionsEnabled", True)).lower() == "true",
            treat_missing_data=p.get("TreatMissingData"),
        )
        cloudwatch_backends[self.account_id][self.region_name].put_metric_alarm(**alarm)

    def delete(self, account_id: str, region_name: str) -> None:
        cloudwatch_backends[self.account_id][self.region_name].delete_alarms([self.name])

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr == "Arn"

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        if attribute_name == "Arn":
            return cloudwatch_backends[self.account_id][self.region_name].alarms[self.name].alarm_arn
        raise UnformattedGetAttTemplateException()


class GlobalTableResource(_Handler, CloudFormationModel):
    """``AWS::DynamoDB::GlobalTable`` (CDK's ``TableV2``): the replica of the stack's region, as a
    table of moto's DynamoDB (other regions' replicas are not created). ``Ref`` = table name."""

    retain = False

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::DynamoDB::GlobalTable"

    @staticmethod
    def cloudformation_name_type() -> str:
        return "TableName"

    @property
    def backend(self) -> Any:
        return dynamodb_backends[self.account_id][self.region_name]

    @property
    def table(self) -> Any:
        return self.backend.tables[self.name]

    def apply(self) -> None:
        p = self.properties
        replicas: list[dict[str, Any]] = p.get("Replicas", [])
        replica = next((r for r in replicas if r.get("Region") == self.region_name), {})
        if self.name in self.backend.tables:
            return
        self.backend.create_table(
            name=self.name,
            schema=p["KeySchema"],
            throughput=None,
            attr=p.get("AttributeDefinitions", []),
            global_indexes=p.get("GlobalSecondaryIndexes", []),
            indexes=p.get("LocalSecondaryIndexes", []),
            streams=p.get("StreamSpecification"),
            billing_mode="PAY_PER_REQUEST"
            if p.get("BillingMode", "PAY_PER_REQUEST") == "PAY_PER_REQUEST"
            else "PROVISIONED",
            sse_specification=p.get("SSESpecification"),
            tags=replica.get("Tags", []),
            deletion_protection_enabled=bool(replica.get("DeletionProtectionEnabled", False)),
            warm_throughput=None,
        )

    def delete(self, account_id: str, region_name: str) -> None:
        if not self.retain and self.name in self.backend.tables:
            self.table.deletion_protection_enabled = False
            self.backend.delete_table(self.name)

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> Any:
        resource = super().create_from_cloudformation_json(
            resource_name, cloudformation_json, account_id, region_name, **kwargs
        )
        resource.retain = cloudformation_json.get("DeletionPolicy") == "Retain"
        return resource

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[misc]
        cls,
        original_resource: Any,
        new_resource_name: str,
        cloudformation_json: Any,
        account_id: str,
        region_name: str,
    ) -> Any:
        replaced = new_resource_name != original_resource.name
        if replaced and cloudformation_json.get("UpdateReplacePolicy") not in _RETAIN:
            original_resource.delete(account_id, region_name)
        return cls.create_from_cloudformation_json(
            new_resource_name, cloudformation_json, account_id, region_name
        )

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in ("Arn", "StreamArn")

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        if attribute_name == "Arn":
            return self.table.table_arn
        if attribute_name == "StreamArn" and self.table.latest_stream_label:
            return f"{self.table.table_arn}/stream/{self.table.latest_stream_label}"
        raise UnformattedGetAttTemplateException()


class PipelineResource(_Handler, CloudFormationModel):
    """``AWS::SageMaker::Pipeline``: the pipeline is created and described; its steps never run."""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::SageMaker::Pipeline"

    @staticmethod
    def cloudformation_name_type() -> str:
        return "PipelineName"

    @property
    def backend(self) -> Any:
        return sagemaker_backends[self.account_id][self.region_name]

    def apply(self) -> None:
        props = self.properties
        definition = props.get("PipelineDefinition", {})
        self.backend.create_pipeline(
            pipeline_name=self.name,
            pipeline_display_name=props.get("PipelineDisplayName") or self.name,
            pipeline_definition=definition.get("PipelineDefinitionBody"),
            pipeline_definition_s3_location=definition.get("PipelineDefinitionS3Location"),
            pipeline_description=props.get("PipelineDescription"),
            role_arn=props["RoleArn"],
            tags=props.get("Tags") or [],
            parallelism_configuration=props.get("ParallelismConfiguration"),
        )

    def delete(self, account_id: str, region_name: str) -> None:
        self.backend.pipelines.pop(self.name, None)


class ScheduleResource(_Handler, CloudFormationModel):
    """``AWS::Scheduler::Schedule``: stored by moto's EventBridge Scheduler; it never fires."""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Scheduler::Schedule"

    @staticmethod
    def cloudformation_name_type() -> str:
        return "Name"

    @property
    def backend(self) -> Any:
        return scheduler_backends[self.account_id][self.region_name]

    def apply(self) -> None:
        props = self.properties
        self.backend.create_schedule(
            description=props.get("Description"),
            end_date=props.get("EndDate"),
            flexible_time_window=props.get("FlexibleTimeWindow", {"Mode": "OFF"}),
            group_name=props.get("GroupName"),
            kms_key_arn=props.get("KmsKeyArn"),
            name=self.name,
            schedule_expression=props["ScheduleExpression"],
            schedule_expression_timezone=props.get("ScheduleExpressionTimezone"),
            start_date=props.get("StartDate"),
            state=props.get("State", "ENABLED"),
            target=props["Target"],
            action_after_completion=None,
        )

    def delete(self, account_id: str, region_name: str) -> None:
        self.backend.schedule_groups[self.properties.get("GroupName") or "default"].schedules.pop(
            self.name, None
        )


class CdkMetadataResource(_Handler, CloudFormationModel):
    """``AWS::CDK::Metadata``: version reporting; nothing to emulate."""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::CDK::Metadata"


HANDLED_TYPES = sorted(
    cls.cloudformation_type()
    for cls in (
        ModelPackageGroupResource,
        QueuePolicyResource,
        BucketPolicyResource,
        EventBusPolicyResource,
        TopicPolicyResource,
        SubscriptionResource,
        AlarmResource,
        GlobalTableResource,
        PipelineResource,
        ScheduleResource,
        CdkMetadataResource,
    )
)


_original_kms_key_create = KmsKey.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]


def _kms_key_create(
    cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
) -> Any:
    """``AWS::KMS::Key`` with ``Tags``: moto passed CloudFormation's ``Key``/``Value`` tags to KMS's
    tagging service, which expects ``TagKey``/``TagValue`` (a KeyError made the stack fail)."""
    props = cloudformation_json.get("Properties", {})
    tags = props.get("Tags")
    if tags:
        converted = [{"TagKey": t["Key"], "TagValue": t["Value"]} if "Key" in t else t for t in tags]
        cloudformation_json = {**cloudformation_json, "Properties": {**props, "Tags": converted}}
    return _original_kms_key_create(
        cls, resource_name, cloudformation_json, account_id, region_name, **kwargs
    )


def _kms_key_update(
    cls: Any,
    original_resource: Any,
    new_resource_name: str,
    cloudformation_json: Any,
    account_id: str,
    region_name: str,
) -> Any:
    """``AWS::KMS::Key`` changed by a stack update: the same key, with the new policy, description,
    rotation and enabled state. CloudFormation updates these properties with no interruption (same
    physical id: https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-kms-key.html,
    https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-updating-stacks-update-behaviors.html).
    moto 5.2.5 has no update handler for keys: its stack update put ``None`` in place of the key, and the
    next ``Fn::GetAtt``/``Ref`` of it failed ("Fn::GetAtt references undefined resource ArtifactsKey...").
    Properties that replace a key (``KeySpec``, ``KeyUsage``, ``MultiRegion``, ``Origin``) are not
    emulated: moto creates every key as a symmetric encryption key."""
    props = cloudformation_json.get("Properties", {})
    key = original_resource
    key.policy = props.get("KeyPolicy") or key.policy
    key.description = props.get("Description") or ""
    key.key_rotation_status = bool(props.get("EnableKeyRotation", False))
    key.enabled = bool(props.get("Enabled", True))
    return key


def _log_group_update(
    cls: Any,
    original_resource: Any,
    new_resource_name: str,
    cloudformation_json: Any,
    account_id: str,
    region_name: str,
) -> Any:
    """``AWS::Logs::LogGroup`` changed by a stack update (moto 5.2.5 has no update handler; it put
    ``None`` in the stack's resources). ``RetentionInDays`` changes in place; a new ``LogGroupName``
    replaces the group, and the old one stays when ``UpdateReplacePolicy`` is ``Retain``
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-logs-loggroup.html,
    https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-attribute-updatereplacepolicy.html)."""
    props = cloudformation_json.get("Properties", {})
    backend = logs_backends[account_id][region_name]
    name = props.get("LogGroupName", original_resource.name)
    if name != original_resource.name:
        if cloudformation_json.get("UpdateReplacePolicy") not in _RETAIN:
            original_resource.delete(account_id, region_name)
        if name in backend.groups:
            return backend.groups[name]
        return LogGroup.create_from_cloudformation_json(name, cloudformation_json, account_id, region_name)
    original_resource.set_retention_policy(props.get("RetentionInDays"))
    return original_resource


_original_parse_and_update_resource = parsing.parse_and_update_resource


def _parse_and_update_resource(
    logical_id: str, resource_json: dict[str, Any], resources_map: Any, account_id: str, region_name: str
) -> Any:
    """A resource type moto cannot update fails the update with a message that names it, instead of
    vanishing from the stack's resources (moto returned ``None``, which surfaced later as an unrelated
    "Fn::GetAtt references undefined resource" or a missing export)."""
    updated = _original_parse_and_update_resource(
        logical_id, resource_json, resources_map, account_id, region_name
    )
    if updated is None and resources_map._parsed_resources.get(logical_id) is not None:
        raise CfnValidationError(
            logical_id,
            message=f"the emulator cannot update {resource_json.get('Type')} {logical_id} "
            "(moto has no update handler for this type)",
        )
    return updated


_original_create_change_set = CloudFormationBackend.create_change_set
_original_execute_change_set = CloudFormationBackend.execute_change_set


def _create_change_set(self: CloudFormationBackend, *args: Any, **kwargs: Any) -> tuple[str, str]:
    """Change sets see the region's exports (moto gave a change set's new stack none, so every
    ``Fn::ImportValue`` of a ``cdk deploy`` failed with "No export named ...")."""
    change_set_id, stack_id = _original_create_change_set(self, *args, **kwargs)
    stack = self.stacks[stack_id]
    stack.cross_stack_resources = self.exports
    stack.resource_map.cross_stack_resources = self.exports
    return change_set_id, stack_id


def _execute_change_set(
    self: CloudFormationBackend, change_set_name: str, stack_name: str | None = None
) -> None:
    """After moto applies a change set: the stack's outputs and exports follow the new template
    (moto kept the outputs of the template the stack was created with, none for a change set)."""
    _original_execute_change_set(self, change_set_name, stack_name)
    change_set = self.change_sets.get(change_set_name) or next(
        cs for cs in self.change_sets.values() if cs.change_set_name == change_set_name
    )
    stack = self.stacks[change_set.stack_id]
    # "After you execute a change set, CloudFormation deletes any additional change sets that are associated
    # with the stack" (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-updating-stacks-changesets-execute.html)
    for other in [
        k for k, cs in self.change_sets.items() if cs.stack_id == stack.stack_id and cs is not change_set
    ]:
        del self.change_sets[other]
    old = {e.name for e in stack.exports}
    stack._parse_template()
    stack.output_map = stack._create_output_map()
    new = {e.name: e for e in stack.exports}
    for name in old - set(new):
        self.exports.pop(name, None)
    taken = {n for n, e in self.exports.items() if e.exporting_stack_id != stack.stack_id}
    clash = sorted(taken & set(new))
    if clash:
        raise CfnValidationError(stack.stack_id, message=f"Export names must be unique: {clash}")
    self.exports.update(new)


_original_delete_resource = parsing.ResourceMap._delete_resource
_RETAIN = ("Retain", "RetainExceptOnCreate")


def _delete_resource(self: parsing.ResourceMap, parsed_resource: Any, resource_json: dict[str, Any]) -> None:
    """A resource removed from the template by an update keeps a Retain DeletionPolicy, as on AWS (moto
    honoured it only when the whole stack was deleted):
    https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-attribute-deletionpolicy.html"""
    if resource_json.get("DeletionPolicy") in _RETAIN:
        return
    _original_delete_resource(self, parsed_resource, resource_json)


_original_resource_map_update = parsing.ResourceMap.update


def _resource_map_update(self: parsing.ResourceMap, template: dict[str, Any], parameters: Any = None) -> None:
    """A resource removed by an update leaves the stack: moto deleted it (or kept it, Retain) but kept its
    model in the stack's parsed resources, so adding the same logical id back later returned that stale
    model and created nothing (a team's roles, deleted when the team left the config, never came back).
    CloudFormation creates a resource added to a template
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-updating-stacks-update-behaviors.html)."""
    before = set(self._resource_json_map)
    _original_resource_map_update(self, template, parameters)
    for gone in before - set(template.get("Resources", {})):
        self._parsed_resources.pop(gone, None)


_original_parse_ssm_parameter = parsing.ResourceMap.parse_ssm_parameter


def _parse_ssm_parameter(self: parsing.ResourceMap, value: str, value_type: str) -> Any:
    """An SSM-typed parameter on a stack update: moto keeps the previous *resolved* value (the bootstrap
    version, "30") as the parameter's input and then looked it up as a parameter path, failing every second
    `cdk deploy` of a stack. AWS keeps the path and resolves it again; a value that is no parameter path
    here is that already-resolved value."""
    from moto.ssm.models import ssm_backends

    if ssm_backends[self._account_id][self._region_name].get_parameter(value) is None:
        return value
    return _original_parse_ssm_parameter(self, value, value_type)


class ChangeSetNotFound(CloudFormationError):
    code = "ChangeSetNotFound"  # the SDKs' ChangeSetNotFoundException


def _stack_scoped(original: Any, *, missing_ok: bool = False) -> Any:
    """Change set calls find the change set of the named stack. AWS names change sets per stack; moto
    matched the name alone, so with one `cdk-deploy-change-set` per stack a second `cdk deploy` deleted
    another stack's change set and waited forever for its own to go (DeleteChangeSet/DescribeChangeSet:
    https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DescribeChangeSet.html).
    ``missing_ok`` (DeleteChangeSet): deleting a change set the stack does not have succeeds; the CDK CLI
    calls it before every deploy ("Removing existing change set ... if it exists") and relies on that."""

    def method(self: CloudFormationResponse) -> Any:
        name, stack = self._get_param("ChangeSetName"), self._get_param("StackName")
        if name and stack and not str(name).startswith("arn:"):
            matches = [
                change_set_id
                for change_set_id, change_set in self.cloudformation_backend.change_sets.items()
                if change_set.change_set_name == name
                and stack in (change_set.stack_name, change_set.stack_id)
            ]
            if not matches and missing_ok:
                return EmptyResult()
            if not matches:
                raise ChangeSetNotFound(f"ChangeSet [{name}] does not exist")
            # moto's CloudFormation handlers read the parsed parameters (``params``), not the query string:
            # without both, DeleteChangeSet deleted the first change set of that name in the region (another
            # stack's), and the CLI waited forever for this stack's to go
            self.querystring["ChangeSetName"] = [matches[-1]]
            if isinstance(getattr(self, "params", None), dict):
                self.params["ChangeSetName"] = matches[-1]
        return original(self)

    return method


def install() -> None:
    """Make moto's CloudFormation see the handlers above (its subclass lists are cached)."""
    CloudFormationBackend.create_change_set = _create_change_set  # type: ignore[method-assign]
    CloudFormationBackend.execute_change_set = _execute_change_set  # type: ignore[method-assign]
    parsing.ResourceMap._delete_resource = _delete_resource  # type: ignore[method-assign]
    parsing.ResourceMap.update = _resource_map_update  # type: ignore[method-assign]
    parsing.ResourceMap.parse_ssm_parameter = _parse_ssm_parameter  # type: ignore[method-assign]
    for name in ("delete_change_set", "describe_change_set", "execute_change_set"):
        original = getattr(CloudFormationResponse, name)
        if not getattr(original, "_stack_scoped", False):
            scoped = _stack_scoped(original, missing_ok=name == "delete_change_set")
            scoped._stack_scoped = True
            setattr(CloudFormationResponse, name, scoped)
    KmsKey.create_from_cloudformation_json = classmethod(_kms_key_create)  # type: ignore[method-assign,assignment]
    KmsKey.update_from_cloudformation_json = classmethod(_kms_key_update)  # type: ignore[method-assign,assignment]
    LogGroup.update_from_cloudformation_json = classmethod(_log_group_update)  # type: ignore[method-assign,assignment]
    parsing.parse_and_update_resource = _parse_and_update_resource
    parsing.get_model_list.cache_clear()
    parsing.get_model_map.cache_clear()
    parsing.get_name_type_map.cache_clear()
