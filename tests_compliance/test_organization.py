"""Organization controls: an SCP denies root in member accounts, and root access is managed centrally."""

from rootguard.controls import control, fail, not_applicable
from rootguard.controls.partial import Gaps
from rootguard.facts.policy_documents import root_deny_exemptions, root_deny_gaps, statements

ROOT_FEATURES = ("RootCredentialsManagement", "RootSessions")


def _outside_organization(account, org) -> None:
    if org is None:
        not_applicable("the account is not in an AWS Organization (DescribeOrganization: AWSOrganizationsNotInUseException)")


@control(
    id="scp-deny-root",
    title="A service control policy denies the root user in member accounts",
    severity="high",
    rationale="""An SCP that denies every action to a member account's root user makes stolen root
        credentials useless there, whatever happens to the password or MFA device; the
        organization, not the account, decides what root may still do.""",
    remediation="""Attach an SCP with a Deny of Action "*" on Resource "*" under the condition
        StringLike aws:PrincipalArn arn:aws:iam::*:root to the organization root or the account's
        OU (AWS Organizations > Policies > Service control policies).""",
    passes_when="""the account, a member of an AWS Organization, is covered by a service control policy
        (attached to it, to an OU above it or to the root) with a statement denying Action `*` on
        Resource `*` when `aws:PrincipalArn` is like `arn:aws:iam::*:root` or `arn:*:iam::*:root`
        (or equals the account's root ARN, in its partition), under no other condition but
        exemptions of other principals and of `sts:AssumeRoot` sessions (AWS Control Tower's
        `ExemptedPrincipalArns`, `ExemptAssumeRoot`); a `NotAction` may leave only actions listed in
        `scp_root_allowed_actions` ({scp_root_allowed_actions}); skipped for a management account
        and for an account in no organization""",
    facts=["organizations.organization", "organizations.service_control_policies"],
    frameworks={"soc2": ["CC6.1", "CC6.3"], "iso27001": ["A.8.2", "A.5.15"]},
)
def test_scp_deny_root(account):
    org = account.fact("organizations.organization")
    _outside_organization(account, org)
    if org.management_account == account.id:
        not_applicable(f"this is the management account of {org.id}; SCPs never restrict a management account")
    root_arn = f"arn:{account.partition}:iam::{account.id}:root"
    allowed = tuple(account.params["scp_root_allowed_actions"])
    gaps, policies, shortfalls = Gaps(), [], []
    for policy in account.fact("organizations.service_control_policies"):
        if gaps.read(policy, "a service control policy above the account") is not None:
            policies.append(policy)
    for policy in policies:
        for statement in statements(policy.document, "organizations:DescribePolicy"):
            shortfall = root_deny_gaps(statement, root_arn, allowed)
            if shortfall == []:
                spared = root_deny_exemptions(statement)
                exceptions = f", except {'; '.join(spared)}" if spared else ""
                account.passes_because(f"{policy.describe()} denies every action to {root_arn}{exceptions}{gaps.note()}")
                return
            if shortfall:
                shortfalls.append(f"{policy.describe()} {'; '.join(shortfall)}")
    if gaps:
        gaps.undecided("whether an SCP denies root everything")
    if shortfalls:
        fail(
            "no SCP denies root everything: " + "; ".join(shortfalls)
            + "; deny Action * to aws:PrincipalArn arn:aws:iam::*:root (allowed exceptions: params.scp_root_allowed_actions)"
        )
    names = ", ".join(p.describe() for p in policies) or "none"
    fail(
        f"no SCP above the account denies its root user (SCPs: {names}); attach one denying Action * "
        "when aws:PrincipalArn is like arn:aws:iam::*:root, to the root or the account's OU"
    )


@control(
    id="centralized-root-access",
    title="The organization manages member root access centrally",
    severity="high",
    rationale="""With RootCredentialsManagement, member accounts can be left without root credentials at all,
        and with RootSessions the management account performs the few root-only tasks in a short,
        audited session; nobody keeps a root password per account.""",
    remediation="""From the management account: IAM > Root access management > Enable, with both
        root credentials management and privileged root actions in member accounts
        (aws iam enable-organizations-root-credentials-management and
        enable-organizations-root-sessions).""",
    passes_when="""the account's organization has IAM's `RootCredentialsManagement` and `RootSessions` features
        enabled, judged once for the organization from the management view (IAM's trusted access
        off, or an organization without all features, fails); skipped for an account in no
        organization""",
    facts=["organizations.organization", "organizations.root_access_features"],
    frameworks={"cis-v7": ["2.1.1"], "soc2": ["CC6.1", "CC6.2"], "iso27001": ["A.8.2", "A.5.17", "A.5.18"]},
)
def test_centralized_root_access(account):
    org = account.fact("organizations.organization")
    _outside_organization(account, org)
    features = account.fact("organizations.root_access_features")
    if features.blocked_by:
        fail(
            f"organization {org.id} (management account {org.management_account}) has no centralized root access: "
            f"{features.blocked_by} (iam:ListOrganizationsFeatures); enable it from the management account: "
            "IAM > Root access management > Enable, which also turns on IAM's trusted access"
        )
    missing = [f for f in ROOT_FEATURES if f not in features.enabled]
    if missing:
        fail(
            f"organization {org.id} (management account {org.management_account}) has not enabled {', '.join(missing)}; "
            "enable it from the management account: IAM > Root access management"
        )
    account.passes_because(
        f"organization {org.id} has RootCredentialsManagement and RootSessions enabled (judged once, from the management view)"
    )
