"""Deployment ledger queries (DynamoDB, schema in docs/contracts.md "Deployment ledger").

The key format (partition `endpoint_id` = `<account>/<region>/<endpoint name>`, sort `at` = UTC
ISO-8601 with microseconds and `Z`) comes from the deployer's own ledger module, so the writer and
this reader cannot drift apart.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from deployer.ledger import endpoint_id, format_at

from mlops_cli.errors import EXIT_USAGE, CliError, translated

__all__ = ["endpoint_id", "format_at"]

DEFAULT_LEDGER_TABLE = "mlops-deployment-ledger"
LEDGER_NEEDS = "dynamodb:Query on the ledger table {table} in the registry account"


def parse_time(text: str) -> datetime:
    """Parse `--at`: ISO-8601 (`Z`, offset, or naive = UTC; date only = midnight UTC) or `now`."""
    value = text.strip()
    if value.lower() == "now":
        return datetime.now(UTC)
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        value += "T00:00:00"
    try:
        moment = datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError as exc:
        raise CliError(
            f"invalid time {text!r}", EXIT_USAGE, hint="use ISO-8601, e.g. 2026-11-20T10:00:00Z or 2026-11-20"
        ) from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | set | tuple):
        return [_plain(v) for v in value]
    return value


def _item(raw: dict[str, Any]) -> dict[str, Any]:
    from boto3.dynamodb.types import TypeDeserializer

    deserializer = TypeDeserializer()
    return {key: _plain(deserializer.deserialize(value)) for key, value in raw.items()}


class Ledger:
    def __init__(self, dynamodb: Any, table: str = DEFAULT_LEDGER_TABLE) -> None:
        self.dynamodb = dynamodb
        self.table = table

    @property
    def needs(self) -> str:
        return LEDGER_NEEDS.format(table=self.table)

    def _guard(self) -> Any:
        return translated(needs=self.needs, what=f"ledger table {self.table!r}")

    def _timeline(
        self, endpoint: str, *, newest_first: bool = False, limit: int | None = None
    ) -> list[dict[str, Any]]:
        """Every entry of one endpoint (all pages), oldest first unless `newest_first`."""
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "endpoint_id = :e",
            "ExpressionAttributeValues": {":e": {"S": endpoint}},
            "ScanIndexForward": not newest_first,
        }
        paginator = self.dynamodb.get_paginator("query")
        config = {"MaxItems": limit} if limit else {}
        for page in paginator.paginate(**kwargs, PaginationConfig=config):
            items.extend(_item(raw) for raw in page.get("Items", []))
        return items[:limit] if limit else items

    def _at(self, endpoint: str, moment: datetime) -> dict[str, Any] | None:
        """Newest entry at or before `moment`: exactly one Query (docs/contracts.md)."""
        response = self.dynamodb.query(
            TableName=self.table,
            KeyConditionExpression="endpoint_id = :e AND #at <= :t",
            ExpressionAttributeNames={"#at": "at"},
            ExpressionAttributeValues={":e": {"S": endpoint}, ":t": {"S": format_at(moment)}},
            ScanIndexForward=False,
            Limit=1,
        )
        items = response.get("Items", [])
        return _item(items[0]) if items else None

    def _latest(self, endpoint: str) -> dict[str, Any] | None:
        response = self.dynamodb.query(
            TableName=self.table,
            KeyConditionExpression="endpoint_id = :e",
            ExpressionAttributeValues={":e": {"S": endpoint}},
            ScanIndexForward=False,
            Limit=1,
        )
        items = response.get("Items", [])
        return _item(items[0]) if items else None

    def _latest_serving(self, endpoint: str) -> dict[str, Any] | None:
        """Newest entry that records what the endpoint serves (has `serving_version`)."""
        paginator = self.dynamodb.get_paginator("query")
        for page in paginator.paginate(
            TableName=self.table,
            KeyConditionExpression="endpoint_id = :e",
            FilterExpression="attribute_exists(serving_version)",
            ExpressionAttributeValues={":e": {"S": endpoint}},
            ScanIndexForward=False,
        ):
            for raw in page.get("Items", []):
                return _item(raw)
        return None

    def _for_package(self, endpoint: str, package_arn: str) -> list[dict[str, Any]]:
        """Entries of one endpoint that deployed, served or replaced `package_arn` (all pages)."""
        items: list[dict[str, Any]] = []
        paginator = self.dynamodb.get_paginator("query")
        for page in paginator.paginate(
            TableName=self.table,
            KeyConditionExpression="endpoint_id = :e",
            FilterExpression="model_package_arn = :p OR serving_package_arn = :p OR previous_package_arn = :p",
            ExpressionAttributeValues={":e": {"S": endpoint}, ":p": {"S": package_arn}},
        ):
            items.extend(_item(raw) for raw in page.get("Items", []))
        return items

    def timeline(
        self, endpoint: str, *, newest_first: bool = False, limit: int | None = None
    ) -> list[dict[str, Any]]:
        with self._guard():
            return self._timeline(endpoint, newest_first=newest_first, limit=limit)

    def at(self, endpoint: str, moment: datetime) -> dict[str, Any] | None:
        with self._guard():
            return self._at(endpoint, moment)

    def latest(self, endpoint: str) -> dict[str, Any] | None:
        with self._guard():
            return self._latest(endpoint)

    def latest_serving(self, endpoint: str) -> dict[str, Any] | None:
        with self._guard():
            return self._latest_serving(endpoint)

    def for_package(self, endpoint: str, package_arn: str) -> list[dict[str, Any]]:
        with self._guard():
            return self._for_package(endpoint, package_arn)
