"""Build the team pipeline definition with the SageMaker SDK v3, offline and deterministically.

Build time only: the CDK app never imports this module (the SDK is about 1 GB). The SDK is imported
inside :func:`build_pipeline`, after :func:`offline_sdk` has prepared the process so that building
needs no AWS credentials and makes no network call (any attempt raises :class:`OfflineBuildError`).
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import warnings
from collections.abc import Iterator
from typing import Any
from unittest import mock

from pipelines.team_pipeline import template as t

# The SDK needs a region to import and to resolve image URIs. The definition itself holds no
# region: the image is a placeholder, and the construct picks the region's image from the
# table recorded next to the definition.
BUILD_REGION = "us-east-1"

_OFFLINE_ENV = {
    "AWS_DEFAULT_REGION": BUILD_REGION,
    "AWS_REGION": BUILD_REGION,
    # Dummy credentials: boto3 then never searches profiles or the instance metadata service.
    "AWS_ACCESS_KEY_ID": "offline-build",
    "AWS_SECRET_ACCESS_KEY": "offline-build",
    "AWS_EC2_METADATA_DISABLED": "true",
    "SAGEMAKER_VALIDATE_ROLE": "false",
}
_OFFLINE_ENV_UNSET = ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL")

# An explicit SDK config: user/admin config files (which could inject defaults) are not read,
# and telemetry is off (it would be an HTTP call).
_SDK_CONFIG = {"SchemaVersion": "1.0", "SageMaker": {"PythonSDK": {"Modules": {"TelemetryOptOut": True}}}}

HYPERPARAMETERS = {
    "objective": "binary:logistic",
    "eval_metric": "auc",
    "num_round": "100",
    "max_depth": "5",
    "eta": "0.2",
    "subsample": "0.8",
}


# The SDK accepts only an ARN-shaped role (anything else is looked up in IAM), so the build uses
# this sentinel and build_document() swaps it for the placeholder. The account id is reserved.
_ROLE_SENTINEL = "arn:aws:iam::000000000000:role/mlops-team-pipeline-role-placeholder"


class OfflineBuildError(RuntimeError):
    """The SDK tried to reach AWS or the internet while building the definition."""


def _refuse_request(*args: Any, **kwargs: Any) -> None:
    """Raise for any request: a botocore ``before-send`` hook (``request=``) or a patched ``send``."""
    request = kwargs.get("request", args[-1] if args else None)
    url = getattr(request, "url", request)
    raise OfflineBuildError(f"building the pipeline definition attempted a network call: {url}")


@contextlib.contextmanager
def offline_sdk() -> Iterator[None]:
    """Environment and guards for an offline build; restores the environment afterwards."""
    import boto3
    import botocore.handlers

    saved = {name: os.environ.get(name) for name in (*_OFFLINE_ENV, *_OFFLINE_ENV_UNSET)}
    # boto3's default session, if the SDK makes one here, carries the guard: it must not outlive the build
    saved_default_session = boto3.DEFAULT_SESSION
    guard = ("before-send", _refuse_request)
    os.environ.update(_OFFLINE_ENV)
    for name in _OFFLINE_ENV_UNSET:
        os.environ.pop(name, None)
    # Every botocore session created from now on refuses to send (the same hook moto uses).
    botocore.handlers.BUILTIN_HANDLERS.append(guard)
    # The SDK logs at INFO/DEBUG to the root logger, and importing it configures the root logger
    # (level INFO, a stderr handler). The build's output is the JSON only; the caller's logging is
    # restored afterwards.
    previous_disable = logging.root.manager.disable
    root_level, root_handlers = logging.root.level, list(logging.root.handlers)
    logging.disable(logging.WARNING)
    try:
        from sagemaker.core.config.config_manager import SageMakerConfig

        validated: list[Any] = []
        validate = SageMakerConfig.validate_sagemaker_config

        def validate_once(config: Any = None) -> None:
            # The SDK re-validates the whole config against its JSON schema on every config
            # lookup (about 0.5 s each, dozens per build); the config does not change here.
            if not any(config is seen for seen in validated):
                validate(config)
                validated.append(config)

        with (
            # Sessions created before the build (boto3's default session, say) lack the hook above;
            # every botocore request, whatever its session, ends in URLLib3Session.send.
            mock.patch("botocore.httpsession.URLLib3Session.send", _refuse_request),
            mock.patch("requests.sessions.Session.send", _refuse_request),
            mock.patch.object(SageMakerConfig, "validate_sagemaker_config", staticmethod(validate_once)),
            warnings.catch_warnings(),
        ):
            warnings.simplefilter("ignore")  # "Running within a PipelineSession ..." and friends
            yield
    finally:
        logging.disable(previous_disable)
        logging.root.setLevel(root_level)
        logging.root.handlers[:] = root_handlers
        botocore.handlers.BUILTIN_HANDLERS.remove(guard)
        boto3.DEFAULT_SESSION = saved_default_session
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def build_pipeline() -> Any:
    """The SDK ``Pipeline`` object. Call inside :func:`offline_sdk`."""
    import boto3
    from sagemaker.core.model_metrics import MetricsSource, ModelMetrics
    from sagemaker.core.processing import ScriptProcessor
    from sagemaker.core.shapes import (
        OutputDataConfig,
        ProcessingInput,
        ProcessingOutput,
        ProcessingS3Input,
        ProcessingS3Output,
        StoppingCondition,
    )
    from sagemaker.core.workflow.conditions import ConditionGreaterThanOrEqualTo
    from sagemaker.core.workflow.execution_variables import ExecutionVariables
    from sagemaker.core.workflow.functions import Join, JsonGet
    from sagemaker.core.workflow.parameters import ParameterFloat, ParameterString
    from sagemaker.core.workflow.pipeline_context import PipelineSession
    from sagemaker.core.workflow.properties import PropertyFile
    from sagemaker.mlops.workflow.condition_step import ConditionStep
    from sagemaker.mlops.workflow.fail_step import FailStep
    from sagemaker.mlops.workflow.model_step import ModelStep
    from sagemaker.mlops.workflow.pipeline import Pipeline
    from sagemaker.mlops.workflow.steps import ProcessingStep, TrainingStep
    from sagemaker.serve.model_builder import ModelBuilder
    from sagemaker.train import ModelTrainer
    from sagemaker.train.configs import Compute, InputData

    boto_session = boto3.Session(region_name=BUILD_REGION)
    boto_session.events.register("before-send", _refuse_request)
    session = PipelineSession(boto_session=boto_session, sagemaker_config=_SDK_CONFIG)
    # Every S3 location below is explicit, but ModelBuilder still asks for the session's default
    # bucket, which would look the bucket up in S3. Set it; nothing is ever written there.
    session._default_bucket = t.placeholder(t.ARTIFACT_BUCKET)

    role = _ROLE_SENTINEL
    image = t.placeholder(t.IMAGE_URI)
    kms_key = t.placeholder(t.ARTIFACT_KMS_KEY_ARN)
    team_prefix = f"s3://{t.placeholder(t.ARTIFACT_BUCKET)}/{t.placeholder(t.ARTIFACT_PREFIX)}"
    # SageMaker writes job outputs without If-None-Match; the central bucket refuses such writes
    # (write-once), so the jobs write to the team's own bucket and the Release step copies.
    work = f"s3://{t.placeholder(t.WORK_BUCKET)}"
    release_uri = Join(
        on="/", values=[f"{team_prefix}/{t.RELEASES}", ExecutionVariables.PIPELINE_EXECUTION_ID]
    )

    # Defaults are placeholders of the right type; the construct sets the real ones.
    input_data = ParameterString(name=t.INPUT_DATA_URL, default_value="s3://bucket/prefix")
    training_instance_type = ParameterString(name=t.TRAINING_INSTANCE_TYPE, default_value="ml.m5.xlarge")
    evaluation_instance_type = ParameterString(name=t.EVALUATION_INSTANCE_TYPE, default_value="ml.m5.large")
    metric_threshold = ParameterFloat(name=t.METRIC_THRESHOLD, default_value=0.8)

    def data_channel(name: str) -> Any:
        return Join(on="/", values=[input_data, f"{name}/"])

    trainer = ModelTrainer(
        sagemaker_session=session,
        role=role,
        training_image=image,
        base_job_name="train",
        compute=Compute(instance_type=training_instance_type, instance_count=1, volume_size_in_gb=30),
        stopping_condition=StoppingCondition(max_runtime_in_seconds=3600),
        hyperparameters=HYPERPARAMETERS,
        output_data_config=OutputDataConfig(s3_output_path=f"{work}/models", kms_key_id=kms_key),
        input_data_config=[
            InputData(channel_name=channel, data_source=data_channel(channel), content_type="text/csv")
            for channel in ("train", "validation")
        ],
    )
    train = TrainingStep(name=t.TRAIN_STEP, step_args=trainer.train())
    model_artifacts = train.properties.ModelArtifacts.S3ModelArtifacts

    processor = ScriptProcessor(
        role=role,
        image_uri=image,
        command=["python3"],
        instance_type=evaluation_instance_type,
        instance_count=1,
        output_kms_key=kms_key,
        max_runtime_in_seconds=3600,
        base_job_name="evaluate",
        sagemaker_session=session,
    )
    report = PropertyFile(
        name=t.EVALUATION_PROPERTY_FILE, output_name=t.EVALUATION_OUTPUT, path=t.EVALUATION_REPORT_FILE
    )

    def s3_input(name: str, uri: Any) -> Any:
        return ProcessingInput(
            input_name=name,
            s3_input=ProcessingS3Input(
                s3_uri=uri,
                local_path=f"/opt/ml/processing/{name}",
                s3_data_type="S3Prefix",
                s3_input_mode="File",
            ),
        )

    evaluate = ProcessingStep(
        name=t.EVALUATE_STEP,
        step_args=processor.run(
            code=f"s3://{t.placeholder(t.EVALUATION_CODE_BUCKET)}/{t.placeholder(t.EVALUATION_CODE_KEY)}",
            inputs=[s3_input("model", model_artifacts), s3_input("test", data_channel("test"))],
            outputs=[
                ProcessingOutput(
                    output_name=t.EVALUATION_OUTPUT,
                    s3_output=ProcessingS3Output(
                        s3_uri=Join(
                            on="/",
                            values=[f"{work}/evaluation", ExecutionVariables.PIPELINE_EXECUTION_ID],
                        ),
                        local_path=f"/opt/ml/processing/{t.EVALUATION_OUTPUT}",
                        s3_upload_mode="EndOfJob",
                    ),
                )
            ],
        ),
        property_files=[report],
    )
    evaluation_output = evaluate.properties.ProcessingOutputConfig.Outputs[t.EVALUATION_OUTPUT].S3Output.S3Uri
    release = ProcessingStep(
        name=t.RELEASE_STEP,
        step_args=processor.run(
            code=f"s3://{t.placeholder(t.RELEASE_CODE_BUCKET)}/{t.placeholder(t.RELEASE_CODE_KEY)}",
            inputs=[s3_input("model", model_artifacts), s3_input(t.EVALUATION_OUTPUT, evaluation_output)],
            arguments=["--destination", release_uri],
        ),
    )
    # what the version names: the released, write-once copies
    released = [f"{team_prefix}/{t.RELEASES}", ExecutionVariables.PIPELINE_EXECUTION_ID]
    model_data_url = Join(on="/", values=[*released, t.MODEL_FILE])
    report_uri = Join(on="/", values=[*released, t.EVALUATION_REPORT_FILE])

    # dependencies={} : the default ({"auto": True}) adds empty script-mode environment variables
    # to the container; the built-in XGBoost container needs none.
    model = ModelBuilder(
        image_uri=image,
        s3_model_data_url=model_data_url,
        role_arn=role,
        sagemaker_session=session,
        dependencies={},
    )
    register = ModelStep(
        name=t.REGISTER_STEP,
        depends_on=[release],
        step_args=model.register(
            model_package_group_name=t.placeholder(t.MODEL_PACKAGE_GROUP_ARN),
            approval_status=t.APPROVAL_STATUS,
            content_types=["text/csv"],
            response_types=["text/csv"],
            model_metrics=ModelMetrics(
                model_statistics=MetricsSource(content_type="application/json", s3_uri=report_uri)
            ),
            description="Registered by the team pipeline after evaluation on the held-out set",
        ),
    )
    metric = JsonGet(step_name=evaluate.name, property_file=report, json_path=t.METRIC_JSON_PATH)
    check = ConditionStep(
        name=t.CHECK_STEP,
        conditions=[ConditionGreaterThanOrEqualTo(left=metric, right=metric_threshold)],
        if_steps=[release, register],
        else_steps=[
            FailStep(
                name=t.FAIL_STEP,
                error_message=Join(on=" ", values=["AUC on the held-out set is below", metric_threshold]),
            )
        ],
    )
    return Pipeline(
        name="team-pipeline",
        parameters=[input_data, training_instance_type, evaluation_instance_type, metric_threshold],
        steps=[train, evaluate, check],
        sagemaker_session=session,
    )


def _image_uris() -> dict[str, str]:
    """The SDK's XGBoost image for every region it knows (no network: the SDK ships the table)."""
    from sagemaker.core import common_utils, image_uris

    # retrieve() re-reads botocore's endpoints.json (about 0.1 s) on every call; one read is enough.
    resolver = functools.cache(common_utils._botocore_resolver)
    with mock.patch.object(common_utils, "_botocore_resolver", resolver):
        return _retrieve_all(image_uris)


def _retrieve_all(image_uris: Any) -> dict[str, str]:
    config = image_uris.config_for_framework("xgboost")
    regions = config["versions"][t.XGBOOST_VERSION]["registries"] if "versions" in config else None
    if regions is None:  # layout with separate scopes
        regions = config["training"]["versions"][t.XGBOOST_VERSION]["registries"]
    return {
        region: image_uris.retrieve(framework="xgboost", region=region, version=t.XGBOOST_VERSION)
        for region in sorted(regions)
    }


def _swap_sentinels(node: Any) -> Any:
    if node == _ROLE_SENTINEL:
        return t.placeholder(t.EXECUTION_ROLE_ARN)
    if isinstance(node, str) and _ROLE_SENTINEL in node:
        raise ValueError(f"role sentinel embedded in a longer string: {node!r}")
    if isinstance(node, list):
        return [_swap_sentinels(item) for item in node]
    if isinstance(node, dict):
        return {key: _swap_sentinels(item) for key, item in node.items()}
    return node


def build_document() -> dict[str, Any]:
    """The generated, team-independent document the construct renders."""
    with offline_sdk():
        definition = _swap_sentinels(json.loads(build_pipeline().definition()))
        images = _image_uris()
    return {
        "comment": "Generated by `python -m pipelines.build --out pipelines/generated/team_pipeline.json`. "
        "Do not edit; see pipelines/README.md.",
        "placeholders": dict(sorted(t.PLACEHOLDERS.items())),
        "image_uris": images,
        "definition": definition,
    }


def to_json(document: dict[str, Any]) -> str:
    """Canonical text: sorted keys, two-space indent, trailing newline (byte-identical per input)."""
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
