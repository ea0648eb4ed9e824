"""A team's SageMaker pipeline in the team account: train, evaluate, register into the central registry.

The pipeline definition is not built here: ``python -m pipelines.build`` builds a team-independent
template with the SageMaker SDK and checks it into ``pipelines/generated/``; this construct only
reads that JSON and fills in the team's values (see pipelines/README.md). Synth never imports the SDK.
"""

from __future__ import annotations

import re

from aws_cdk import ArnFormat, CfnOutput, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk import aws_scheduler as scheduler
from cdk_nag import NagSuppressions
from constructs import Construct

from pipelines.team_pipeline import template as t
from stacks.constructs.access_logs import access_log_bucket
from stacks.constructs.names import pipeline_name, pipeline_role_name, registration_conditions

_SCHEDULE_RE = re.compile(r"^(cron|rate)\(.+\)$")
# SageMaker Pipelines names every job it starts "pipelines-<execution id>-<step>-<suffix>".
_PIPELINE_JOB_NAMES = "pipelines-*"
_JOB_LOG_GROUPS = ("/aws/sagemaker/TrainingJobs", "/aws/sagemaker/ProcessingJobs")


class TeamPipeline(Construct):
    """``AWS::SageMaker::Pipeline`` for one team, its execution role, input bucket and optional schedule.

    The role runs the pipeline and its jobs (it passes only itself). It may read the team's input
    bucket and the evaluation and release scripts, write job outputs to the team's bucket, upload
    (write-once) under ``<team>/releases/`` of the central artifact bucket, use the central KMS key
    through S3, and create versions (``PendingManualApproval`` only)
    in the team's central model package group. The central side must grant the same role
    cross-account (bucket policy, key policy, group resource policy): see pipelines/README.md.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        team: str,
        model_package_group_arn: str,
        artifact_bucket_name: str,
        artifact_kms_key_arn: str,
        training_instance_type: str = "ml.m5.xlarge",
        evaluation_instance_type: str = "ml.m5.large",
        metric_threshold: float = 0.8,
        schedule: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        if not 0.0 <= metric_threshold <= 1.0:
            raise ValueError(f"metric_threshold: {metric_threshold!r} is not an AUC between 0 and 1")
        if schedule is not None and not _SCHEDULE_RE.match(schedule):
            raise ValueError(f"schedule: {schedule!r} is not an EventBridge Scheduler cron(...) or rate(...)")
        stack = Stack.of(self)
        document = t.load_template()
        group = stack.split_arn(model_package_group_arn, ArnFormat.SLASH_RESOURCE_NAME)
        group_versions_arn = stack.format_arn(
            service="sagemaker",
            resource="model-package",
            resource_name=f"{group.resource_name}/*",
            account=group.account,
            region=group.region,
        )
        artifact_bucket = s3.Bucket.from_bucket_name(self, "ArtifactBucket", artifact_bucket_name)

        self.access_logs = access_log_bucket(self, "AccessLogs")
        self.data_bucket = s3.Bucket(
            self,
            "DataBucket",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=True,
            removal_policy=RemovalPolicy.RETAIN,
            server_access_logs_bucket=self.access_logs,
            server_access_logs_prefix="data/",
        )
        self.input_data_url = self.data_bucket.s3_url_for_object("input")
        self.evaluation_code = s3_assets.Asset(self, "EvaluationCode", path=str(t.EVALUATION_SCRIPT_PATH))
        self.release_code = s3_assets.Asset(self, "ReleaseCode", path=str(t.RELEASE_SCRIPT_PATH))

        self.role = iam.Role(
            self,
            "ExecutionRole",
            role_name=pipeline_role_name(team),
            assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
            description=f"Runs the {team} team pipeline and its training and processing jobs",
        )
        self.pipeline_name = pipeline_name(team)
        self.pipeline_arn = stack.format_arn(
            service="sagemaker", resource="pipeline", resource_name=self.pipeline_name
        )
        self._grant_jobs(stack)
        self._grant_data(artifact_bucket, team, artifact_kms_key_arn)
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="RegisterPendingVersions",
                actions=["sagemaker:CreateModelPackage"],
                resources=[model_package_group_arn, group_versions_arn],
                conditions=registration_conditions(),
            )
        )

        definition = t.render(
            document["definition"],
            values={
                t.EXECUTION_ROLE_ARN: self.role.role_arn,
                t.MODEL_PACKAGE_GROUP_ARN: model_package_group_arn,
                t.ARTIFACT_BUCKET: artifact_bucket_name,
                t.ARTIFACT_PREFIX: team,
                t.ARTIFACT_KMS_KEY_ARN: artifact_kms_key_arn,
                t.IMAGE_URI: self._image_uri(document),
                t.EVALUATION_CODE_BUCKET: self.evaluation_code.s3_bucket_name,
                t.EVALUATION_CODE_KEY: self.evaluation_code.s3_object_key,
                t.RELEASE_CODE_BUCKET: self.release_code.s3_bucket_name,
                t.RELEASE_CODE_KEY: self.release_code.s3_object_key,
                t.WORK_BUCKET: self.data_bucket.bucket_name,
            },
            parameter_defaults={
                t.INPUT_DATA_URL: self.input_data_url,
                t.TRAINING_INSTANCE_TYPE: training_instance_type,
                t.EVALUATION_INSTANCE_TYPE: evaluation_instance_type,
                t.METRIC_THRESHOLD: metric_threshold,
            },
        )
        self.pipeline = sagemaker.CfnPipeline(
            self,
            "Pipeline",
            pipeline_name=self.pipeline_name,
            pipeline_description=f"Trains, evaluates and registers {team} models into the central registry",
            role_arn=self.role.role_arn,
            pipeline_definition={"PipelineDefinitionBody": stack.to_json_string(definition)},
        )
        # The role's policy must exist before the pipeline can run (the role itself is implied by its ARN).
        self.pipeline.node.add_dependency(self.role.node.find_child("DefaultPolicy"))
        self._acknowledge_wildcards()
        if schedule is not None:
            self._schedule(schedule)

        CfnOutput(self, "PipelineName", value=self.pipeline_name)
        CfnOutput(self, "InputDataUrl", value=self.input_data_url)
        CfnOutput(self, "ExecutionRoleArn", value=self.role.role_arn)

    def _image_uri(self, document: dict[str, object]) -> str:
        region = Stack.of(self).region
        if not isinstance(region, str) or region.startswith("${Token"):
            raise ValueError(
                "TeamPipeline needs a stack with an explicit region (the XGBoost image is regional)"
            )
        return t.image_uri_for_region(document, region)

    def _grant_jobs(self, stack: Stack) -> None:
        training_jobs = stack.format_arn(
            service="sagemaker", resource="training-job", resource_name=_PIPELINE_JOB_NAMES
        )
        processing_jobs = stack.format_arn(
            service="sagemaker", resource="processing-job", resource_name=_PIPELINE_JOB_NAMES
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="RunTrainingJobs",
                actions=[
                    "sagemaker:CreateTrainingJob",
                    "sagemaker:DescribeTrainingJob",
                    "sagemaker:StopTrainingJob",
                ],
                resources=[training_jobs],
            )
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="RunProcessingJobs",
                actions=[
                    "sagemaker:CreateProcessingJob",
                    "sagemaker:DescribeProcessingJob",
                    "sagemaker:StopProcessingJob",
                ],
                resources=[processing_jobs],
            )
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="TagJobsOnCreate",
                actions=["sagemaker:AddTags"],
                resources=[training_jobs, processing_jobs],
                conditions={
                    "StringEquals": {"sagemaker:TaggingAction": ["CreateTrainingJob", "CreateProcessingJob"]}
                },
            )
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="PassOnlyItself",
                actions=["iam:PassRole"],
                resources=[self.role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
            )
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="WriteJobLogs",
                actions=[
                    "logs:CreateLogGroup",
                    "logs:CreateLogStream",
                    "logs:DescribeLogStreams",
                    "logs:PutLogEvents",
                ],
                resources=[
                    stack.format_arn(
                        service="logs",
                        resource="log-group",
                        resource_name=f"{group}:*",
                        arn_format=ArnFormat.COLON_RESOURCE_NAME,
                    )
                    for group in _JOB_LOG_GROUPS
                ],
            )
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="PublishJobMetrics",
                actions=["cloudwatch:PutMetricData"],
                # PutMetricData supports no resource-level permissions: AWS requires "*".
                # The namespace condition keeps it to the jobs' own metrics.
                resources=["*"],
                conditions={"StringEquals": {"cloudwatch:namespace": list(_JOB_LOG_GROUPS)}},
            )
        )

    def _grant_data(self, artifact_bucket: s3.IBucket, team: str, kms_key_arn: str) -> None:
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="ReadInputData",
                actions=["s3:GetObject"],
                resources=[self.data_bucket.arn_for_objects("*")],
            )
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="ListInputData", actions=["s3:ListBucket"], resources=[self.data_bucket.bucket_arn]
            )
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                # training and evaluation outputs: SageMaker writes them without If-None-Match, which
                # the write-once central bucket refuses; the Release step copies what a version names
                sid="WriteJobOutputs",
                actions=["s3:AbortMultipartUpload", "s3:PutObject"],
                resources=[
                    self.data_bucket.arn_for_objects(f"{folder}/*") for folder in ("models", "evaluation")
                ],
            )
        )
        for name, code in (("Evaluation", self.evaluation_code), ("Release", self.release_code)):
            self.role.add_to_policy(
                iam.PolicyStatement(
                    sid=f"Read{name}Script",
                    actions=["s3:GetObject"],
                    resources=[code.bucket.arn_for_objects(code.s3_object_key)],
                )
            )
            self.role.add_to_policy(
                iam.PolicyStatement(
                    sid=f"List{name}Script",
                    actions=["s3:ListBucket"],
                    resources=[code.bucket.bucket_arn],
                    conditions={"StringEquals": {"s3:prefix": code.s3_object_key}},
                )
            )
        self.role.add_to_policy(
            iam.PolicyStatement(
                # the Release step's write-once uploads; the jobs read only the team's own bucket
                sid="ReleaseTeamArtifacts",
                actions=["s3:AbortMultipartUpload", "s3:PutObject"],
                resources=[artifact_bucket.arn_for_objects(f"{team}/{t.RELEASES}/*")],
            )
        )
        key_statement = iam.PolicyStatement(
            sid="UseArtifactKey",
            actions=["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"],
            resources=[kms_key_arn],
        )
        if ":alias/" in kms_key_arn:
            # The central key's id is unknown in a team account: name it by its alias. IAM authorizes KMS
            # calls on the key ARN, so the resource is any key of the registry account with that alias.
            alias = Stack.of(self).split_arn(kms_key_arn, ArnFormat.SLASH_RESOURCE_NAME)
            key_statement = iam.PolicyStatement(
                sid="UseArtifactKey",
                actions=["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"],
                resources=[
                    Stack.of(self).format_arn(
                        service="kms",
                        account=alias.account,
                        region=alias.region,
                        resource="key",
                        resource_name="*",
                    )
                ],
                conditions={
                    "ForAnyValue:StringEquals": {"kms:ResourceAliases": f"alias/{alias.resource_name}"}
                },
            )
        self.role.add_to_policy(key_statement)

    def _acknowledge_wildcards(self) -> None:
        """cdk-nag IAM5: each wildcard in the execution role's policy, with the reason it is needed."""
        arn = r"arn:[^:]+"
        findings = {
            rf"{arn}:sagemaker:[a-z0-9-]+:[0-9]{{12}}:(training|processing)-job/pipelines-\*": (
                "Job names are generated per execution by SageMaker Pipelines (pipelines-<execution>-...)."
            ),
            rf"{arn}:logs:[a-z0-9-]+:[0-9]{{12}}:log-group:/aws/sagemaker/(Training|Processing)Jobs:\*": (
                "The jobs' log streams are created per job inside SageMaker's fixed log groups."
            ),
            r"\*": "cloudwatch:PutMetricData supports no resource-level permissions; namespace-conditioned.",
            r"<[A-Za-z0-9]*DataBucket[0-9A-F]{8}\.Arn>/\*": (
                "The input data location is a pipeline parameter; any object of the team's own bucket."
            ),
            r"<[A-Za-z0-9]*DataBucket[0-9A-F]{8}\.Arn>/(models|evaluation)/\*": (
                "Training and evaluation outputs are written per job under these folders of the team's bucket."
            ),
            rf"{arn}:s3:::[a-z0-9.-]+/[a-z0-9-]+/{t.RELEASES}/\*": (
                "Released models and reports are written once per execution under <team>/releases/."
            ),
            rf"{arn}:sagemaker:[a-z0-9-]+:[0-9]{{12}}:model-package/[A-Za-z0-9-]+/\*": (
                "New versions of the team's one group; version numbers are assigned by SageMaker."
            ),
            rf"{arn}:kms:[a-z0-9-]+:[0-9]{{12}}:key/\*": (
                "The central key's id is unknown in a team account; the kms:ResourceAliases condition pins it."
            ),
        }
        NagSuppressions.add_resource_suppressions(
            self.role,
            [
                {
                    "id": "AwsSolutions-IAM5",
                    "reason": reason,
                    "applies_to": [{"regex": f"/^Resource::(?:{pattern})$/"}],
                }
                for pattern, reason in findings.items()
            ],
            apply_to_children=True,
        )

    def _schedule(self, expression: str) -> None:
        stack = Stack.of(self)
        role = iam.Role(
            self,
            "SchedulerRole",
            assumed_by=iam.ServicePrincipal(
                "scheduler.amazonaws.com", conditions={"StringEquals": {"aws:SourceAccount": stack.account}}
            ),
            description="Lets EventBridge Scheduler start the team pipeline",
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="StartPipeline",
                actions=["sagemaker:StartPipelineExecution"],
                resources=[self.pipeline_arn],
            )
        )
        scheduler.CfnSchedule(
            self,
            "Schedule",
            schedule_expression=expression,
            flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(mode="OFF"),
            target=scheduler.CfnSchedule.TargetProperty(arn=self.pipeline_arn, role_arn=role.role_arn),
            description=f"Runs {self.pipeline_name}",
        )
