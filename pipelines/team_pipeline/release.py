"""Release the evaluated model into the central artifact bucket, write-once.

Runs inside the SageMaker XGBoost container (processing step ``Release``), after the metric check.
SageMaker writes training and processing outputs without ``If-None-Match``, and the central bucket
refuses every write without it (issue 9: an approved artifact cannot be replaced), so the jobs write
to the team's own bucket and this step copies the two files a version names into
``s3://<central bucket>/<team>/releases/<execution id>/``: ``model.tar.gz`` (its ModelDataUrl) and
``evaluation.json`` (its model metrics). Each is uploaded with ``If-None-Match: *``: S3 creates the key
only if it does not exist yet and answers 412 otherwise
(https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html); a multipart upload
carries the header on its completion. No encryption header: the bucket's default, the artifact key,
applies (the bucket policy refuses any other key).

Arguments: ``--destination s3://<bucket>/<prefix>`` (no trailing slash). Inputs:
``/opt/ml/processing/model/model.tar.gz`` and ``/opt/ml/processing/evaluation/evaluation.json``.
Python 3.8 (the container's interpreter); ``boto3`` is the container's, which can be older than the
``IfNoneMatch`` parameter (the XGBoost container pins boto3 1.17, aws/sagemaker-xgboost-container
requirements.txt), so the header is added to the signed request by a botocore hook instead.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Any

PROCESSING = Path("/opt/ml/processing")
FILES = (("model", "model.tar.gz"), ("evaluation", "evaluation.json"))
PART_SIZE = 64 * 1024 * 1024  # PutObject takes up to 5 GB; larger models go in parts
SINGLE_PUT_LIMIT = 5 * 1024 * 1024 * 1024


def destination(uri: str) -> tuple[str, str]:
    """(bucket, key prefix) of ``s3://bucket/prefix``."""
    match = re.fullmatch(r"s3://([a-z0-9.-]{3,63})/(\S+[^/])", uri)
    if match is None:
        raise SystemExit(f"--destination: {uri!r}: expected s3://<bucket>/<prefix> without a trailing slash")
    return match.group(1), match.group(2)


def _if_none_match(request: Any, **_: Any) -> None:
    request.headers["If-None-Match"] = "*"


def write_once(s3: Any) -> Any:
    """The client, sending ``If-None-Match: *`` on PutObject and CompleteMultipartUpload (the two
    requests that create an object; the header is signed with the request)."""
    for operation in ("PutObject", "CompleteMultipartUpload"):
        s3.meta.events.register(
            f"before-sign.s3.{operation}", _if_none_match, unique_id=f"write-once-{operation}"
        )
    return s3


def upload_once(s3: Any, path: Path, bucket: str, key: str, part_size: int = PART_SIZE) -> None:
    """Create ``key`` from ``path`` only if it does not exist (412 PreconditionFailed otherwise)."""
    s3 = write_once(s3)
    size = path.stat().st_size
    if size <= min(part_size, SINGLE_PUT_LIMIT):
        with path.open("rb") as body:
            s3.put_object(Bucket=bucket, Key=key, Body=body)
        return
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    try:
        parts = []
        with path.open("rb") as body:
            number = 1
            while True:
                chunk = body.read(part_size)
                if not chunk:
                    break
                etag = s3.upload_part(
                    Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=chunk
                )
                parts.append({"ETag": etag["ETag"], "PartNumber": number})
                number += 1
        s3.complete_multipart_upload(
            Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}
        )
    except Exception:
        s3.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
        raise


def release(s3: Any, root: Path, uri: str) -> list[str]:
    """Upload every released file; returns their s3:// URIs."""
    bucket, prefix = destination(uri)
    released = []
    for folder, name in FILES:
        upload_once(s3, root / folder / name, bucket, f"{prefix}/{name}")
        released.append(f"s3://{bucket}/{prefix}/{name}")
    return released


def main(argv: list[str] | None = None, root: Path = PROCESSING) -> None:  # pragma: no cover - container only
    import boto3

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--destination", required=True)
    args = parser.parse_args(argv)
    for uri in release(boto3.client("s3"), root, args.destination):
        print(f"released {uri}")


if __name__ == "__main__":
    main()
