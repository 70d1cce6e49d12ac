"""Organizations facts: is the account in an AWS Organization, the SCPs above it, and centralized root access.

An account tells for itself whether it is in an organization and which one
(DescribeOrganization from its own credentials). What only the organization's
management view can read (the account's parents, the policies attached to each,
the IAM organization features) is read through the hub, once for the whole run,
after checking that the hub sees the same organization.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from rootguard.errors import FactError, UnexpectedResponse
from rootguard.facts.registry import Unreadable, fact
from rootguard.facts.shapes import maybe, need

DESCRIBE = "organizations:DescribeOrganization"
PARENTS = "organizations:ListParents"
POLICIES = "organizations:ListPoliciesForTarget"
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


@fact("organizations.accounts")
def accounts(ctx) -> list:
    """ListAccounts: every account of the organization, whatever its state (the hub's view)."""
    return ctx.paginate("organizations", "list_accounts", "Accounts")


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


@fact("organizations.parents")
def parents(ctx, child: str) -> list:
    """ListParents of an account or OU (the hub's view)."""
    return ctx.paginate("organizations", "list_parents", "Parents", ChildId=child)


@fact("organizations.policies_for_target")
def policies_for_target(ctx, target: str) -> list:
    """The service control policies attached directly to an account, OU or root (the hub's view)."""
    return ctx.paginate("organizations", "list_policies_for_target", "Policies", TargetId=target, Filter="SERVICE_CONTROL_POLICY")


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
    _same_organization(ctx, org, hub_org.id if hub_org else "(none)", PARENTS)
    path = [(ctx.account.id, "ACCOUNT")]
    while path[-1][1] != "ROOT":
        if len(path) > MAX_DEPTH:
            raise UnexpectedResponse(f"{PARENTS}: no root above {ctx.account.id} after {MAX_DEPTH} levels", action=PARENTS)
        found = ctx.hub_fact("organizations.parents", child=path[-1][0])
        if len(found) != 1:
            raise UnexpectedResponse(f"{PARENTS}: {path[-1][0]} has {len(found)} parents, not one", action=PARENTS)
        path.append((need(found[0], "Id", str, PARENTS), need(found[0], "Type", str, PARENTS)))
    result: list = []
    for target, kind in path:
        for summary in ctx.hub_fact("organizations.policies_for_target", target=target):
            policy_id = need(summary, "Id", str, POLICIES)
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
