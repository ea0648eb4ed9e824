"""Where each team's registry resources live, and the record that keeps them there.

A team's groups and roles live in one team stack (`MlopsRegistryTeams<N>`). CloudFormation cannot move a
named resource between stacks, and a model package group holds the versions of a team: so a team, once
placed, never moves, and a group, once placed, never leaves its stack unless the user says so.

The record is a JSON file next to the config (the *placements file*, committed with it). `cdk synth`
reads it, places new teams, and writes it back; synth stays offline and deterministic (the same config
and placements file give the same templates and the same file). Rules:

- a team keeps its stack forever; a new team goes to the lowest-numbered stack with room (each stack is
  filled only to FILL_RATIO of CloudFormation's limits, so placed teams can still add groups);
- raising `registry.team_stacks` only adds room; nothing moves;
- a team removed from the config is *retired*: its roles go, its groups stay in their stack (with their
  versions), and adding the team back makes them active again;
- a group dropped from a team that stays (a rename, for example) fails synth unless the user allows its
  retirement (`-c allow_retire=<group>`); a retired group may be taken out of CloudFormation on purpose
  (`-c allow_release=<group>`), and it stays in the account (DeletionPolicy Retain) until deleted by hand;
- without a placements file (first synth, or an upgrade from the hash-placed layout) each team is seeded
  where the previous release put it: sha256(team) % team_stacks.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from stacks.config import ConfigError, ProjectConfig, Team

VERSION = 1
# CloudFormation limits per stack: 500 resources, 200 outputs, 1 MB template (from S3). The hard limits
# below keep a margin for the stack's own metadata; new teams are placed only up to FILL_RATIO of them.
MAX_RESOURCES = 450
MAX_OUTPUTS = 200
MAX_TEMPLATE_BYTES = 900_000
FILL_RATIO = 0.8
# Measured on synthesized templates (tests/unit/stacks/test_scale.py checks these stay upper bounds).
BYTES_PER_TEAM = 20_000  # with cdk-nag metadata on the roles
BYTES_PER_GROUP = 2_700  # with the lifecycle-stage and deploy-access conditions of issue 9
BYTES_PER_GROUP_PER_DISCOVERY_ACCOUNT = 25


class PlacementError(ConfigError):
    """A config change would move or delete a group; the message names it and the safe way."""

    def __init__(self, path: str, value: Any, message: str) -> None:
        self.path, self.value, self.allowed = path, value, message
        ValueError.__init__(self, f"config error at '{path}': {message}")


@dataclass(frozen=True)
class TeamPlacement:
    stack: int
    groups: tuple[str, ...] = ()  # active groups, in config order
    retired_groups: tuple[str, ...] = ()  # kept in the stack with their versions, no team access
    retired: bool = False

    @property
    def all_groups(self) -> tuple[str, ...]:
        return (*self.groups, *self.retired_groups)

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"stack": self.stack, "groups": list(self.groups)}
        if self.retired_groups:
            data["retired_groups"] = list(self.retired_groups)
        if self.retired:
            data["retired"] = True
        return data


@dataclass(frozen=True)
class Placements:
    teams: Mapping[str, TeamPlacement] = field(default_factory=dict)
    # groups taken out of CloudFormation on purpose: group -> team it belonged to
    released: Mapping[str, str] = field(default_factory=dict)

    def stack_name(self, team: str) -> str:
        return team_stack_name(self.teams[team].stack)

    @property
    def stacks(self) -> list[int]:
        return sorted({p.stack for p in self.teams.values()})

    def in_stack(self, stack: int) -> list[tuple[str, TeamPlacement]]:
        return [(name, p) for name, p in sorted(self.teams.items()) if p.stack == stack]

    def to_json(self) -> str:
        data = {
            "comment": "Written by cdk synth: the team stack of every team and its groups. Commit it with the "
            "config; see README 'Team stacks and placements'.",
            "version": VERSION,
            "teams": {name: self.teams[name].as_dict() for name in sorted(self.teams)},
            "released_groups": dict(sorted(self.released.items())),
        }
        return json.dumps(data, indent=1) + "\n"

    @classmethod
    def from_json(cls, text: str, source: str) -> Placements:
        try:
            data = json.loads(text)
            if data.get("version") != VERSION:
                raise ValueError(f"version {data.get('version')!r}, expected {VERSION}")
            teams = {
                name: TeamPlacement(
                    stack=int(raw["stack"]),
                    groups=tuple(raw.get("groups", ())),
                    retired_groups=tuple(raw.get("retired_groups", ())),
                    retired=bool(raw.get("retired", False)),
                )
                for name, raw in data["teams"].items()
            }
            released = {str(g): str(t) for g, t in data.get("released_groups", {}).items()}
        except (ValueError, KeyError, TypeError, AttributeError) as err:
            raise ConfigError(
                "placements", source, f"a placements file written by cdk synth ({err})"
            ) from None
        return cls(teams=teams, released=released)


@dataclass(frozen=True)
class Allowances:
    """What the user explicitly allows in this synth (context flags)."""

    retire: frozenset[str] = frozenset()  # groups dropped from a team that stays
    release: frozenset[str] = frozenset()  # retired groups to take out of CloudFormation


def team_stack_name(stack: int) -> str:
    return f"MlopsRegistryTeams{stack}"


def legacy_stack(team: str, team_stacks: int) -> int:
    """Where the first release placed a team (stable hash); used to seed a missing placements file."""
    return int(hashlib.sha256(team.encode()).hexdigest(), 16) % team_stacks


def placements_path(config_path: str | Path) -> Path:
    path = Path(config_path)
    return path.with_name(f"{path.stem}.placements.json")


def load_placements(path: Path) -> Placements | None:
    if not path.exists():
        return None
    return Placements.from_json(path.read_text(), str(path))


# --------------------------------------------------------------------------- sizes


def estimate(config: ProjectConfig, placed: Iterable[TeamPlacement]) -> dict[str, int]:
    """Upper estimates of one team stack's resources, outputs and template bytes."""
    placed = list(placed)
    active = [p for p in placed if not p.retired]
    groups = sum(len(p.all_groups) for p in placed)
    discovery_accounts = 0 if config.registry.organization_id else len(config.team_accounts)
    return {
        # per active team: 2 roles + 2 default policies and 2 outputs; per group: 1 resource, 1 output
        "resources": 4 * len(active) + groups,
        "outputs": 2 * len(active) + sum(len(p.groups) for p in active),
        "bytes": BYTES_PER_TEAM * len(active)
        + groups * (BYTES_PER_GROUP + BYTES_PER_GROUP_PER_DISCOVERY_ACCOUNT * discovery_accounts),
    }


LIMITS = {"resources": MAX_RESOURCES, "outputs": MAX_OUTPUTS, "bytes": MAX_TEMPLATE_BYTES}


def _fits(config: ProjectConfig, placed: Iterable[TeamPlacement], ratio: float) -> bool:
    size = estimate(config, placed)
    return all(size[what] <= limit * ratio for what, limit in LIMITS.items())


# --------------------------------------------------------------------------- planning


def plan(config: ProjectConfig, previous: Placements | None, allow: Allowances = Allowances()) -> Placements:
    """The placements for `config`, given the previous ones; raises PlacementError for a change that would
    move or delete a group without the user's explicit allowance."""
    config_teams = {t.name: t for t in config.teams}
    teams: dict[str, TeamPlacement] = {}
    released = dict(previous.released) if previous else {}
    owner_before = {g: name for name, p in previous.teams.items() for g in p.all_groups} if previous else {}
    for team in config.teams:
        for index, group in enumerate(team.model_groups):
            path = f"teams.{team.name}.model_groups[{index}]"
            if owner_before.get(group, team.name) != team.name:
                raise PlacementError(
                    path,
                    group,
                    f"group '{group}' already lives in the stack of team '{owner_before[group]}' with its "
                    "versions; CloudFormation cannot move it to another team. Keep it in team "
                    f"'{owner_before[group]}', or give the new group another name",
                )
            if group in released:
                raise PlacementError(
                    path,
                    group,
                    f"group '{group}' was released from CloudFormation (it was team '{released[group]}'s) and may "
                    "still exist in the registry account with its versions. Use another name, or delete the old "
                    "group for real (README 'Retire a team') and then remove it from 'released_groups' of the "
                    "placements file",
                )

    if previous is not None:
        for name, before in previous.teams.items():
            current = config_teams.get(name)
            if current is None:  # retired: groups stay, roles go
                teams[name] = TeamPlacement(
                    stack=before.stack, groups=(), retired_groups=before.all_groups, retired=True
                )
                continue
            dropped = [g for g in before.groups if g not in current.model_groups]
            refused = [g for g in dropped if g not in allow.retire]
            if refused:
                group = refused[0]
                raise PlacementError(
                    f"teams.{name}.model_groups",
                    group,
                    f"group '{group}' of team '{name}' ({team_stack_name(before.stack)}) is no longer in the "
                    "config. A renamed group is a new, empty group: the old one keeps the versions. Put "
                    f"'{group}' back, or retire it on purpose with `cdk deploy -c allow_retire={group}` (it "
                    "stays in the registry with its versions; README 'Retire a team')",
                )
            kept_retired = [g for g in before.all_groups if g not in current.model_groups]
            teams[name] = TeamPlacement(
                stack=before.stack,
                groups=current.model_groups,
                retired_groups=tuple(kept_retired),
                retired=False,
            )

    for name in list(teams):
        placement = teams[name]
        releasing = [g for g in placement.retired_groups if g in allow.release]
        if releasing:
            for group in releasing:
                released[group] = name
            retired = tuple(g for g in placement.retired_groups if g not in allow.release)
            if placement.retired and not retired:
                del teams[name]
            else:
                teams[name] = replace(placement, retired_groups=retired)
    active_groups = {g for p in teams.values() for g in p.groups}
    unknown = sorted(allow.release - set(released) - active_groups)
    if unknown:
        raise PlacementError(
            "allow_release",
            ",".join(unknown),
            "only retired groups can be released; these are not retired groups",
        )
    still_active = sorted(allow.release & active_groups)
    if still_active:
        raise PlacementError(
            "allow_release",
            ",".join(still_active),
            "a group in the config cannot be released: remove it from the config first (it is then retired)",
        )

    team_stacks = config.registry.team_stacks
    used = sorted({p.stack for p in teams.values()})
    if used and used[-1] >= team_stacks:
        raise ConfigError(
            "registry.team_stacks",
            team_stacks,
            f"at least {used[-1] + 1}: teams already live in {team_stack_name(used[-1])} (teams never move)",
        )

    new = [t for t in config.teams if t.name not in teams]
    by_stack: dict[int, list[TeamPlacement]] = {}
    for placement in teams.values():
        by_stack.setdefault(placement.stack, []).append(placement)
    for team in new:
        teams[team.name] = _place(config, team, by_stack, seed=previous is None)

    for stack, placed in sorted(by_stack.items()):
        size = estimate(config, placed)
        for what, limit in LIMITS.items():
            if size[what] > limit:
                raise ConfigError(
                    "registry.team_stacks",
                    team_stacks,
                    f"{team_stack_name(stack)} would hold about {size[what]} {what} (limit {limit}). Teams never "
                    "move between stacks: put new groups into a new team (it goes to a stack with room)",
                )
    return Placements(teams=dict(sorted(teams.items())), released=released)


def _place(
    config: ProjectConfig, team: Team, by_stack: dict[int, list[TeamPlacement]], *, seed: bool
) -> TeamPlacement:
    placement = TeamPlacement(stack=0, groups=team.model_groups)
    team_stacks = config.registry.team_stacks
    candidates = list(range(team_stacks))
    if seed:  # where the first release put it, if there is room
        legacy = legacy_stack(team.name, team_stacks)
        candidates = [legacy, *(s for s in candidates if s != legacy)]
    for stack in candidates:
        placed = [*by_stack.get(stack, []), replace(placement, stack=stack)]
        if _fits(config, placed, FILL_RATIO):
            by_stack[stack] = placed
            return replace(placement, stack=stack)
    raise ConfigError(
        "registry.team_stacks",
        team_stacks,
        f"no team stack has room for team '{team.name}' (each is filled to {int(FILL_RATIO * 100)}% of "
        "CloudFormation's limits so placed teams can still grow); raise team_stacks: new teams go to the new "
        "stacks and no team moves",
    )
