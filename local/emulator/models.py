"""``CreateModel`` from a model package, including a package of another account's registry.

moto stored any container as given. Here each container that names a ``ModelPackageName`` (name or
ARN) must resolve to an existing package with an ``InferenceSpecification``; a package of another
account is used only when its group's resource policy allows the caller ``sagemaker:CreateModel``
on the package (as SageMaker requires for cross-account deployment), else ``AccessDeniedException``;
that policy check, like every IAM check, applies only while IAM enforcement is on. The model's
containers (and the package's) must have their ECR image and S3 artifacts in the model's region, as
AWS requires; a package of another region is refused. ``EnableNetworkIsolation`` is stored as
requested and returned by ``DescribeModel`` (moto stored false).
"""

from __future__ import annotations

import re
from typing import Any

from moto import settings
from moto.core.authorization import ActionAuthenticatorMixin
from moto.s3.models import s3_backends
from moto.sagemaker.exceptions import ValidationError
from moto.sagemaker.responses import SageMakerResponse

from . import registry

_original_create_model = SageMakerResponse.create_model


def enforcing() -> bool:
    """Is moto's IAM enforcement on (``POST /moto-api/reset-auth``)?"""
    return bool(ActionAuthenticatorMixin.request_count >= settings.INITIAL_NO_AUTH_ACTION_COUNT)


# <account>.dkr.ecr.<region>.amazonaws.com[.cn]/<repository>...
_ECR_IMAGE = re.compile(r"^\d{12}\.dkr\.ecr(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com")
_S3_URL = re.compile(r"^s3://([^/]+)/")


def _image_region(image: str | None) -> str | None:
    match = _ECR_IMAGE.match(image or "")
    return match.group(1) if match else None


def _bucket_region(url: str | None) -> str | None:
    """The region of an s3:// URL's bucket, when the emulator knows the bucket (any account)."""
    match = _S3_URL.match(url or "")
    if not match:
        return None
    owner = s3_backends.bucket_accounts.get(match.group(1))
    if owner is None:
        return None
    partition, account = owner
    found = s3_backends[account][partition].buckets.get(match.group(1))
    return str(found.region_name) if found is not None else None


def check_same_region(containers: list[dict[str, Any]], region: str, what: str) -> None:
    """A model's image and artifacts must be in the model's region: AWS ContainerDefinition
    (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ContainerDefinition.html: Image and
    ModelDataUrl). The message wording is ours."""
    for container in containers:
        image_region = _image_region(container.get("Image"))
        if image_region is not None and image_region != region:
            raise ValidationError(
                f"{what}: image {container['Image']} is in {image_region}; it must be in the model's region {region}."
            )
        data_region = _bucket_region(container.get("ModelDataUrl"))
        if data_region is not None and data_region != region:
            raise ValidationError(
                f"{what}: model artifacts {container['ModelDataUrl']} are in {data_region}; they must be "
                f"in the model's region {region}."
            )


def create_model(self: SageMakerResponse) -> Any:
    containers = [
        c for c in [self._get_param("PrimaryContainer"), *(self._get_param("Containers") or [])] if c
    ]
    check_same_region(containers, self.region, "CreateModel")
    for container in containers:
        name = container.get("ModelPackageName")
        if not name:
            continue
        backend, key, cross_account = registry._backend_for(self, name)
        if backend.region_name != self.region:
            raise ValidationError(
                f"CreateModel: model package {name} is in {backend.region_name}; a model can use only a "
                f"package of its own region {self.region}."
            )
        package = registry._package(backend, key)
        if cross_account and enforcing():
            registry._authorize_cross_account(self, backend, package.model_package_group_name, package.arn)
        if not package.inference_specification:
            raise ValidationError(f"Model package {package.arn} has no InferenceSpecification to deploy.")
        check_same_region(
            list(package.inference_specification.get("Containers") or []),
            self.region,
            f"CreateModel from {package.arn}",
        )
    response = _original_create_model(self)
    # moto stores every model with EnableNetworkIsolation false; keep what the request asked for
    # (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateModel.html, returned by DescribeModel)
    created = self.sagemaker_backend._models.get(self._get_param("ModelName"))
    if created is not None:
        created.enable_network_isolation = bool(self._get_param("EnableNetworkIsolation", False))
    return response


def install() -> None:
    SageMakerResponse.create_model = create_model  # type: ignore[method-assign]
