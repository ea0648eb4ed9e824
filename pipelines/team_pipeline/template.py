"""The generated team pipeline template: names, loading and rendering. Plain Python, no SageMaker SDK.

The generated file (``pipelines/generated/team_pipeline.json``) is team-independent. Values that are
fixed per deployment (role, central group, central bucket and key, the team's prefix, the region's
XGBoost image, the evaluation script's location) appear in the definition as placeholders
``@@Name@@``; :func:`render` replaces them. Values that may change per execution are pipeline
parameters; :func:`render` sets their default values.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

TEMPLATE_PATH = Path(__file__).resolve().parent.parent / "generated" / "team_pipeline.json"
EVALUATION_SCRIPT_PATH = Path(__file__).resolve().parent / "evaluate.py"
RELEASE_SCRIPT_PATH = Path(__file__).resolve().parent / "release.py"

# Placeholders substituted by the construct (deployment-fixed values).
EXECUTION_ROLE_ARN = "ExecutionRoleArn"
MODEL_PACKAGE_GROUP_ARN = "ModelPackageGroupArn"
ARTIFACT_BUCKET = "ArtifactBucket"
ARTIFACT_PREFIX = "ArtifactPrefix"
ARTIFACT_KMS_KEY_ARN = "ArtifactKmsKeyArn"
IMAGE_URI = "ImageUri"
EVALUATION_CODE_BUCKET = "EvaluationCodeBucket"
EVALUATION_CODE_KEY = "EvaluationCodeKey"
RELEASE_CODE_BUCKET = "ReleaseCodeBucket"
RELEASE_CODE_KEY = "ReleaseCodeKey"
WORK_BUCKET = "WorkBucket"

PLACEHOLDERS: dict[str, str] = {
    EXECUTION_ROLE_ARN: "ARN of the role the pipeline and its jobs run as (the pipeline's own role)",
    MODEL_PACKAGE_GROUP_ARN: "ARN of the team's model package group in the central registry account",
    ARTIFACT_BUCKET: "name of the central artifact bucket (registry account)",
    ARTIFACT_PREFIX: "the team's key prefix in the central artifact bucket, without slashes (the team name)",
    ARTIFACT_KMS_KEY_ARN: "ARN of the central artifact bucket's KMS key",
    IMAGE_URI: "the SageMaker XGBoost image of the stack's region (see image_uris in the template)",
    EVALUATION_CODE_BUCKET: "bucket of the evaluate.py file asset (the CDK staging bucket)",
    EVALUATION_CODE_KEY: "object key of the evaluate.py file asset (its basename is the entry point)",
    RELEASE_CODE_BUCKET: "bucket of the release.py file asset (the CDK staging bucket)",
    RELEASE_CODE_KEY: "object key of the release.py file asset (its basename is the entry point)",
    WORK_BUCKET: "the team's own bucket (team account) for job outputs; the central bucket is write-once",
}

# Pipeline parameters (may be overridden per execution; the construct sets their defaults).
INPUT_DATA_URL = "InputDataUrl"
TRAINING_INSTANCE_TYPE = "TrainingInstanceType"
EVALUATION_INSTANCE_TYPE = "EvaluationInstanceType"
METRIC_THRESHOLD = "MetricThreshold"

# Step names (also used in the definition's property references).
TRAIN_STEP = "Train"
EVALUATE_STEP = "Evaluate"
CHECK_STEP = "CheckMetricThreshold"
RELEASE_STEP = "Release"
REGISTER_STEP = "Register"
FAIL_STEP = "MetricBelowThreshold"

# The evaluation report, its property file and the metric the condition compares.
EVALUATION_OUTPUT = "evaluation"
EVALUATION_REPORT_FILE = "evaluation.json"
EVALUATION_PROPERTY_FILE = "EvaluationReport"
MODEL_FILE = "model.tar.gz"
RELEASES = "releases"  # s3://<central bucket>/<team>/releases/<execution id>/ (write-once)
METRIC_JSON_PATH = "binary_classification_metrics.auc.value"

XGBOOST_VERSION = "1.7-1"
APPROVAL_STATUS = "PendingManualApproval"

_PLACEHOLDER_RE = re.compile(r"@@([A-Za-z]+)@@")


def placeholder(name: str) -> str:
    """The marker for ``name`` as it appears in the generated definition."""
    if name not in PLACEHOLDERS:
        raise KeyError(f"unknown placeholder {name!r}; known: {sorted(PLACEHOLDERS)}")
    return f"@@{name}@@"


def load_template(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    """The generated document: ``{"definition": ..., "image_uris": ..., "placeholders": ...}``."""
    with path.open(encoding="utf-8") as handle:
        document: dict[str, Any] = json.load(handle)
    return document


def image_uri_for_region(document: Mapping[str, Any], region: str) -> str:
    """The XGBoost image the SDK resolves for ``region`` (recorded in the template at build time)."""
    images: Mapping[str, str] = document["image_uris"]
    if region not in images:
        raise ValueError(
            f"region {region!r} has no SageMaker XGBoost {XGBOOST_VERSION} image; "
            f"allowed: {', '.join(sorted(images))}"
        )
    return images[region]


def render(
    definition: Mapping[str, Any],
    *,
    values: Mapping[str, str],
    parameter_defaults: Mapping[str, str | float],
) -> dict[str, Any]:
    """A copy of ``definition`` with every placeholder replaced and parameter defaults set.

    ``values`` must name every placeholder exactly once; ``parameter_defaults`` may name only
    parameters the definition declares. String values may be CDK tokens: they are only
    concatenated into strings, never parsed.
    """
    missing = sorted(set(PLACEHOLDERS) - set(values))
    unknown = sorted(set(values) - set(PLACEHOLDERS))
    if missing or unknown:
        raise ValueError(f"placeholder values: missing {missing}, unknown {unknown}")

    def fill(node: Any) -> Any:
        if isinstance(node, str):
            return _PLACEHOLDER_RE.sub(lambda match: values[match.group(1)], node)
        if isinstance(node, list):
            return [fill(item) for item in node]
        if isinstance(node, dict):
            return {key: fill(item) for key, item in node.items()}
        return node

    rendered: dict[str, Any] = fill(definition)
    declared = {parameter["Name"]: parameter for parameter in rendered.get("Parameters", [])}
    unknown_parameters = sorted(set(parameter_defaults) - set(declared))
    if unknown_parameters:
        raise ValueError(f"unknown pipeline parameters {unknown_parameters}; declared: {sorted(declared)}")
    for name, default in parameter_defaults.items():
        declared[name]["DefaultValue"] = default
    return rendered


def placeholders_in(node: Any) -> set[str]:
    """Names of the placeholders still present in ``node`` (for checks and tests)."""
    found: set[str] = set()
    if isinstance(node, str):
        found.update(_PLACEHOLDER_RE.findall(node))
    elif isinstance(node, list):
        for item in node:
            found |= placeholders_in(item)
    elif isinstance(node, dict):
        for item in node.values():
            found |= placeholders_in(item)
    return found
