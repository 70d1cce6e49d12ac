"""Which accounts a run judges: listed in the profile, every ACTIVE member of an AWS Organization, or a vended one.

The run then narrows them with --account and --shard (in_shard).
"""

from __future__ import annotations

import hashlib
from typing import Iterable

from botocore.exceptions import BotoCoreError, ClientError

from rootguard.accounts import Account
from rootguard.accounts.sessions import Connector
from rootguard.errors import AccountsError, describe_client_error


def resolve_accounts(connector: Connector, requested: Iterable[str] = ()) -> list[Account]:
    """The profile's accounts; with `vending`, the requested new accounts, reached through its role."""
    if connector.profile.vending is not None:
        return vending_accounts(connector, requested)
    listed = [
        Account(id=a.id, name=a.name, role_arn=a.role_arn, aws_profile=a.aws_profile, external_id=a.external_id)
        for a in connector.profile.accounts
    ]
    accounts = {a.id: a for a in listed}
    if connector.profile.organization is not None:
        for account in organization_accounts(connector):
            accounts.setdefault(account.id, account)
    return sorted(accounts.values(), key=lambda a: (a.name.lower(), a.id))

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

def organization_accounts(connector: Connector) -> list[Account]:
    scope = connector.profile.organization
    hub_account = connector.hub_account_id()
    org = connector.client(connector.hub(), "organizations", connector.profile.home_region)
    try:
        org.describe_organization()
    except (ClientError, BotoCoreError) as exc:
        raise AccountsError(
            f"{connector.profile.path}: organization: {describe_client_error(exc, 'organizations:DescribeOrganization')}"
        ) from None
    members = _paginate(org, "list_accounts", "Accounts", "organizations:ListAccounts")
    if scope.include_ous:
        allowed = _accounts_in_ous(connector, org, scope.include_ous)
        members = [m for m in members if m.get("Id") in allowed]
    result = []
    for member in members:
        account_id, state = member.get("Id"), member.get("State") or member.get("Status")
        if not isinstance(account_id, str) or not state:
            raise AccountsError(f"organizations:ListAccounts returned an account without Id or Status: {sorted(member)}")
        if state != "ACTIVE" or account_id in scope.exclude_accounts:
            continue
        role_arn = None if account_id == hub_account else f"arn:aws:iam::{account_id}:role/{scope.role_name}"
        result.append(
            Account(
                id=account_id,
                name=str(member.get("Name") or account_id),
                role_arn=role_arn,
                external_id=scope.external_id if role_arn else None,
                source="organization",
            )
        )
    if not result:
        raise AccountsError(f"{connector.profile.path}: organization: no ACTIVE account matches include_ous / exclude_accounts")
    return result

def _accounts_in_ous(connector: Connector, org, wanted: Iterable[str]) -> set[str]:
    wanted = list(wanted)
    roots = _paginate(org, "list_roots", "Roots", "organizations:ListRoots")
    found = {r.get("Id") for r in roots if r.get("Id") in wanted}
    # Walk the OU tree once; an OU matches by id or by name and brings its sub-OUs with it.
    stack = [(r["Id"], r.get("Id") in wanted) for r in roots]
    included_parents: list[str] = []
    while stack:
        parent, included = stack.pop()
        if included:
            included_parents.append(parent)
        children = _paginate(
            org, "list_organizational_units_for_parent", "OrganizationalUnits",
            "organizations:ListOrganizationalUnitsForParent", ParentId=parent,
        )
        for ou in children:
            hit = ou.get("Id") in wanted or ou.get("Name") in wanted
            if hit:
                found.update({ou.get("Id"), ou.get("Name")})
            stack.append((ou["Id"], included or hit))
    missing = [w for w in wanted if w not in found]
    if missing:
        raise AccountsError(f"{connector.profile.path}: organization.include_ous: {', '.join(missing)} matches no organizational unit")
    ids: set[str] = set()
    for parent in included_parents:
        for account in _paginate(
            org, "list_accounts_for_parent", "Accounts", "organizations:ListAccountsForParent", ParentId=parent
        ):
            ids.add(account.get("Id"))
    return ids

def _paginate(client, operation: str, key: str, action: str, **params) -> list[dict]:
    items: list[dict] = []
    try:
        for page in client.get_paginator(operation).paginate(**params):
            chunk = page.get(key)
            if not isinstance(chunk, list):
                raise AccountsError(f"{action} returned no {key} list")
            items.extend(chunk)
    except (ClientError, BotoCoreError) as exc:
        raise AccountsError(f"could not list the organization's accounts: {describe_client_error(exc, action)}") from None
    return items


def in_shard(account_id: str, index: int, total: int) -> bool:
    """Shard membership by a hash of the id: stable across jobs and when other accounts come and go."""
    return int(hashlib.sha256(account_id.encode()).hexdigest(), 16) % total == index - 1
