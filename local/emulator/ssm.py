"""SSM Parameter Store, as the deployments catalog (stacks/constructs/deployments_catalog.py) needs it.

- ``AWS::SSM::Parameter`` with ``Tags``: CloudFormation takes them as a JSON map ``{"key": "value"}``
  (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-ssm-parameter.html);
  moto 5.2.5 passed the map on to ``put_parameter``, which expects a list of ``Key``/``Value`` pairs,
  and the stack failed (every stack tag reaches the parameter).
- Value sizes: AWS refuses a standard-tier value longer than 4096 characters and an advanced one
  longer than 8192 ("Standard tier parameters support a maximum parameter value of 4096
  characters", https://docs.aws.amazon.com/systems-manager/latest/userguide/parameter-store-advanced-parameters.html);
  moto stored any length, which would hide a catalog part that AWS rejects.
"""

from __future__ import annotations

from typing import Any

from moto.ssm.exceptions import ValidationException
from moto.ssm.models import Parameter, SimpleSystemManagerBackend

MAX_VALUE_CHARS = {"Standard": 4096, "Advanced": 8192, "Intelligent-Tiering": 8192}

_original_create = Parameter.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]
_original_put = SimpleSystemManagerBackend.put_parameter


def _create(
    cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
) -> Any:
    props = cloudformation_json.get("Properties", {})
    tags = props.get("Tags")
    if isinstance(tags, dict):
        listed = [{"Key": str(k), "Value": str(v)} for k, v in tags.items()]
        cloudformation_json = {**cloudformation_json, "Properties": {**props, "Tags": listed}}
    return _original_create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)


def _put_parameter(
    self: SimpleSystemManagerBackend, name: str, description: str, value: str, *args: Any, **kwargs: Any
) -> Any:
    previous = self._parameters.get(name)  # an update without Tier keeps the parameter's tier
    tier = kwargs.get("tier") or (previous[-1].tier if previous else None) or "Standard"
    limit = MAX_VALUE_CHARS.get(tier)
    if limit is not None and value and len(value) > limit:
        raise ValidationException(
            f"{tier} tier parameters support a maximum parameter value of {limit} characters. "
            "To create a larger parameter value, upgrade the parameter to use the advanced-parameter tier."
        )
    return _original_put(self, name, description, value, *args, **kwargs)


def install() -> None:
    Parameter.create_from_cloudformation_json = classmethod(_create)  # type: ignore[method-assign,assignment]
    SimpleSystemManagerBackend.put_parameter = _put_parameter  # type: ignore[method-assign]
