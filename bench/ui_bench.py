"""`mlops ui` page times on the emulator (figures printed, not timed tests): ``python bench/ui_bench.py``.

The local moto server with the emulator extension (``local.emulator.server.EmulatorServer``) holds
100 model package groups (10 teams) with 500 versions in all, each version with an evaluation report
in S3, a deployments catalog of 100 endpoints and a ledger of 20 entries per endpoint. Each page
of the UI (registry, a search, a group with its chart and a comparison, a version, an endpoint with a
point-in-time question) is fetched through the ASGI app after the start-up read `mlops ui` makes
before it prints `ready` (group list, tags, catalog): the first fetch of each page (cold: no version,
ledger or endpoint read cached) and the median of 5 more (warm). Budget: under 1 s per page.
"""

from __future__ import annotations

import json
import logging
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "lambdas")]

REGION = "eu-west-1"
ACCOUNT = "123456789012"
GROUPS = 100
VERSIONS_PER_GROUP = 5
LEDGER_ENTRIES = 20
BUDGET_SECONDS = 1.0
BUCKET = "bench-reports"
CONTAINER = {
    "Image": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/model:1",
    "ModelDataUrl": "s3://x/model.tar.gz",
}


def _seed(client: Any) -> None:
    from concurrent.futures import ThreadPoolExecutor

    sm, s3, ddb, ssm = (client(s) for s in ("sagemaker", "s3", "dynamodb", "ssm"))
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    ddb.create_table(
        TableName="mlops-deployment-ledger",
        KeySchema=[
            {"AttributeName": "endpoint_id", "KeyType": "HASH"},
            {"AttributeName": "at", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "endpoint_id", "AttributeType": "S"},
            {"AttributeName": "at", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )

    def group(index: int) -> dict[str, Any]:
        name = f"model-{index:03d}"
        sm.create_model_package_group(
            ModelPackageGroupName=name,
            ModelPackageGroupDescription=f"benchmark group {index}",
            Tags=[{"Key": "mlops:team", "Value": f"team-{index % 10}"}],
        )
        for version in range(1, VERSIONS_PER_GROUP + 1):
            key = f"{name}/{version}/evaluation.json"
            report = {"binary_classification_metrics": {"auc": {"value": 0.8 + version / 100}}}
            s3.put_object(Bucket=BUCKET, Key=key, Body=json.dumps(report).encode())
            sm.create_model_package(
                ModelPackageGroupName=name,
                ModelApprovalStatus="Approved" if version % 2 else "PendingManualApproval",
                InferenceSpecification={
                    "Containers": [CONTAINER],
                    "SupportedContentTypes": ["text/csv"],
                    "SupportedResponseMIMETypes": ["text/csv"],
                },
                ModelMetrics={
                    "ModelQuality": {
                        "Statistics": {"ContentType": "application/json", "S3Uri": f"s3://{BUCKET}/{key}"}
                    }
                },
            )
        endpoint = f"{name}-prod"
        eid = f"{ACCOUNT}/{REGION}/{endpoint}"
        arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package/{name}/1"
        for entry in range(LEDGER_ENTRIES):
            ddb.put_item(
                TableName="mlops-deployment-ledger",
                Item={
                    "endpoint_id": {"S": eid},
                    "at": {"S": f"2026-11-{1 + entry:02d}T10:00:00.000000Z"},
                    "status": {"S": "live" if entry % 2 else "in_progress"},
                    "version": {"N": "1"},
                    "serving_version": {"N": "1"},
                    "model_package_arn": {"S": arn},
                    "serving_package_arn": {"S": arn},
                },
            )
        return {
            "endpoint": endpoint,
            "group": name,
            "group_arn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package-group/{name}",
            "account": ACCOUNT,
            "region": REGION,
            "follows": "Approved",
            "instance_type": "ml.m5.large",
            "instance_count": 2,
            "rollout": {"strategy": "canary", "step_percent": 25, "wait_seconds": 300, "bake_seconds": 600},
            "alarms": [f"mlops-{endpoint}-5xx", f"mlops-{endpoint}-latency"],
            "execution_role_arn": f"arn:aws:iam::{ACCOUNT}:role/mlops-sagemaker-execution",
            "deploy_role_arn": None,
        }

    with ThreadPoolExecutor(max_workers=8) as pool:
        deployments = list(pool.map(group, range(GROUPS)))
    from stacks.constructs.deployments_catalog import catalog_parts, part_name

    for index, value in enumerate(
        catalog_parts(deployments, registry_account=ACCOUNT, registry_region=REGION)
    ):
        ssm.put_parameter(Name=part_name(index), Value=value, Type="String")


PAGES = [
    ("registry", "/"),
    ("registry, page 3", "/?page=3"),
    ("registry, search by tag", "/?q=mlops:team=team-3"),
    ("group + chart + compare", "/groups/model-042?metric=auc&a=1&b=5"),
    ("version", "/groups/model-042/versions/3"),
    ("endpoint + point in time", f"/endpoints/{ACCOUNT}/{REGION}/model-042-prod?at=2026-11-10T12:00:00Z"),
]


def measure() -> list[dict[str, Any]]:
    import boto3
    from starlette.testclient import TestClient

    from local.emulator.server import EmulatorServer
    from mlops_cli.context import Context
    from mlops_cli.main import build_parser
    from mlops_cli.ui.app import build_app

    os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION=REGION)
    os.environ.pop("AWS_SESSION_TOKEN", None)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # the emulator's request log
    results = []
    with EmulatorServer(port=0) as server:
        os.environ["AWS_ENDPOINT_URL"] = server.url
        started = time.perf_counter()
        _seed(lambda service: boto3.client(service, region_name=REGION, endpoint_url=server.url))
        print(
            f"seeded {GROUPS} groups, {GROUPS * VERSIONS_PER_GROUP} versions in {time.perf_counter() - started:.1f} s"
        )
        app = build_app(Context(build_parser().parse_args(["ui"])))
        start = time.perf_counter()
        app.state.pages.preload()  # as `mlops ui` does before it prints `ready`
        print(f"mlops ui start-up read (groups, tags, catalog): {time.perf_counter() - start:.3f} s")
        client = TestClient(app)
        for label, path in PAGES:
            start = time.perf_counter()
            response = client.get(path)
            cold = time.perf_counter() - start
            assert response.status_code == 200, (path, response.status_code, response.text[:500])
            warm = []
            for _ in range(5):
                start = time.perf_counter()
                client.get(path)
                warm.append(time.perf_counter() - start)
            results.append({"page": label, "path": path, "cold_s": cold, "warm_s": statistics.median(warm)})
        os.environ.pop("AWS_ENDPOINT_URL", None)
    return results


def main() -> int:
    results = measure()
    print(f"{'page':<28} {'cold':>8} {'warm':>8}  (budget {BUDGET_SECONDS:.1f} s)")
    for r in results:
        flag = "ok" if max(r["cold_s"], r["warm_s"]) < BUDGET_SECONDS else "OVER BUDGET"
        print(f"{r['page']:<28} {r['cold_s']:>7.3f}s {r['warm_s']:>7.3f}s  {flag}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
