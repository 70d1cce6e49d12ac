"""The CloudTrail controls' rules on plain facts: every trail read for what the verdict needs, in any order."""

import datetime as dt

import pytest

from rootguard.controls.given import NOW, failing, judge
from rootguard.facts.cloudtrail import ManagementEvents, Trail, TrailListing, TrailStatus
from tests_compliance import test_cloudtrail as controls

ACCOUNT = "111122223333"
ALL = ManagementEvents(read=True, write=True)


def trail(name, multi_region=True, validated=True, log_group=True, owner=ACCOUNT, organization=False) -> Trail:
    return Trail(
        arn=f"arn:aws:cloudtrail:us-east-1:{owner}:trail/{name}",
        name=name,
        home_region="us-east-1",
        owner_account=owner,
        multi_region=multi_region,
        organization=organization,
        log_file_validation=validated,
        log_group_arn=f"arn:aws:logs:us-east-1:{owner}:log-group:{name}-logs:*" if log_group else None,
        s3_bucket=f"{name}-bucket",
    )


def status(logging=True, delivered_hours=None, error=None) -> TrailStatus:
    return TrailStatus(logging, NOW - dt.timedelta(hours=delivered_hours) if delivered_hours is not None else None, error)


def facts(trails, statuses=None, events=None, unlisted=()):
    """The trails, each trail's status and management events by trail name (default: logging, all events)."""
    statuses, events = statuses or {}, events or {}
    by_arn = {t.arn: t.name for t in trails}
    return {
        "cloudtrail.trails": TrailListing(tuple(trails), tuple(unlisted)),
        "cloudtrail.status": lambda trail: statuses.get(by_arn[trail], status()),
        "cloudtrail.management_events": lambda trail: events.get(by_arn[trail], ALL),
    }


REFUSED_SELECTORS = failing("AccessDeniedException", "cloudtrail:GetEventSelectors")
REFUSED_STATUS = failing("AccessDeniedException", "cloudtrail:GetTrailStatus")


@pytest.mark.parametrize(
    "given, outcome, says",
    [
        (facts([trail("main")]), "passed", "multi-region trail main (us-east-1) is logging and records read and write management events"),
        (facts([trail("org", owner="123456789012", organization=True)]), "passed", "organization trail org (us-east-1) is logging"),
        (facts([]), "failed", "no multi-region trail (own or organization trail) is visible"),
        (facts([trail("regional", multi_region=False)]), "failed", "no multi-region trail (own or organization trail) is visible"),
        (facts([trail("main")], statuses={"main": status(logging=False)}), "failed", "multi-region trail main (us-east-1): not logging"),
        (facts([trail("main")], events={"main": ManagementEvents(True, False)}), "failed", "records only read management events"),
        (facts([trail("main")], events={"main": ManagementEvents(False, True)}), "failed", "records only write management events"),
        (facts([trail("main")], events={"main": ManagementEvents(False, False)}), "failed", "records no management events"),
        # Any one trail that qualifies is enough, whichever comes first.
        (facts([trail("a"), trail("b")], statuses={"a": status(logging=False)}), "passed", "multi-region trail b (us-east-1) is logging"),
        (facts([trail("a"), trail("b")], statuses={"b": status(logging=False)}), "passed", "multi-region trail a (us-east-1) is logging"),
        (facts([trail("a"), trail("b")], events={"a": REFUSED_SELECTORS}), "passed", "not read, and not needed for this verdict: the event selectors of multi-region trail a"),
        (facts([trail("a"), trail("b")], events={"a": REFUSED_SELECTORS, "b": ManagementEvents(True, False)}), "error", "cloudtrail:GetEventSelectors failed: AccessDeniedException"),
        # A trail that does not log fails whatever its selectors; one refused status with good selectors is a gap.
        (facts([trail("a")], statuses={"a": status(logging=False)}, events={"a": REFUSED_SELECTORS}), "failed", "not logging"),
        (facts([trail("a")], statuses={"a": REFUSED_STATUS}), "error", "the status of multi-region trail a"),
        (facts([trail("a")], statuses={"a": REFUSED_STATUS}, events={"a": ManagementEvents(False, True)}), "failed", "records only write"),
    ],
)
def test_cloudtrail_multi_region(given, outcome, says):
    found, message = judge(controls.test_cloudtrail_multi_region, given)
    assert found == outcome, message
    assert says in message


@pytest.mark.parametrize(
    "given, outcome, says",
    [
        (facts([trail("a"), trail("b")]), "passed", "all 2 logging trail(s) validate log files"),
        # Every logging trail counts, whichever comes first.
        (facts([trail("a"), trail("b", validated=False)]), "failed", "log file validation is off on multi-region trail b (us-east-1)"),
        (facts([trail("a", validated=False), trail("b")]), "failed", "log file validation is off on multi-region trail a (us-east-1)"),
        (facts([trail("a"), trail("r", multi_region=False, validated=False)]), "failed", "log file validation is off on trail r (us-east-1)"),
        (facts([trail("a"), trail("idle", validated=False)], statuses={"idle": status(logging=False)}), "passed", "all 1 logging trail(s)"),
        (facts([trail("a")], statuses={"a": status(logging=False)}), "failed", "no trail is logging for this account"),
        (facts([]), "failed", "no trail is logging for this account"),
        (facts([trail("a"), trail("b", validated=False)], statuses={"b": REFUSED_STATUS}), "error", "the status of multi-region trail b"),
        (facts([trail("a")], events={"a": REFUSED_SELECTORS}), "passed", "validate log files"),
        (facts([trail("a")], unlisted=[("eu-west-1", REFUSED_STATUS.error)]), "error", "the trails of eu-west-1"),
    ],
)
def test_cloudtrail_log_validation(given, outcome, says):
    found, message = judge(controls.test_cloudtrail_log_validation, given)
    assert found == outcome, message
    assert says in message


@pytest.mark.parametrize(
    "given, params, outcome, says",
    [
        (facts([trail("main")], statuses={"main": status(delivered_hours=1)}), {}, "passed", "delivers to log group main-logs"),
        (facts([trail("main")], statuses={"main": status(delivered_hours=23.9)}), {}, "passed", "(23.9 h ago)"),
        # Under 24 hours: exactly 24 is stale.
        (facts([trail("main")], statuses={"main": status(delivered_hours=24)}), {}, "failed", "over 24 h"),
        (facts([trail("main")], statuses={"main": status(delivered_hours=30, error="AccessDenied")}), {}, "failed", "delivery error: AccessDenied"),
        (facts([trail("main")], statuses={"main": status()}), {}, "failed", "has never delivered to main-logs"),
        (facts([trail("main", log_group=False)]), {}, "failed", "sends no events to CloudWatch Logs"),
        (facts([trail("main")], statuses={"main": status(logging=False, delivered_hours=1)}), {}, "failed", "no multi-region trail is logging"),
        (facts([trail("r", multi_region=False)], statuses={"r": status(delivered_hours=1)}), {}, "failed", "no multi-region trail is logging"),
        (facts([trail("a"), trail("b")], statuses={"a": status(delivered_hours=30), "b": status(delivered_hours=2)}), {}, "passed", "multi-region trail b"),
        (facts([trail("main")], statuses={"main": status(delivered_hours=30)}), {"cloudwatch_delivery_max_hours": 48}, "passed", "(30.0 h ago)"),
        (facts([trail("a"), trail("b")], statuses={"a": REFUSED_STATUS, "b": status(delivered_hours=30)}), {}, "error", "the status of multi-region trail a"),
    ],
)
def test_cloudtrail_cloudwatch_logs(given, params, outcome, says):
    found, message = judge(controls.test_cloudtrail_cloudwatch_logs, given, params=params)
    assert found == outcome, message
    assert says in message
