"""Which AWS Organization each emulated account belongs to (``aws:PrincipalOrgID``).

moto's Organizations backend makes up its own organization ids, so a policy condition naming the
configured organization (``"aws:PrincipalOrgID": "o-a1b2c3d4e5"``) could never match. Here the
emulator is told the membership (``set_organization(org_id, accounts)``; ``mlops local up`` does
it from the config) and resource policy checks of the emulator (model package groups) put the
caller's organization into the request context.
"""

from __future__ import annotations

import threading

_LOCK = threading.Lock()
_MEMBERSHIP: dict[str, str] = {}


def set_organization(org_id: str, accounts: list[str]) -> None:
    """Make ``accounts`` members of ``org_id`` (an account belongs to one organization)."""
    with _LOCK:
        for account in accounts:
            _MEMBERSHIP[account] = org_id


def organization_of(account: str) -> str | None:
    with _LOCK:
        return _MEMBERSHIP.get(account)


def clear() -> None:
    with _LOCK:
        _MEMBERSHIP.clear()


def context_of(account: str) -> dict[str, list[str]]:
    """Condition keys of a principal of ``account``: ``aws:PrincipalOrgID`` when it is a member."""
    org = organization_of(account)
    return {"aws:PrincipalOrgID": [org]} if org else {}
