"""``CreateModel`` from a model package, including a package of another account's registry.

moto stored any container as given. Here each container that names a ``ModelPackageName`` (name or
ARN) must resolve to an existing package with an ``InferenceSpecification``; a package of another
account is used only when its group's resource policy allows the caller ``sagemaker:CreateModel``
on the package (as SageMaker requires for cross-account deployment), else ``AccessDeniedException``;
that policy check, like every IAM check, applies only while IAM enforcement is on.
"""

from __future__ import annotations

from typing import Any

from moto import settings
from moto.core.authorization import ActionAuthenticatorMixin
from moto.sagemaker.exceptions import ValidationError
from moto.sagemaker.responses import SageMakerResponse

from . import registry

_original_create_model = SageMakerResponse.create_model


def enforcing() -> bool:
    """Is moto's IAM enforcement on (``POST /moto-api/reset-auth``)?"""
    return bool(ActionAuthenticatorMixin.request_count >= settings.INITIAL_NO_AUTH_ACTION_COUNT)


def create_model(self: SageMakerResponse) -> Any:
    containers = [self._get_param("PrimaryContainer"), *(self._get_param("Containers") or [])]
    for container in containers:
        name = (container or {}).get("ModelPackageName")
        if not name:
            continue
        backend, key, cross_account = registry._backend_for(self, name)
        package = registry._package(backend, key)
        if cross_account and enforcing():
            registry._authorize_cross_account(self, backend, package.model_package_group_name, package.arn)
        if not package.inference_specification:
            raise ValidationError(f"Model package {package.arn} has no InferenceSpecification to deploy.")
    return _original_create_model(self)


def install() -> None:
    SageMakerResponse.create_model = create_model  # type: ignore[method-assign]
