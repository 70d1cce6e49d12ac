"""Organizations facts: is the account in an AWS Organization, the SCPs above it, and centralized root access.

An account tells for itself whether it is in an organization and which one
(DescribeOrganization from its own credentials). What only the organization's
management view can read (the account's parents, the policies attached to each,
the IAM organization features) is read through the hub, once for the whole run,
after checking that the hub sees the same organization.

AWS Organizations answers only a few requests per second, so what the hub reads costs requests
in proportion to the organization's OUs and policies, not its accounts: one walk of the tree
(ListRoots, ListOrganizationalUnitsForParent, ListAccountsForParent) lists and places every
account, and ListPolicies with ListTargetsForPolicy tells where every SCP is attached. Both are
read once per run and shared by every account's verdict. The walk is also the population: an
account has one parent, a root or an OU ("In the current release, a child can have only a
single parent": the ListParents API reference), and ListAccountsForParent answers with the same
entries as ListAccounts (both list the `Account` shape of botocore's organizations service
model: Id, Arn, Email, Name, Status, State, ...), so ListAccounts would only list them a second
time, 20 a page.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property

from rootguard.errors import FactError, UnexpectedResponse
from rootguard.facts.registry import Unreadable, fact
from rootguard.facts.shapes import maybe, need

DESCRIBE = "organizations:DescribeOrganization"
WALK = "organizations:ListAccountsForParent"
POLICIES = "organizations:ListPolicies"
TARGETS = "organizations:ListTargetsForPolicy"
POLICY = "organizations:DescribePolicy"
FEATURES = "iam:ListOrganizationsFeatures"
MAX_DEPTH = 8  # the root, five levels of OUs and the account, with room to spare


@dataclass(frozen=True)
class Organization:
    id: str
    management_account: str


@dataclass(frozen=True)
class ServiceControlPolicy:
    id: str
    name: str
    target: str  # where it is attached: an account id, an OU id or the root id
    target_kind: str  # ACCOUNT | ORGANIZATIONAL_UNIT | ROOT
    document: dict

    def describe(self) -> str:
        where = {"ACCOUNT": "on the account", "ORGANIZATIONAL_UNIT": f"on OU {self.target}", "ROOT": f"on root {self.target}"}
        return f"SCP {self.name} ({where.get(self.target_kind, self.target)})"


@fact("organizations.organization")
def organization(ctx) -> Organization | None:
    """DescribeOrganization, asked by the account itself; None when it is in no organization."""
    response = ctx.call("organizations", "describe_organization", absent=("AWSOrganizationsNotInUseException",))
    if response is None:
        return None
    org = need(response, "Organization", dict, DESCRIBE)
    return Organization(id=need(org, "Id", str, DESCRIBE), management_account=need(org, "MasterAccountId", str, DESCRIBE))


@fact("organizations.roots")
def roots(ctx) -> list:
    """ListRoots: the organization's root (the hub's view)."""
    return ctx.paginate("organizations", "list_roots", "Roots")


@fact("organizations.child_units")
def child_units(ctx, parent: str) -> list:
    """ListOrganizationalUnitsForParent: the OUs directly under a root or OU (the hub's view)."""
    return ctx.paginate("organizations", "list_organizational_units_for_parent", "OrganizationalUnits", ParentId=parent)


@fact("organizations.accounts_for_parent")
def accounts_for_parent(ctx, parent: str) -> list:
    """ListAccountsForParent: the accounts directly under a root or OU (the hub's view)."""
    return ctx.paginate("organizations", "list_accounts_for_parent", "Accounts", ParentId=parent)


@dataclass(frozen=True)
class Placement:
    """Where one account sits: its parents, nearest first, each with the listing that shows it there."""

    parents: tuple[tuple[str, str], ...]  # (id, ROOT | ORGANIZATIONAL_UNIT), the account's parent first
    # The listings that prove each step: ("organizations.accounts_for_parent", parent) for the
    # account, ("organizations.child_units", grandparent) for each OU, ("organizations.roots", None).
    listings: tuple[tuple[str, str | None], ...]


@dataclass(frozen=True)
class Unit:
    """A root or an OU, with its path of names from the root ("Root/Workloads/Prod")."""

    id: str
    name: str
    path: str
    parent: str | None  # None for a root


@dataclass(frozen=True)
class OrganizationTree:
    """The organization walked once from its roots down: its units, where each account sits, and the listings read."""

    units: tuple[Unit, ...]  # in the order walked
    placements: dict[str, Placement]  # account id -> Placement
    listings: tuple[tuple[str, dict], ...]  # (fact name, params) of every listing read, in order
    accounts: tuple[dict, ...]  # every account's ListAccountsForParent entry, whatever its state, in the order walked

    @cached_property
    def _paths(self) -> dict[str, str]:
        return {unit.id: unit.path for unit in self.units}

    def path_of(self, account_id: str) -> str | None:
        placement = self.placements.get(account_id)
        return self._paths[placement.parents[0][0]] if placement is not None else None


@fact("organizations.tree")
def tree(ctx) -> OrganizationTree:
    """One walk of the organization from its roots down (the hub's view): its OUs, every account and its place.

    ListParents would cost a request per account and per OU; this costs two per OU, and a page
    per 20 accounts. The population is read from it (the accounts, their OU paths, include_ous),
    and so is scp-deny-root (an account's parents).
    """

    def listing(name: str, **params) -> list:
        listings.append((name, params))
        return ctx.fact(name, **params)

    def ids(items: list, action: str, what: str) -> list[tuple[str, dict]]:
        for item in items:
            if not isinstance(item, dict) or not isinstance(item.get("Id"), str):
                # An account that cannot be placed would silently fall outside include_ous.
                raise UnexpectedResponse(f"{action} returned {what} without Id: {sorted(item) if isinstance(item, dict) else item!r}", action=action)
        return [(item["Id"], item) for item in items]

    listings: list[tuple[str, dict]] = []
    units: list[Unit] = []
    placements: dict[str, Placement] = {}
    entries: list[dict] = []
    stack: list[tuple[Unit, tuple, tuple]] = []
    for root_id, root in ids(listing("organizations.roots"), "organizations:ListRoots", "a root"):
        stack.append((Unit(root_id, str(root.get("Name") or "Root"), str(root.get("Name") or "Root"), None),
                      ((root_id, "ROOT"),), (("organizations.roots", None),)))
    while stack:
        unit, chain, proof = stack.pop()
        units.append(unit)
        for account_id, entry in ids(listing("organizations.accounts_for_parent", parent=unit.id), WALK, "an account"):
            if account_id in placements:
                raise UnexpectedResponse(f"{WALK}: account {account_id} is listed under two parents", action=WALK)
            placements[account_id] = Placement(chain, (("organizations.accounts_for_parent", unit.id), *proof))
            entries.append(entry)
        children = ids(listing("organizations.child_units", parent=unit.id), "organizations:ListOrganizationalUnitsForParent", "an OU")
        if children and len(chain) >= MAX_DEPTH:
            raise UnexpectedResponse(f"{WALK}: OUs nested deeper than {MAX_DEPTH} levels under {unit.id}", action=WALK)
        for child, entry in children:
            name = str(entry.get("Name") or child)
            stack.append((Unit(child, name, f"{unit.path}/{name}", unit.id),
                          ((child, "ORGANIZATIONAL_UNIT"), *chain), (("organizations.child_units", unit.id), *proof)))
    return OrganizationTree(tuple(units), placements, tuple(listings), tuple(entries))


@fact("organizations.policy_targets")
def policy_targets(ctx, policy_id: str) -> list:
    """ListTargetsForPolicy: the roots, OUs and accounts one policy is attached to (the hub's view)."""
    return ctx.paginate("organizations", "list_targets_for_policy", "Targets", PolicyId=policy_id)


@fact("organizations.scp_attachments")
def scp_attachments(ctx) -> list[tuple[str, "frozenset[str] | Unreadable"]]:
    """Every SCP of the organization, in ListPolicies order, with the ids it is attached to (the hub's view).

    A policy whose targets cannot be read is kept with an Unreadable: it may apply anywhere.
    """
    attachments = []
    for summary in ctx.paginate("organizations", "list_policies", "Policies", Filter="SERVICE_CONTROL_POLICY"):
        policy_id = need(summary, "Id", str, POLICIES)
        targets = ctx.attempt("organizations.policy_targets", policy_id=policy_id)
        if not isinstance(targets, Unreadable):
            targets = frozenset(need(target, "TargetId", str, TARGETS) for target in targets)
        attachments.append((policy_id, targets))
    return attachments


@fact("organizations.policy")
def policy(ctx, policy_id: str) -> dict:
    """DescribePolicy: one policy's summary and content (the hub's view)."""
    return need(ctx.call("organizations", "describe_policy", PolicyId=policy_id), "Policy", dict, POLICY)


def _same_organization(ctx, org: Organization, view_org_id: str, what: str) -> None:
    if view_org_id != org.id:
        raise FactError(
            f"{what}: the hub's credentials see organization {view_org_id}, but {ctx.account.label} is in {org.id} "
            f"(management account {org.management_account}); run from that organization's management account "
            "or a delegated administrator",
            action=what,
            code="OtherOrganization",
        )


@fact("organizations.service_control_policies")
def service_control_policies(ctx) -> list | None:
    """Every SCP that applies to a member account: attached to it, to an OU above it, or to the root.

    Each is a ServiceControlPolicy, or Unreadable when its DescribePolicy failed. None for an
    account in no organization, and for a management account, which SCPs never restrict.
    """
    org = ctx.fact("organizations.organization")
    if org is None or org.management_account == ctx.account.id:
        return None
    hub_org = ctx.hub_fact("organizations.organization")
    _same_organization(ctx, org, hub_org.id if hub_org else "(none)", WALK)
    # The walk is read without making it evidence of this verdict: the listings on the account's
    # own path, recorded below, are what place it (an account and an OU have exactly one parent).
    try:
        organization_tree = ctx.store.hub_store.get("organizations.tree")
    except FactError:
        ctx.hub_fact("organizations.tree")  # fails again, from the cache: the verdict's evidence names the listing
        raise
    placement = organization_tree.placements.get(ctx.account.id)
    if placement is None:
        raise UnexpectedResponse(
            f"{WALK}: {ctx.account.id} is under no root or OU of organization {org.id} as the hub lists it", action=WALK
        )
    for name, parent in placement.listings:
        ctx.hub_fact(name, **({"parent": parent} if parent else {}))
    path = [(ctx.account.id, "ACCOUNT"), *placement.parents]
    attachments = ctx.hub_fact("organizations.scp_attachments")
    result: list = []
    for policy_id, targets in attachments:
        if isinstance(targets, Unreadable):
            # Where it is attached is unknown: it may or may not apply to this account.
            error = targets.error
            result.append(Unreadable(FactError(f"SCP {policy_id}, where it is attached: {error}", action=error.action, code=error.code)))
    for target, kind in path:
        for policy_id, targets in attachments:
            if isinstance(targets, Unreadable) or target not in targets:
                continue
            try:
                result.append(_policy(ctx, policy_id, target, kind))
            except FactError as exc:
                # One policy that cannot be read leaves the others to show a root deny (or its absence).
                result.append(Unreadable(FactError(f"SCP {policy_id} on {target}: {exc}", action=exc.action, code=exc.code)))
    return result


def _policy(ctx, policy_id: str, target: str, kind: str) -> ServiceControlPolicy:
    described = ctx.hub_fact("organizations.policy", policy_id=policy_id)
    name = need(need(described, "PolicySummary", dict, POLICY), "Name", str, POLICY)
    try:
        document = json.loads(need(described, "Content", str, POLICY))
    except ValueError:
        raise UnexpectedResponse(f"{POLICY}: the content of {policy_id} is not JSON", action=POLICY) from None
    if not isinstance(document, dict):
        raise UnexpectedResponse(f"{POLICY}: the content of {policy_id} is not a JSON object", action=POLICY)
    return ServiceControlPolicy(policy_id, name, target, kind, document)


@dataclass(frozen=True)
class RootAccessFeatures:
    """What IAM says of centralized root access for an organization."""

    organization_id: str | None  # None when IAM answered with an exception that names none
    enabled: frozenset[str]
    blocked_by: str | None = None  # why none can be enabled yet: trusted access off, not all features


# Exceptions of iam:ListOrganizationsFeatures that answer the question (no feature is or can be
# enabled), per the API reference:
# https://docs.aws.amazon.com/IAM/latest/APIReference/API_ListOrganizationsFeatures.html
FEATURES_ANSWERS = {
    "ServiceAccessNotEnabledException": "trusted access for IAM is not enabled in AWS Organizations",
    "OrganizationNotInAllFeaturesModeException": "the organization does not have all features enabled",
}


@fact("iam.organizations_features")
def organizations_features(ctx) -> RootAccessFeatures:
    """ListOrganizationsFeatures: the centralized root access features of the caller's organization."""
    try:
        response = ctx.call("iam", "list_organizations_features")
    except FactError as exc:
        if exc.code in FEATURES_ANSWERS:
            return RootAccessFeatures(None, frozenset(), FEATURES_ANSWERS[exc.code])
        raise
    # EnabledFeatures is left out when nothing is enabled.
    features = maybe(response, "EnabledFeatures", list, FEATURES) or []
    if not all(isinstance(f, str) for f in features):
        raise UnexpectedResponse(f"{FEATURES}: EnabledFeatures holds something other than names", action=FEATURES)
    return RootAccessFeatures(need(response, "OrganizationId", str, FEATURES), frozenset(features))


@fact("organizations.root_access_features")
def root_access_features(ctx) -> RootAccessFeatures | None:
    """The centralized root access features of the account's organization; None outside one.

    Read once for the organization: from the management view (the hub), or from the
    account itself when it is the management account of its own organization.
    """
    org = ctx.fact("organizations.organization")
    if org is None:
        return None
    if org.management_account == ctx.account.id:
        view = ctx.fact("iam.organizations_features")
    else:
        view = ctx.hub_fact("iam.organizations_features")
        if view.organization_id is None:
            # The answer names no organization: make sure the hub is in the account's own.
            hub_org = ctx.hub_fact("organizations.organization")
            _same_organization(ctx, org, hub_org.id if hub_org else "(none)", FEATURES)
    if view.organization_id is not None:
        _same_organization(ctx, org, view.organization_id, FEATURES)
    return view
