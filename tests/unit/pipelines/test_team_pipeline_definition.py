"""The pipeline definition the SageMaker SDK builds: steps, wiring, condition, registration, determinism.

Needs the SageMaker SDK (requirements-pipelines.txt); skipped without it. The document is built once per
module; one more build runs in a fresh interpreter to prove determinism across processes.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pipelines.team_pipeline import definition as d
from pipelines.team_pipeline import template as t

# Looked up, not imported: importing the SDK needs the region that offline_sdk() sets.
pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("sagemaker") is None, reason="the SageMaker SDK v3 builds the definition"
)

ROOT = Path(__file__).resolve().parents[3]
RELEASES = "s3://@@ArtifactBucket@@/@@ArtifactPrefix@@/releases"  # write-once (issue 9)


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return d.build_document()


@pytest.fixture(scope="module")
def steps(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every step by name, the condition's branches included."""
    found: dict[str, dict[str, Any]] = {}
    pending = list(document["definition"]["Steps"])
    while pending:
        step = pending.pop(0)
        found[step["Name"]] = step
        pending += step["Arguments"].get("IfSteps", []) + step["Arguments"].get("ElseSteps", [])
    return found


def get(name: str) -> dict[str, str]:
    return {"Get": name}


def join(on: str, *values: Any) -> dict[str, Any]:
    return {"Std:Join": {"On": on, "Values": list(values)}}


def test_top_level_steps_run_in_order_train_evaluate_check(document: dict[str, Any]) -> None:
    top = document["definition"]["Steps"]
    assert [(s["Name"], s["Type"]) for s in top] == [
        (t.TRAIN_STEP, "Training"),
        (t.EVALUATE_STEP, "Processing"),
        (t.CHECK_STEP, "Condition"),
    ]
    # No explicit DependsOn: the order comes from the property references tested below.
    assert all("DependsOn" not in s for s in top)


def test_parameters_are_input_data_instance_types_and_threshold(document: dict[str, Any]) -> None:
    parameters = {p["Name"]: p["Type"] for p in document["definition"]["Parameters"]}
    assert parameters == {
        t.INPUT_DATA_URL: "String",
        t.TRAINING_INSTANCE_TYPE: "String",
        t.EVALUATION_INSTANCE_TYPE: "String",
        t.METRIC_THRESHOLD: "Float",
    }


def test_training_uses_builtin_xgboost_on_the_input_data(steps: dict[str, dict[str, Any]]) -> None:
    args = steps[t.TRAIN_STEP]["Arguments"]
    assert args["AlgorithmSpecification"] == {"TrainingImage": "@@ImageUri@@", "TrainingInputMode": "File"}
    assert args["HyperParameters"]["objective"] == "binary:logistic"
    channels = {c["ChannelName"]: c["DataSource"]["S3DataSource"]["S3Uri"] for c in args["InputDataConfig"]}
    assert channels == {
        "train": join("/", get("Parameters.InputDataUrl"), "train/"),
        "validation": join("/", get("Parameters.InputDataUrl"), "validation/"),
    }
    assert args["ResourceConfig"]["InstanceType"] == get("Parameters.TrainingInstanceType")
    assert args["OutputDataConfig"] == {
        "S3OutputPath": "s3://@@WorkBucket@@/models",  # SageMaker's writes: not the write-once bucket
        "KmsKeyId": "@@ArtifactKmsKeyArn@@",
    }
    assert args["RoleArn"] == "@@ExecutionRoleArn@@"


def test_evaluation_reads_the_trained_model_and_the_held_out_set(steps: dict[str, dict[str, Any]]) -> None:
    step = steps[t.EVALUATE_STEP]
    args = step["Arguments"]
    inputs = {i["InputName"]: i["S3Input"] for i in args["ProcessingInputs"]}
    assert inputs["model"]["S3Uri"] == get("Steps.Train.ModelArtifacts.S3ModelArtifacts")
    assert inputs["test"]["S3Uri"] == join("/", get("Parameters.InputDataUrl"), "test/")
    assert inputs["code"]["S3Uri"] == "s3://@@EvaluationCodeBucket@@/@@EvaluationCodeKey@@"
    assert args["AppSpecification"] == {
        "ImageUri": "@@ImageUri@@",
        "ContainerEntrypoint": ["python3", "/opt/ml/processing/input/code/@@EvaluationCodeKey@@"],
    }
    assert args["ProcessingResources"]["ClusterConfig"]["InstanceType"] == get(
        "Parameters.EvaluationInstanceType"
    )
    (output,) = args["ProcessingOutputConfig"]["Outputs"]
    assert output["OutputName"] == t.EVALUATION_OUTPUT
    assert output["S3Output"]["S3Uri"] == join(
        "/", "s3://@@WorkBucket@@/evaluation", get("Execution.PipelineExecutionId")
    )
    assert args["ProcessingOutputConfig"]["KmsKeyId"] == "@@ArtifactKmsKeyArn@@"
    assert step["PropertyFiles"] == [
        {"PropertyFileName": "EvaluationReport", "OutputName": "evaluation", "FilePath": "evaluation.json"}
    ]


def test_condition_compares_the_reported_auc_with_the_threshold_parameter(
    steps: dict[str, dict[str, Any]],
) -> None:
    args = steps[t.CHECK_STEP]["Arguments"]
    assert args["Conditions"] == [
        {
            "Type": "GreaterThanOrEqualTo",
            "LeftValue": {
                "Std:JsonGet": {
                    "PropertyFile": get("Steps.Evaluate.PropertyFiles.EvaluationReport"),
                    "Path": "binary_classification_metrics.auc.value",
                }
            },
            "RightValue": get("Parameters.MetricThreshold"),
        }
    ]
    assert [s["Name"] for s in args["IfSteps"]] == [t.RELEASE_STEP, t.REGISTER_STEP]
    assert [(s["Name"], s["Type"]) for s in args["ElseSteps"]] == [(t.FAIL_STEP, "Fail")]


def test_register_step_targets_the_central_group_as_pending_with_the_report_as_metrics(
    steps: dict[str, dict[str, Any]],
) -> None:
    step = steps[t.REGISTER_STEP]
    assert step["Type"] == "RegisterModel"
    args = step["Arguments"]
    assert args["ModelPackageGroupName"] == "@@ModelPackageGroupArn@@"
    assert args["ModelApprovalStatus"] == "PendingManualApproval"
    assert args["ModelMetrics"]["ModelQuality"]["Statistics"] == {
        "ContentType": "application/json",
        "S3Uri": join("/", RELEASES, get("Execution.PipelineExecutionId"), "evaluation.json"),
    }
    (container,) = args["InferenceSpecification"]["Containers"]
    assert container == {
        "Image": "@@ImageUri@@",
        "ModelDataUrl": join("/", RELEASES, get("Execution.PipelineExecutionId"), "model.tar.gz"),
        "Environment": {},
    }
    assert step["DependsOn"] == [t.RELEASE_STEP]


def test_release_copies_the_model_and_report_into_the_write_once_team_prefix(
    steps: dict[str, dict[str, Any]],
) -> None:
    step = steps[t.RELEASE_STEP]
    assert step["Type"] == "Processing"
    args = step["Arguments"]
    inputs = {i["InputName"]: i["S3Input"] for i in args["ProcessingInputs"]}
    assert inputs["model"]["S3Uri"] == get("Steps.Train.ModelArtifacts.S3ModelArtifacts")
    assert inputs["evaluation"]["S3Uri"] == get(
        "Steps.Evaluate.ProcessingOutputConfig.Outputs['evaluation'].S3Output.S3Uri"
    )
    assert inputs["code"]["S3Uri"] == "s3://@@ReleaseCodeBucket@@/@@ReleaseCodeKey@@"
    assert args["AppSpecification"] == {
        "ImageUri": "@@ImageUri@@",
        "ContainerEntrypoint": ["python3", "/opt/ml/processing/input/code/@@ReleaseCodeKey@@"],
        "ContainerArguments": ["--destination", join("/", RELEASES, get("Execution.PipelineExecutionId"))],
    }
    assert "ProcessingOutputConfig" not in args  # it writes itself, with If-None-Match


def test_every_placeholder_is_used_and_no_other(document: dict[str, Any]) -> None:
    assert t.placeholders_in(document["definition"]) == set(t.PLACEHOLDERS)
    assert document["placeholders"] == t.PLACEHOLDERS


def test_the_definition_holds_no_account_or_region(document: dict[str, Any]) -> None:
    text = d.to_json({"definition": document["definition"]})
    assert d.BUILD_REGION not in text
    assert "000000000000" not in text  # the role sentinel was swapped for its placeholder


def test_image_table_has_the_regional_xgboost_images(document: dict[str, Any]) -> None:
    images = document["image_uris"]
    assert images["eu-west-1"] == "141502667606.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-xgboost:1.7-1"
    assert len(images) > 20 and all(uri.endswith("/sagemaker-xgboost:1.7-1") for uri in images.values())


def test_checked_in_template_is_current(document: dict[str, Any]) -> None:
    assert t.TEMPLATE_PATH.read_text(encoding="utf-8") == d.to_json(document), (
        "run: python -m pipelines.build --out pipelines/generated/team_pipeline.json"
    )


def test_build_is_byte_identical_in_a_fresh_process(document: dict[str, Any]) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["PYTHONHASHSEED"] = "12345"
    result = subprocess.run(
        [sys.executable, "-m", "pipelines.build"], cwd=ROOT, env=env, capture_output=True, check=True
    )
    assert result.stdout == d.to_json(document).encode("utf-8")


def test_build_restores_the_environment_and_logging() -> None:
    import logging

    before = dict(os.environ)
    root = (logging.root.level, list(logging.root.handlers))
    with d.offline_sdk():
        assert os.environ["SAGEMAKER_VALIDATE_ROLE"] == "false"
        import sagemaker.core.helper.session_helper  # noqa: F401 (importing the SDK configures logging)
    assert dict(os.environ) == before
    assert (logging.root.level, list(logging.root.handlers)) == root


def test_any_aws_call_during_the_build_is_refused() -> None:
    import boto3

    existing = boto3.Session(region_name="eu-west-1")  # created before the build: no hook
    with d.offline_sdk():
        for session in (existing, boto3.Session(region_name="eu-west-1")):
            with pytest.raises(d.OfflineBuildError, match="network call"):
                session.client("sts").get_caller_identity()


def test_a_default_session_made_during_the_build_does_not_carry_the_guard_out() -> None:
    """boto3's default session made inside the build holds the refusing hook; after the build, clients of
    the default session (the emulator's, the deployer's in the same process) must send again."""
    import boto3
    from botocore.config import Config
    from botocore.exceptions import EndpointConnectionError

    before = boto3.DEFAULT_SESSION
    with d.offline_sdk():
        boto3.setup_default_session(region_name="eu-west-1")
    assert boto3.DEFAULT_SESSION is before
    no_retry = Config(retries={"max_attempts": 1}, connect_timeout=1)
    sts = boto3.client("sts", region_name="eu-west-1", endpoint_url="http://127.0.0.1:9", config=no_retry)
    with pytest.raises(EndpointConnectionError):  # it tried the network: nothing listens on port 9
        sts.get_caller_identity()


def test_render_command_prints_one_teams_definition(
    document: dict[str, Any], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from pipelines import build

    monkeypatch.setattr(d, "build_document", lambda: document)
    args = [
        "--render",
        "--team",
        "fraud",
        "--group-arn",
        "arn:aws:sagemaker:eu-west-1:111111111111:model-package-group/g",
        "--role-arn",
        "arn:aws:iam::222222222222:role/r",
        "--artifact-bucket",
        "central",
        "--kms-key-arn",
        "k",
        "--region",
        "eu-west-1",
        "--code-bucket",
        "assets",
        "--code-key",
        "e.py",
        "--release-code-key",
        "r.py",
        "--work-bucket",
        "team-bucket",
        "--input-data-url",
        "s3://d/i",
    ]
    assert build.main(args) == 0
    rendered = json.loads(capsys.readouterr().out)
    assert t.placeholders_in(rendered) == set()
    assert rendered["Steps"][0]["Arguments"]["OutputDataConfig"]["S3OutputPath"] == "s3://team-bucket/models"
    assert build.main(["--render", "--team", "fraud"]) == 2
    assert "--render needs --group-arn" in capsys.readouterr().err
    assert build.main(["--check"]) == 0
