"""CloudTrail controls on seeded moto state: the pass cases and every way each one fails."""

import pytest

from tests.conftest import HUB, hub

MEMBER = "222233334444"

MAIN = "- name: main\n"
MAIN_EU = "- name: main\n  home_region: eu-west-1\n"
SINGLE = "- name: regional\n  multi_region: false\n"
NOT_LOGGING = "- name: main\n  logging: false\n"


def events(kind: str) -> str:
    return f"- name: main\n  management_events: {kind}\n"


def with_org_trail(trail: str) -> str:
    """An organization: the hub owns an organization trail with the given extra settings; the member has none."""
    return f"""\
regions: [us-east-1]
organization: {{}}
accounts:
  - id: "123456789012"
    name: hub
    trails:
      - name: org-trail
        organization: true
{trail}  - id: "{MEMBER}"
    name: member
"""


ORG_TRAIL = with_org_trail("")
ORG_TRAIL_UNVALIDATED = with_org_trail("        log_file_validation: false\n")


@pytest.mark.parametrize(
    "scenario, account, regions, outcome, says",
    [
        (hub(trails=MAIN), "hub", None, "passed", "multi-region trail main (us-east-1) is logging and records read and write"),
        (ORG_TRAIL, "member", None, "passed", "organization trail org-trail (us-east-1) is logging"),
        (
            hub(regions="[us-east-1, eu-west-1]", trails=MAIN_EU),
            "hub",
            ["us-east-1"],
            "passed",
            "multi-region trail main (eu-west-1) is logging",
        ),
        (hub(), "hub", None, "failed", "no multi-region trail (own or organization trail) is visible"),
        (hub(trails=SINGLE), "hub", None, "failed", "no multi-region trail (own or organization trail) is visible"),
        (hub(trails=NOT_LOGGING), "hub", None, "failed", "multi-region trail main (us-east-1): not logging"),
        (hub(trails=events("WriteOnly")), "hub", None, "failed", "main (us-east-1): records only write management events"),
        (hub(trails=events("ReadOnly")), "hub", None, "failed", "main (us-east-1): records only read management events"),
        (hub(trails=events("none")), "hub", None, "failed", "main (us-east-1): records no management events"),
    ],
    ids=[
        "own-trail",
        "member-via-org-trail",
        "home-region-outside-profile",
        "no-trail",
        "single-region-only",
        "not-logging",
        "write-only",
        "read-only",
        "no-management-events",
    ],
)
def test_cloudtrail_multi_region(judge, scenario, account, regions, outcome, says):
    verdicts = judge(scenario, "cloudtrail-multi-region", regions=regions)
    assert verdicts.outcome("cloudtrail-multi-region", account) == outcome
    assert says in verdicts.message("cloudtrail-multi-region", account)


TWO_TRAILS_ONE_UNVALIDATED = "- name: main\n- name: regional\n  multi_region: false\n  home_region: eu-west-1\n  log_file_validation: false\n"
IDLE_UNVALIDATED = "- name: main\n- name: idle\n  logging: false\n  log_file_validation: false\n"


@pytest.mark.parametrize(
    "scenario, account, outcome, says",
    [
        (hub(trails=MAIN), "hub", "passed", "all 1 logging trail(s) validate log files: multi-region trail main (us-east-1)"),
        (ORG_TRAIL, "member", "passed", "validate log files: organization trail org-trail (us-east-1)"),
        (
            hub(regions="[us-east-1, eu-west-1]", trails=TWO_TRAILS_ONE_UNVALIDATED),
            "hub",
            "failed",
            "log file validation is off on trail regional (eu-west-1);",
        ),
        (ORG_TRAIL_UNVALIDATED, "member", "failed", "log file validation is off on organization trail org-trail (us-east-1)"),
        (hub(trails=NOT_LOGGING), "hub", "failed", "no trail is logging for this account"),
        (hub(trails=IDLE_UNVALIDATED), "hub", "passed", "all 1 logging trail(s) validate log files: multi-region trail main"),
    ],
    ids=[
        "all-validate",
        "member-via-validated-org-trail",
        "one-of-two-unvalidated",
        "member-org-trail-unvalidated",
        "nothing-logging",
        "idle-unvalidated-trail-ignored",
    ],
)
def test_cloudtrail_log_validation(judge, scenario, account, outcome, says):
    verdicts = judge(scenario, "cloudtrail-log-validation")
    assert verdicts.outcome("cloudtrail-log-validation", account) == outcome
    assert says in verdicts.message("cloudtrail-log-validation", account)


def delivering(last_delivery: str, extra: str = "") -> str:
    return f"- name: main\n{extra}  cloudwatch_logs: {{log_group: trail-logs, last_delivery: {last_delivery}}}\n"


ONLY_SINGLE_REGION_DELIVERS = (
    "- name: main\n"
    "- name: regional\n"
    "  multi_region: false\n"
    "  cloudwatch_logs: {log_group: regional-logs, last_delivery: {hours_ago: 1}}\n"
)
MAX_48_HOURS = "params:\n  cloudwatch_delivery_max_hours: 48\n"


@pytest.mark.parametrize(
    "trails, extra, outcome, says",
    [
        (delivering("{hours_ago: 1}"), "", "passed", "multi-region trail main (us-east-1) delivers to log group trail-logs"),
        (MAIN, "", "failed", "multi-region trail main (us-east-1) sends no events to CloudWatch Logs"),
        (delivering("{hours_ago: 30}"), "", "failed", "(30 h ago, over 24 h)"),
        (delivering("null"), "", "failed", "multi-region trail main (us-east-1) has never delivered to trail-logs"),
        (delivering("{hours_ago: 1}", "  logging: false\n"), "", "failed", "no multi-region trail is logging"),
        (ONLY_SINGLE_REGION_DELIVERS, "", "failed", "multi-region trail main (us-east-1) sends no events to CloudWatch Logs"),
        (delivering("{hours_ago: 30}"), MAX_48_HOURS, "passed", "(30.0 h ago)"),
    ],
    ids=[
        "delivered-1h-ago",
        "no-log-group",
        "stale-30h",
        "never-delivered",
        "delivering-trail-not-logging",
        "only-single-region-delivers",
        "param-48h-window",
    ],
)
def test_cloudtrail_cloudwatch_logs(judge, trails, extra, outcome, says):
    verdicts = judge(hub(trails=trails), "cloudtrail-cloudwatch-logs", profile_extra=extra)
    assert verdicts.outcome("cloudtrail-cloudwatch-logs") == outcome
    assert says in verdicts.message("cloudtrail-cloudwatch-logs")


def test_member_reads_its_organization_trail_in_the_management_account(judge):
    """AWS refuses a member its organization trail's status and selectors; they are read where the trail lives."""
    verdicts = judge(ORG_TRAIL, "cloudtrail-multi-region")
    entry = verdicts.entry("cloudtrail-multi-region", "member")
    assert entry["outcome"] == "passed"
    owner_files = [path for path in entry["evidence"] if path.startswith("evidence/123456789012/cloudtrail.")]
    assert any("trail_status" in path for path in owner_files) and any("event_selectors" in path for path in owner_files)
    assert not [path for path in entry["evidence"] if path.startswith(f"evidence/{MEMBER}/") and ("trail_status" in path or "event_selectors" in path)]


DELEGATED = "210000000090"
DELEGATED_HUB = f"credentials:\n  role_arn: arn:aws:iam::{DELEGATED}:role/OrganizationAccountAccessRole\n"


def test_organization_trail_out_of_reach_errors_only_what_needs_its_status_naming_the_account(judge):
    """A hub in another member cannot read the management account: the member's own view is refused."""
    scenario = ORG_TRAIL + f'  - {{id: "{DELEGATED}", name: delegated}}\n'
    verdicts = judge(scenario, args=("-k", "cloudtrail", "--account", MEMBER), profile_extra=DELEGATED_HUB, leave_out=(HUB,))
    for control in ("cloudtrail-multi-region", "cloudtrail-log-validation", "cloudtrail-cloudwatch-logs"):
        entry = verdicts.entry(control, "member")
        assert entry["outcome"] == "error", entry["message"]
        assert "failed: CloudTrailARNInvalidException: AccountID in ARN is wrong" in entry["message"]
        assert "belongs to account 123456789012, which this run cannot read: add account 123456789012 to the profile" in entry["message"]
