"""The Release step's script: write-once uploads into the central bucket (issue 9, finding 5)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from pipelines.team_pipeline import release


@pytest.fixture
def s3() -> Any:
    with mock_aws():
        client = boto3.client("s3", region_name="eu-west-1")
        client.create_bucket(Bucket="central", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        yield client


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "model.tar.gz").write_bytes(b"m" * 40)
    (tmp_path / "evaluation").mkdir()
    (tmp_path / "evaluation" / "evaluation.json").write_text('{"auc": 0.9}')
    return tmp_path


def test_release_uploads_both_files_once(s3: Any, root: Path) -> None:
    released = release.release(s3, root, "s3://central/fraud/releases/exec-1")
    assert released == [
        "s3://central/fraud/releases/exec-1/model.tar.gz",
        "s3://central/fraud/releases/exec-1/evaluation.json",
    ]
    body = s3.get_object(Bucket="central", Key="fraud/releases/exec-1/model.tar.gz")["Body"].read()
    assert body == b"m" * 40
    (root / "model" / "model.tar.gz").write_bytes(b"other")
    with pytest.raises(ClientError) as err:
        release.release(s3, root, "s3://central/fraud/releases/exec-1")
    assert err.value.response["Error"]["Code"] == "PreconditionFailed"
    body = s3.get_object(Bucket="central", Key="fraud/releases/exec-1/model.tar.gz")["Body"].read()
    assert body == b"m" * 40


def test_a_large_model_goes_in_parts_with_the_condition_on_completion(s3: Any, root: Path) -> None:
    path = root / "model" / "model.tar.gz"
    part = 5 * 1024 * 1024  # S3's smallest part size (all parts but the last)
    path.write_bytes(b"m" * (part + 7))
    release.upload_once(s3, path, "central", "fraud/big/model.tar.gz", part_size=part)
    assert s3.head_object(Bucket="central", Key="fraud/big/model.tar.gz")["ContentLength"] == part + 7
    with pytest.raises(ClientError) as err:
        release.upload_once(s3, path, "central", "fraud/big/model.tar.gz", part_size=part)
    assert err.value.response["Error"]["Code"] == "PreconditionFailed"
    assert s3.list_multipart_uploads(Bucket="central").get("Uploads", []) == []  # aborted


@pytest.mark.parametrize("uri", ["central/fraud", "s3://central/", "s3://central/fraud/"])
def test_a_bad_destination_names_the_argument(uri: str) -> None:
    with pytest.raises(SystemExit, match="--destination"):
        release.destination(uri)
