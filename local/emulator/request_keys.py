"""Service condition keys of a SageMaker request, as IAM sees them for both identity and resource policies.

The Service Authorization Reference lists, for ``CreateModelPackage`` and ``UpdateModelPackage``,
``sagemaker:ModelApprovalStatus`` and the lifecycle keys ``sagemaker:ModelLifeCycle:Stage`` and
``sagemaker:ModelLifeCycle:StageStatus``
(https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonsagemaker.html; the
developer guide's examples spell them lower-case, and IAM compares key names case-insensitively:
:mod:`local.emulator.policy` does too).
A key is present only when the request sets the field, so ``Null`` conditions can forbid a field.
"""

from __future__ import annotations

from typing import Any

_KEYED_ACTIONS = {"CreateModelPackage", "UpdateModelPackage"}


def sagemaker_request_keys(action: str, get_param: Any) -> dict[str, list[str]]:
    """Condition keys (name -> values) the request carries; ``get_param`` reads a request parameter."""
    if action not in _KEYED_ACTIONS:
        return {}
    keys: dict[str, list[str]] = {}
    status = get_param("ModelApprovalStatus")
    if status is not None:
        keys["sagemaker:ModelApprovalStatus"] = [str(status)]
    life_cycle = get_param("ModelLifeCycle")
    if isinstance(life_cycle, dict):
        if life_cycle.get("Stage") is not None:
            keys["sagemaker:ModelLifeCycle:Stage"] = [str(life_cycle["Stage"])]
        if life_cycle.get("StageStatus") is not None:
            keys["sagemaker:ModelLifeCycle:StageStatus"] = [str(life_cycle["StageStatus"])]
    return keys


__all__ = ["sagemaker_request_keys"]
