"""Builds registry, ledger, deployer and endpoint state in moto for the CLI tests."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import boto3

from local.emulator import advance

REGION = "eu-west-1"
REGISTRY_ACCOUNT = "123456789012"  # moto's default account
SERVING_ACCOUNT = "333333333333"
LEDGER = "mlops-deployment-ledger"
CATALOG_PATH = "/mlops/deployments"
CONTAINER = {
    "Image": "111111111111.dkr.ecr.eu-west-1.amazonaws.com/xgb:1",
    "ModelDataUrl": "s3://artifacts/model.tar.gz",
}


def ledger_at(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class World:
    def __init__(self) -> None:
        self.sm = boto3.client("sagemaker", region_name=REGION)
        self.s3 = boto3.client("s3", region_name=REGION)
        self.ddb = boto3.client("dynamodb", region_name=REGION)
        self.ssm = boto3.client("ssm", region_name=REGION)
        self.iam = boto3.client("iam", region_name=REGION)
        self.sts = boto3.client("sts", region_name=REGION)
        self.deployments: list[dict[str, Any]] = []
        self._bucket = False

    # registry ---------------------------------------------------------------------------------
    def group(self, name: str, team: str | None = "risk", description: str = "") -> str:
        tags = [{"Key": "mlops:team", "Value": team}] if team else []
        return str(
            self.sm.create_model_package_group(
                ModelPackageGroupName=name, ModelPackageGroupDescription=description, Tags=tags
            )["ModelPackageGroupArn"]
        )

    def version(
        self,
        group: str,
        approval: str = "PendingManualApproval",
        *,
        metrics: dict[str, Any] | None = None,
        metrics_uri: str | None = None,
        stage: str | None = None,
    ) -> str:
        kwargs: dict[str, Any] = {
            "ModelPackageGroupName": group,
            "ModelApprovalStatus": approval,
            "InferenceSpecification": {
                "Containers": [CONTAINER],
                "SupportedContentTypes": ["text/csv"],
                "SupportedResponseMIMETypes": ["text/csv"],
            },
        }
        if metrics is not None:
            metrics_uri = self.put_json(f"{group}/{len(self.versions(group)) + 1}/evaluation.json", metrics)
        if metrics_uri:
            kwargs["ModelMetrics"] = {
                "ModelQuality": {"Statistics": {"ContentType": "application/json", "S3Uri": metrics_uri}}
            }
        if stage:
            kwargs["ModelLifeCycle"] = {"Stage": stage, "StageStatus": "Approved"}
        return str(self.sm.create_model_package(**kwargs)["ModelPackageArn"])

    def versions(self, group: str) -> list[dict[str, Any]]:
        pages = self.sm.get_paginator("list_model_packages").paginate(ModelPackageGroupName=group)
        return [s for p in pages for s in p["ModelPackageSummaryList"]]

    @staticmethod
    def package_arn(group: str, version: int) -> str:
        return f"arn:aws:sagemaker:{REGION}:{REGISTRY_ACCOUNT}:model-package/{group}/{version}"

    def package(self, arn: str) -> dict[str, Any]:
        return dict(self.sm.describe_model_package(ModelPackageName=arn))

    def put_json(self, key: str, body: Any) -> str:
        if not self._bucket:
            self.s3.create_bucket(Bucket="reports", CreateBucketConfiguration={"LocationConstraint": REGION})
            self._bucket = True
        self.s3.put_object(Bucket="reports", Key=key, Body=json.dumps(body).encode())
        return f"s3://reports/{key}"

    # ledger -----------------------------------------------------------------------------------
    def ledger(self, name: str = LEDGER) -> None:
        self.ddb.create_table(
            TableName=name,
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

    def entry(self, endpoint_id: str, at: str, status: str, **attrs: Any) -> None:
        item: dict[str, Any] = {"endpoint_id": {"S": endpoint_id}, "at": {"S": at}, "status": {"S": status}}
        for key, value in attrs.items():
            item[key] = {"N": str(value)} if isinstance(value, int) else {"S": str(value)}
        self.ddb.put_item(TableName=LEDGER, Item=item)

    # deployer ---------------------------------------------------------------------------------
    def deployment(
        self,
        endpoint: str,
        group: str,
        *,
        account: str = REGISTRY_ACCOUNT,
        follows: str = "Approved",
        deploy_role: bool | None = None,
    ) -> dict[str, Any]:
        cross = account != REGISTRY_ACCOUNT if deploy_role is None else deploy_role
        item = {
            "endpoint": endpoint,
            "group": group,
            "group_arn": f"arn:aws:sagemaker:{REGION}:{REGISTRY_ACCOUNT}:model-package-group/{group}",
            "account": account,
            "region": REGION,
            "follows": follows,
            "instance_type": "ml.m5.large",
            "instance_count": 2,
            "rollout": {"strategy": "canary", "step_percent": 25, "wait_seconds": 300, "bake_seconds": 600},
            "alarms": [f"mlops-{endpoint}-5xx", f"mlops-{endpoint}-latency"],
            "execution_role_arn": f"arn:aws:iam::{account}:role/mlops-sagemaker-execution",
            "deploy_role_arn": f"arn:aws:iam::{account}:role/mlops-deploy-access" if cross else None,
        }
        self.deployments.append(item)
        return item

    def deployer(self, *, path: str = CATALOG_PATH, per_part: int = 4) -> None:
        """Publish the deployments added so far as the deployer stack does: the deployments catalog in
        SSM Parameter Store, `per_part` deployments in each part (docs/contracts.md)."""
        chunks = [self.deployments[i : i + per_part] for i in range(0, len(self.deployments), per_part)] or [
            []
        ]
        for index, chunk in enumerate(chunks):
            value = {
                "part": index,
                "parts": len(chunks),
                "registry": {"account": REGISTRY_ACCOUNT, "region": REGION},
                "deployments": chunk,
            }
            self.ssm.put_parameter(
                Name=f"{path}/part-{index:03d}", Value=json.dumps(value), Type="String", Overwrite=True
            )

    # endpoints --------------------------------------------------------------------------------
    def sagemaker_in(self, account: str) -> Any:
        if account == REGISTRY_ACCOUNT:
            return self.sm
        creds = self.sts.assume_role(
            RoleArn=f"arn:aws:iam::{account}:role/mlops-deploy-access", RoleSessionName="test-setup"
        )["Credentials"]
        return boto3.client(
            "sagemaker",
            region_name=REGION,
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
        )

    def endpoint(
        self, name: str, package_arn: str, *, account: str = REGISTRY_ACCOUNT, suffix: str = "1"
    ) -> None:
        """An InService endpoint whose model was created from `package_arn` (as the deployer does)."""
        sm = self.sagemaker_in(account)
        model = f"{name}-m{suffix}"
        sm.create_model(
            ModelName=model,
            ExecutionRoleArn=f"arn:aws:iam::{account}:role/mlops-sagemaker-execution",
            Containers=[{"ModelPackageName": package_arn}],
        )
        sm.create_endpoint_config(
            EndpointConfigName=f"{name}-c{suffix}",
            ProductionVariants=[
                {
                    "VariantName": "AllTraffic",
                    "ModelName": model,
                    "InstanceType": "ml.m5.large",
                    "InitialInstanceCount": 1,
                }
            ],
        )
        sm.create_endpoint(EndpointName=name, EndpointConfigName=f"{name}-c{suffix}")
        advance()  # the emulator's endpoint is Creating until its clock moves on
