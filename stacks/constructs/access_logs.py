"""The server access-log bucket every bucket of this project logs to."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_s3 as s3
from cdk_nag import NagSuppressions
from constructs import Construct


def access_log_bucket(scope: Construct, construct_id: str) -> s3.Bucket:
    """Private, TLS-only, versioned, retained, logs kept a year. A function rather than a construct so the
    bucket's logical id stays where it is."""
    bucket = s3.Bucket(
        scope,
        construct_id,
        encryption=s3.BucketEncryption.S3_MANAGED,  # S3 server access logging cannot write to SSE-KMS buckets
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        enforce_ssl=True,
        versioned=True,
        removal_policy=RemovalPolicy.RETAIN,
        lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(365))],
    )
    NagSuppressions.add_resource_suppressions(
        bucket,
        [
            {
                "id": "AwsSolutions-S1",
                "reason": "This is the access-log bucket itself; logging it to itself would loop.",
            }
        ],
    )
    return bucket
