"""Bucket policies see the request's S3 condition keys: conditional writes and SSE-KMS key enforcement
(https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes-enforce.html)."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from local.emulator.s3 import request_keys

from .conftest import ACCOUNT, REGION

BUCKET = "artifacts"
KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
WRITE_ONCE = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "WriteOnce",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:PutObject",
            "Resource": f"arn:aws:s3:::{BUCKET}/*",
            "Condition": {
                "Null": {"s3:if-none-match": "true"},
                "Bool": {"s3:ObjectCreationOperation": "true"},
            },
        },
        {
            "Sid": "OnlyTheKey",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:PutObject",
            "Resource": f"arn:aws:s3:::{BUCKET}/*",
            "Condition": {
                "Null": {"s3:x-amz-server-side-encryption-aws-kms-key-id": "false"},
                "StringNotEquals": {"s3:x-amz-server-side-encryption-aws-kms-key-id": KEY_ARN},
            },
        },
    ],
}


@pytest.fixture
def s3(aws: None) -> Any:
    client = boto3.client("s3", region_name=REGION)
    client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    client.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps(WRITE_ONCE))
    return client


def status(call: Any, **kwargs: Any) -> int:
    with pytest.raises(ClientError) as err:
        call(**kwargs)
    return int(err.value.response["ResponseMetadata"]["HTTPStatusCode"])


def test_a_write_without_if_none_match_is_denied_and_an_overwrite_fails_its_precondition(s3: Any) -> None:
    assert status(s3.put_object, Bucket=BUCKET, Key="a/model.tar.gz", Body=b"x") == 403
    s3.put_object(Bucket=BUCKET, Key="a/model.tar.gz", Body=b"v1", IfNoneMatch="*")
    assert status(s3.put_object, Bucket=BUCKET, Key="a/model.tar.gz", Body=b"v2", IfNoneMatch="*") == 412
    assert status(s3.put_object, Bucket=BUCKET, Key="a/model.tar.gz", Body=b"v2") == 403
    assert s3.get_object(Bucket=BUCKET, Key="a/model.tar.gz")["Body"].read() == b"v1"


def test_multipart_uploads_need_the_header_only_on_completion(s3: Any) -> None:
    def upload(**complete: Any) -> None:
        started = s3.create_multipart_upload(Bucket=BUCKET, Key="a/big.tar.gz")
        part = s3.upload_part(
            Bucket=BUCKET, Key="a/big.tar.gz", UploadId=started["UploadId"], PartNumber=1, Body=b"x" * 16
        )
        s3.complete_multipart_upload(
            Bucket=BUCKET,
            Key="a/big.tar.gz",
            UploadId=started["UploadId"],
            MultipartUpload={"Parts": [{"ETag": part["ETag"], "PartNumber": 1}]},
            **complete,
        )

    assert status(upload) == 403  # the unconditional completion
    upload(IfNoneMatch="*")
    assert status(upload, IfNoneMatch="*") == 412


def test_only_the_named_kms_key_may_be_requested(s3: Any) -> None:
    other = KEY_ARN.replace("1234abcd", "99999999")
    assert (
        status(
            s3.put_object,
            Bucket=BUCKET,
            Key="a/other-key",
            Body=b"x",
            IfNoneMatch="*",
            ServerSideEncryption="aws:kms",
            SSEKMSKeyId=other,
        )
        == 403
    )
    s3.put_object(
        Bucket=BUCKET,
        Key="a/the-key",
        Body=b"x",
        IfNoneMatch="*",
        ServerSideEncryption="aws:kms",
        SSEKMSKeyId=KEY_ARN,
    )


def test_request_keys() -> None:
    put = request_keys("PUT", {"If-None-Match": "*", "x-amz-server-side-encryption": "aws:kms"}, "")
    assert put == {
        "s3:ObjectCreationOperation": ["true"],
        "s3:if-none-match": ["*"],
        "s3:x-amz-server-side-encryption": ["aws:kms"],
    }
    assert request_keys("PUT", {}, "partNumber=1&uploadId=u") == {"s3:ObjectCreationOperation": ["false"]}
    assert request_keys("POST", {}, "uploads") == {"s3:ObjectCreationOperation": ["false"]}
    assert request_keys("POST", {"If-None-Match": "*"}, "uploadId=u") == {
        "s3:ObjectCreationOperation": ["true"],
        "s3:if-none-match": ["*"],
    }
    assert request_keys("GET", {"If-None-Match": "*"}, "") == {}
    assert request_keys("PUT", {}, "tagging") == {}
