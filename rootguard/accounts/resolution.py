"""Which accounts a run judges: listed in the profile, every ACTIVE member of an AWS Organization, or a vended one.

Resolution also states the population: every account the profile's scope reaches, judged
or not, with the reason, and its place in the organization. The run then narrows the
judged accounts with --account and --shard (in_shard), and says so of each it leaves.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from typing import Iterable

from rootguard.accounts import Account
from rootguard.accounts.sessions import Connector
from rootguard.errors import AccountsError, FactError

# Why an account of the population is, or is not, judged by this run (population.json's `reason`).
JUDGED = "judged"
UNREACHABLE = "unreachable"
ANOTHER_SHARD = "another_shard"
NOT_SELECTED = "not_selected"
SUSPENDED_OR_CLOSED = "suspended_or_closed"
EXCLUDED = "excluded"
OUTSIDE_INCLUDE_OUS = "outside_include_ous"
REASONS = {
    JUDGED: "judged by this run",
    UNREACHABLE: "in scope and judged, but its credentials never answered: every control of it is error",
    ANOTHER_SHARD: "in scope, judged by another shard of this sweep (--shard)",
    NOT_SELECTED: "in scope, left out of this run with --account",
    SUSPENDED_OR_CLOSED: "out of scope: suspended or closed in AWS Organizations",
    EXCLUDED: "out of scope: excluded by the profile (organization.exclude_accounts)",
    OUTSIDE_INCLUDE_OUS: "out of scope: outside the profile's organization.include_ous",
}
IN_SCOPE = (JUDGED, UNREACHABLE, ANOTHER_SHARD, NOT_SELECTED)


@dataclass(frozen=True)
class Member:
    """One account of the population."""

    id: str
    name: str
    source: str  # profile | organization | vending
    status: str | None  # the organization's State of it (ACTIVE, SUSPENDED, PENDING_CLOSURE, CLOSED)
    ou_path: str | None  # "Root/Workloads/Prod": the OUs above it, when the organization was listed
    reason: str

    @property
    def in_scope(self) -> bool:
        return self.reason in IN_SCOPE

    def because(self, reason: str) -> "Member":
        return replace(self, reason=reason)


@dataclass(frozen=True)
class Population:
    accounts: list[Account]  # in scope: what the run judges before --account and --shard
    members: list[Member]  # everything the scope reached, in and out
    listings: list = field(default_factory=list)  # (fact name, params) of the hub's listings behind it


def resolve_accounts(connector: Connector, requested: Iterable[str] = (), hub=None) -> list[Account]:
    """The profile's accounts; with `vending`, the requested new accounts, reached through its role."""
    return resolve_population(connector, requested, hub).accounts


def resolve_population(connector: Connector, requested: Iterable[str] = (), hub=None) -> Population:
    """Every account the profile's scope reaches, those it judges first among them, with why each is in or out.

    `hub` is the FactStore of the hub's own account: the organization is listed through it,
    so that the listings are kept as evidence like any fact.
    """
    if hub is None and connector.profile.organization is not None:
        from rootguard.facts import FactStore

        profile = connector.profile
        hub = FactStore(Account(id=connector.hub_account_id(), name="hub", source="hub"), connector, profile.regions, profile.home_region)
    if connector.profile.vending is not None:
        accounts = vending_accounts(connector, requested)
        return Population(accounts, [Member(a.id, a.name, "vending", None, None, JUDGED) for a in accounts])
    listed = [
        Account(id=a.id, name=a.name, role_arn=a.role_arn, aws_profile=a.aws_profile, external_id=a.external_id)
        for a in connector.profile.accounts
    ]
    accounts = {a.id: a for a in listed}
    members: dict[str, Member] = {a.id: Member(a.id, a.name, "profile", None, None, JUDGED) for a in listed}
    listings: list = []
    if connector.profile.organization is not None:
        in_org, org_members, listings = organization_accounts(connector, hub)
        for account in in_org:
            accounts.setdefault(account.id, account)
        for member in org_members:
            known = members.get(member.id)
            if known is None:
                members[member.id] = member
            else:  # listed in the profile and in the organization: judged, with the organization's place
                members[member.id] = Member(known.id, known.name, known.source, member.status, member.ou_path, JUDGED)
    ordered = sorted(accounts.values(), key=lambda a: (a.name.lower(), a.id))
    return Population(ordered, sorted(members.values(), key=lambda m: (m.name.lower(), m.id)), listings)

def vending_accounts(connector: Connector, requested: Iterable[str]) -> list[Account]:
    vending = connector.profile.vending
    requested = list(requested)
    if not requested:
        raise AccountsError(f"{connector.profile.path}: a vending profile judges the account(s) named with --account ID")
    listed = {a.id: a for a in connector.profile.accounts}
    return [
        Account(
            id=account_id,
            name=listed[account_id].name if account_id in listed else f"new-{account_id}",
            role_arn=f"arn:aws:iam::{account_id}:role/{vending.role_name}",
            external_id=vending.external_id,
            source="vending",
            wait_seconds=vending.wait_seconds,
            retry_seconds=vending.retry_seconds,
        )
        for account_id in requested
    ]

def organization_accounts(connector: Connector, hub) -> tuple[list[Account], list[Member], list]:
    """The ACTIVE accounts in scope, every account of the organization with its reason, and the listings read."""
    scope = connector.profile.organization
    where = f"{connector.profile.path}: organization"
    hub_account = connector.hub_account_id()
    org = _read(hub, where, "organizations.organization")
    if org is None:
        raise AccountsError(f"{where}: the hub's account {hub_account} is in no AWS Organization (organizations:DescribeOrganization answered AWSOrganizationsNotInUseException)")
    # The roots and OUs, walked once: every account is listed under its one parent.
    tree = _read(hub, where, "organizations.tree")
    allowed = _accounts_under(tree, scope.include_ous, where) if scope.include_ous else None
    result, members = [], []
    for entry in tree.accounts:
        account_id, state = entry.get("Id"), entry.get("State") or entry.get("Status")
        if not isinstance(account_id, str) or not state:
            raise AccountsError(f"organizations:ListAccountsForParent returned an account without Id or Status: {sorted(entry)}")
        name = str(entry.get("Name") or account_id)
        if state != "ACTIVE":
            reason = SUSPENDED_OR_CLOSED
        elif account_id in scope.exclude_accounts:
            reason = EXCLUDED
        elif allowed is not None and account_id not in allowed:
            reason = OUTSIDE_INCLUDE_OUS
        else:
            reason = JUDGED
        members.append(Member(account_id, name, "organization", state, tree.path_of(account_id), reason))
        if reason != JUDGED:
            continue
        role_arn = None if account_id == hub_account else f"arn:aws:iam::{account_id}:role/{scope.role_name}"
        result.append(
            Account(
                id=account_id,
                name=name,
                role_arn=role_arn,
                external_id=scope.external_id if role_arn else None,
                source="organization",
            )
        )
    if not result:
        raise AccountsError(f"{where}: no ACTIVE account matches include_ous / exclude_accounts")
    return result, members, list(tree.listings)

def _read(hub, where: str, name: str, **params):
    """A listing through the hub's store; one that fails stops the run (exit 6), as the accounts are unknown."""
    try:
        return hub.get(name, **params)
    except FactError as exc:
        raise AccountsError(f"{where}: could not list the organization's accounts: {exc}") from None


def _accounts_under(tree, wanted: Iterable[str], where: str) -> set[str]:
    """Accounts under the OUs (or root) named by id or name, sub-OUs included."""
    wanted = list(wanted)
    hits = {unit.id for unit in tree.units if unit.id in wanted or unit.name in wanted}
    matched = {w for unit in tree.units for w in (unit.id, unit.name) if w in wanted}
    missing = [w for w in wanted if w not in matched]
    if missing:
        raise AccountsError(f"{where}.include_ous: {', '.join(missing)} matches no organizational unit")
    return {account_id for account_id, placement in tree.placements.items() if any(parent in hits for parent, _ in placement.parents)}


def in_shard(account_id: str, index: int, total: int) -> bool:
    """Shard membership by a hash of the id: stable across jobs and when other accounts come and go."""
    return int(hashlib.sha256(account_id.encode()).hexdigest(), 16) % total == index - 1
