"""The deployer Lambda: consumes the trigger queue and reconciles managed endpoints (DESIGN section 3)."""

from __future__ import annotations

import atexit
import json
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from cdk_nag import NagSuppressions
from constructs import Construct

from stacks.constructs.names import DEPLOYER_FUNCTION_NAME, DEPLOYER_ROLE_NAME

LAMBDAS_DIR = Path(__file__).resolve().parents[2] / "lambdas"
TIMEOUT = Duration.seconds(60)
DEPLOYMENTS_FILE = "deployments.json"


def stage_code(deployments_json: str) -> str:
    """A code directory: the deployer package plus its deployments file. Lambda caps environment variables
    at 4 KB (about six deployments), so the deployments ship with the code instead; the asset hash covers
    both, so a config change deploys new code. No Docker: plain files."""
    staging = Path(tempfile.mkdtemp(prefix="mlops-deployer-code-"))
    atexit.register(shutil.rmtree, staging, ignore_errors=True)
    shutil.copytree(
        LAMBDAS_DIR / "deployer",
        staging / "deployer",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".mypy_cache"),
    )
    (staging / DEPLOYMENTS_FILE).write_text(deployments_json)
    return str(staging)


class DeployerFunction(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        deployments: Sequence[dict[str, Any]],
        queue: sqs.IQueue,
        ledger: dynamodb.ITableV2,
        topic: sns.ITopic,
        registry_account: str,
    ) -> None:
        super().__init__(scope, construct_id)
        deployments_json = json.dumps(list(deployments), indent=1, sort_keys=True)
        self.role = iam.Role(
            self,
            "Role",
            role_name=DEPLOYER_ROLE_NAME,  # fixed: serving accounts trust it by name
            description="Central model deployer: reconciles managed endpoints with the registry",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
        )
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            log_group_name=f"/aws/lambda/{DEPLOYER_FUNCTION_NAME}",
            retention=logs.RetentionDays.ONE_YEAR,
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.function = lambda_.Function(
            self,
            "Function",
            function_name=DEPLOYER_FUNCTION_NAME,
            description="Reconciles managed SageMaker endpoints with approved model versions",
            runtime=lambda_.Runtime.PYTHON_3_14,  # the latest (cdk-nag L1); the code also runs on 3.11
            architecture=lambda_.Architecture.ARM_64,
            handler="deployer.handler.handler",
            code=lambda_.Code.from_asset(stage_code(deployments_json)),
            role=self.role,
            timeout=TIMEOUT,
            memory_size=256,
            log_group=self.log_group,
            environment={
                "LEDGER_TABLE": ledger.table_name,
                "TOPIC_ARN": topic.topic_arn,
                "REGISTRY_ACCOUNT": registry_account,
                "DEPLOYMENTS_FILE": DEPLOYMENTS_FILE,
                # the sweep fans out: one message per endpoint to this same queue
                "QUEUE_URL": queue.queue_url,
            },
        )
        self.function.add_event_source(
            sources.SqsEventSource(
                queue,
                batch_size=10,
                max_batching_window=Duration.seconds(1),
                report_batch_item_failures=True,
                max_concurrency=2,
            )
        )
        # CDK makes the function depend on both the role and its policy; the role dependency is already
        # implied by the GetAtt of its ARN (cfn-lint W3005), so keep only the policy's.
        cfn_function = self.function.node.default_child
        assert isinstance(cfn_function, lambda_.CfnFunction)
        cfn_function.add_override("DependsOn", [self._policy_logical_id()])
        # The role has no managed policy (no AWSLambdaBasicExecutionRole): without this grant the function
        # could not write a single log line (issue 9, finding 9). Only its own log group.
        self.log_group.grant_write(self.role)
        ledger.grant(self.role, "dynamodb:PutItem", "dynamodb:Query")
        # the sweep's fan-out: SendMessage to its own queue (SSE-KMS also needs GenerateDataKey; the
        # consumer grant above already gives kms:Decrypt). Exact, to keep the policy small; the KMS
        # action as the topic's publish grant names it on the same key, so both merge into one.
        self.role.add_to_policy(
            # no Sid: merged into the consumer's statement on the same queue (policy size budget)
            iam.PolicyStatement(actions=["sqs:SendMessage"], resources=[queue.queue_arn])
        )
        if queue.encryption_master_key is not None:
            queue.encryption_master_key.grant(self.role, "kms:GenerateDataKey*")
        topic.grant_publish(self.role)
        self.errors_alarm = cloudwatch.Alarm(
            self,
            "ErrorsAlarm",
            alarm_name="mlops-deployer-errors",
            alarm_description="The deployer function failed; events are retried and end in the DLQ",
            metric=self.function.metric_errors(period=Duration.minutes(5), statistic="Sum"),
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        self.errors_alarm.add_alarm_action(actions.SnsAction(topic))

    def _policy_logical_id(self) -> str:
        policy = self.role.node.try_find_child("DefaultPolicy")
        assert policy is not None, "the role has a default policy once the event source is added"
        return Stack.of(self).get_logical_id(policy.node.default_child)  # type: ignore[arg-type]

    def allow_registry_reads(self) -> None:
        """Versions of every group of the registry: one statement whatever the number of groups (every
        principal of the organization may discover them anyway; the deployer only reads)."""
        stack = Stack.of(self)
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="ReadRegisteredVersions",
                actions=["sagemaker:ListModelPackages", "sagemaker:DescribeModelPackage"],
                resources=[
                    stack.format_arn(service="sagemaker", resource="model-package", resource_name="*")
                ],
            )
        )

    def allow_assume(self, role_name: str, accounts: Sequence[str], organization_id: str | None) -> None:
        """sts:AssumeRole on the role ``role_name`` of the serving ``accounts``, in one statement whose size
        does not grow with them when there is an organization: the role name is exact, the account is `*`
        narrowed by ``aws:ResourceOrgID`` (AWS sets the assumed role's account and organization for
        sts:AssumeRole: https://aws.amazon.com/about-aws/whats-new/2022/04/iam-access-resource-organization/,
        https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html). Without an
        organization, ``aws:ResourceAccount`` lists the accounts (15 characters each instead of a
        54-character role ARN). Each deploy-access role still trusts only this role."""
        if not accounts:
            return
        stack = Stack.of(self)
        any_account_role = stack.format_arn(
            service="iam", region="", account="*", resource="role", resource_name=role_name
        )
        where = (
            {"aws:ResourceOrgID": organization_id}
            if organization_id
            else {"aws:ResourceAccount": sorted(set(accounts))}
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="AssumeDeployAccess",
                actions=["sts:AssumeRole"],
                resources=[any_account_role],
                conditions={"StringEquals": where},
            )
        )
        NagSuppressions.add_resource_suppressions(
            self.role,
            [
                {
                    "id": "AwsSolutions-IAM5",
                    "reason": f"sts:AssumeRole on the role named {role_name} only, in the accounts the condition "
                    "allows (aws:ResourceOrgID / aws:ResourceAccount): one statement for any number of "
                    "serving accounts; each of those roles trusts only the deployer's role.",
                    "applies_to": [f"Resource::arn:<AWS::Partition>:iam::*:role/{role_name}"],
                }
            ],
            apply_to_children=True,
        )

    def add_statements(self, statements: Sequence[iam.PolicyStatement]) -> None:
        for statement in statements:
            self.role.add_to_policy(statement)

    def acknowledge_wildcards(self, reasons: Sequence[dict[str, Any]]) -> None:
        NagSuppressions.add_resource_suppressions(self.role, list(reasons), apply_to_children=True)
