"""Rendering the generated template (plain Python: what the CDK app uses) and keeping the SDK out of synth."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pipelines.team_pipeline import template as t

ROOT = Path(__file__).resolve().parents[3]

VALUES = {
    t.EXECUTION_ROLE_ARN: "arn:aws:iam::222222222222:role/mlops-fraud-pipeline",
    t.MODEL_PACKAGE_GROUP_ARN: "arn:aws:sagemaker:eu-west-1:111111111111:model-package-group/fraud-detector",
    t.ARTIFACT_BUCKET: "mlops-artifacts-111111111111-eu-west-1",
    t.ARTIFACT_PREFIX: "fraud",
    t.ARTIFACT_KMS_KEY_ARN: "arn:aws:kms:eu-west-1:111111111111:key/k",
    t.IMAGE_URI: "image",
    t.EVALUATION_CODE_BUCKET: "assets",
    t.EVALUATION_CODE_KEY: "abc.py",
    t.RELEASE_CODE_BUCKET: "assets",
    t.RELEASE_CODE_KEY: "def.py",
    t.WORK_BUCKET: "fraud-team-bucket",
}
DEFAULTS: dict[str, str | float] = {t.METRIC_THRESHOLD: 0.9, t.INPUT_DATA_URL: "s3://data/input"}


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return t.load_template()


def test_render_fills_every_placeholder(document: dict[str, Any]) -> None:
    rendered = t.render(document["definition"], values=VALUES, parameter_defaults=DEFAULTS)
    assert t.placeholders_in(rendered) == set()
    train = rendered["Steps"][0]["Arguments"]
    assert train["OutputDataConfig"]["S3OutputPath"] == "s3://fraud-team-bucket/models"
    evaluate = rendered["Steps"][1]["Arguments"]
    assert evaluate["AppSpecification"]["ContainerEntrypoint"] == [
        "python3",
        "/opt/ml/processing/input/code/abc.py",
    ]
    release, register_step = rendered["Steps"][2]["Arguments"]["IfSteps"]
    assert release["Arguments"]["AppSpecification"]["ContainerEntrypoint"][1].endswith("/def.py")
    register = register_step["Arguments"]
    assert register["ModelPackageGroupName"] == VALUES[t.MODEL_PACKAGE_GROUP_ARN]


def test_render_sets_parameter_defaults_and_leaves_the_template_untouched(document: dict[str, Any]) -> None:
    rendered = t.render(document["definition"], values=VALUES, parameter_defaults=DEFAULTS)
    defaults = {p["Name"]: p["DefaultValue"] for p in rendered["Parameters"]}
    assert defaults[t.METRIC_THRESHOLD] == 0.9
    assert defaults[t.INPUT_DATA_URL] == "s3://data/input"
    assert t.placeholders_in(document["definition"]) == set(t.PLACEHOLDERS)


def test_render_rejects_missing_or_unknown_values(document: dict[str, Any]) -> None:
    partial = {k: v for k, v in VALUES.items() if k != t.IMAGE_URI}
    with pytest.raises(ValueError, match=r"missing \['ImageUri'\], unknown \[\]"):
        t.render(document["definition"], values=partial, parameter_defaults={})
    with pytest.raises(ValueError, match=r"unknown \['Extra'\]"):
        t.render(document["definition"], values={**VALUES, "Extra": "x"}, parameter_defaults={})
    with pytest.raises(ValueError, match=r"unknown pipeline parameters \['Epochs'\]"):
        t.render(document["definition"], values=VALUES, parameter_defaults={"Epochs": "3"})


def test_image_for_an_unknown_region_names_the_allowed_ones(document: dict[str, Any]) -> None:
    assert t.image_uri_for_region(document, "eu-west-1").startswith("141502667606.dkr.ecr.eu-west-1.")
    with pytest.raises(
        ValueError, match="region 'mars-north-1' has no SageMaker XGBoost 1.7-1 image; allowed: af-"
    ):
        t.image_uri_for_region(document, "mars-north-1")


def test_placeholder_rejects_unknown_names() -> None:
    assert t.placeholder(t.IMAGE_URI) == "@@ImageUri@@"
    with pytest.raises(KeyError):
        t.placeholder("Nope")


def test_the_cdk_side_never_imports_the_sagemaker_sdk() -> None:
    code = (
        "import sys, stacks.team_pipeline_stack, pipelines.team_pipeline.template, pipelines.build\n"
        "loaded = sorted(m for m in sys.modules if m == 'sagemaker' or m.startswith('sagemaker.'))\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)
