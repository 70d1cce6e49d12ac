"""The alarm controls' rules on plain facts: filter -> alarm that fires on the burst -> enabled actions -> a confirmed subscriber."""

import pytest

from rootguard.controls.given import failing, judge
from rootguard.controls.patterns import CIS_CONSOLE_SIGNIN_FAILURES, CIS_ROOT_USAGE
from rootguard.facts.cloudtrail import ManagementEvents, Trail, TrailListing, TrailStatus
from rootguard.facts.monitoring import Alarm, AlarmCondition, MetricFilter, MetricTransformation, Subscription
from tests_compliance import test_monitoring as controls

ACCOUNT = "111122223333"
TOPIC = f"arn:aws:sns:us-east-1:{ACCOUNT}:alerts"
TRAIL = Trail(
    arn=f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/main", name="main", home_region="us-east-1", owner_account=ACCOUNT,
    multi_region=True, organization=False, log_file_validation=True,
    log_group_arn=f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:trail-logs:*", s3_bucket="b",
)
CONFIRMED = Subscription(f"{TOPIC}:1f2e", "email", "soc@example.com")
PENDING = Subscription("PendingConfirmation", "email", "soc@example.com")


def metric_filter(pattern=CIS_ROOT_USAGE, metric="RootAccountUsage", value="1") -> MetricFilter:
    return MetricFilter("watch", pattern, (MetricTransformation("CIS", metric, value, ()),))


def alarm(metric="RootAccountUsage", enabled=True, topics=(TOPIC,), threshold=1.0, statistic="Sum", comparison="GreaterThanOrEqualToThreshold", datapoints=1) -> Alarm:
    return Alarm(
        name="watch-alarm", actions_enabled=enabled, topics=tuple(topics), other_actions=(),
        condition=AlarmCondition("CIS", metric, (), statistic, ""), comparison=comparison, threshold=threshold,
        datapoints=datapoints, series=f"{statistic} of CIS/{metric}", reads=(("CIS", metric),),
    )


def chain(filters=(metric_filter(),), alarms=(alarm(),), subscribers=(CONFIRMED,), logging=True):
    return {
        "cloudtrail.trails": TrailListing((TRAIL,)),
        "cloudtrail.status": lambda trail: TrailStatus(logging, None, None),
        "cloudtrail.management_events": lambda trail: ManagementEvents(True, True),
        "monitoring.filters": lambda log_group: tuple(filters) if filters is not None else None,
        "monitoring.alarms": tuple(alarms) if not hasattr(alarms, "error") else alarms,
        "monitoring.subscribers": lambda topic: subscribers if not callable(subscribers) else subscribers(topic),
    }


@pytest.mark.parametrize(
    "given, outcome, says",
    [
        (chain(), "passed", "feeds alarm watch-alarm, which goes to ALARM on one event (Sum >= 1, 1 per event) and notifies alerts with 1 confirmed"),
        (chain(filters=()), "failed", "no metric filter on log group trail-logs matches root use"),
        (chain(filters=None), "failed", "log group trail-logs does not exist"),
        (chain(filters=(metric_filter(pattern=CIS_CONSOLE_SIGNIN_FAILURES),)), "failed", "matches root use"),
        (chain(alarms=()), "failed", "but no alarm watches it"),
        (chain(alarms=(alarm(metric="Other"),)), "failed", "but no alarm watches it"),
        (chain(alarms=(alarm(enabled=False),)), "failed", "alarm watch-alarm has its actions disabled"),
        (chain(alarms=(alarm(topics=()),)), "failed", "notifies no SNS topic"),
        (chain(alarms=(alarm(threshold=2.0),)), "failed", "goes to ALARM only on 2 events in one period"),
        (chain(alarms=(alarm(datapoints=3),)), "failed", "it needs 3 breaching datapoints"),
        (chain(subscribers=(PENDING,)), "failed", "which has no confirmed subscription (1 pending confirmation)"),
        (chain(subscribers=()), "failed", "which has no confirmed subscription;"),
        (chain(subscribers=None), "failed", "which no longer exists"),
        (chain(logging=False), "failed", "no multi-region logging trail delivers to CloudWatch Logs"),
        # Any one alarm that reaches someone is enough, whichever comes first.
        (chain(alarms=(alarm(enabled=False), alarm())), "passed", "notifies alerts with 1 confirmed"),
        (chain(alarms=(alarm(), alarm(enabled=False))), "passed", "notifies alerts with 1 confirmed"),
        (chain(subscribers=(PENDING, CONFIRMED)), "passed", "1 confirmed subscription(s)"),
        (chain(alarms=failing("AccessDeniedException", "cloudwatch:DescribeAlarms")), "error", "cloudwatch:DescribeAlarms failed"),
        (chain(subscribers=lambda topic: failing("AuthorizationError", "sns:ListSubscriptionsByTopic")), "error", "the subscriptions of topic alerts"),
    ],
)
def test_root_usage_alarm(given, outcome, says):
    found, message = judge(controls.test_root_usage_alarm, given)
    assert found == outcome, message
    assert says in message


@pytest.mark.parametrize(
    "threshold, params, outcome",
    [
        (5.0, {}, "passed"),
        (6.0, {}, "failed"),
        (6.0, {"signin_failure_events": 6}, "passed"),
        (2.0, {"signin_failure_events": 1}, "failed"),
    ],
)
def test_signin_failure_alarm_fires_on_at_most_the_burst_the_profile_allows(threshold, params, outcome):
    given = chain(filters=(metric_filter(pattern=CIS_CONSOLE_SIGNIN_FAILURES, metric="SigninFailures"),),
                  alarms=(alarm(metric="SigninFailures", threshold=threshold),))
    found, message = judge(controls.test_signin_failure_alarm, given, params=params)
    assert found == outcome, message


def two_alarm_chain(first: Alarm, topics_first=(TOPIC,)):
    """The first alarm breaks the chain some way; the second, on the same metric, reaches someone."""
    return chain(alarms=(first, alarm()))


@pytest.mark.parametrize(
    "first",
    [
        alarm(threshold=2.0),  # needs more events than one
        alarm(comparison="LessThanThreshold"),  # never fires on events
        alarm(enabled=False),
        alarm(topics=()),
        alarm(topics=(f"arn:aws:sns:us-east-1:{ACCOUNT}:gone",)),
        alarm(topics=(f"arn:aws:sns:us-east-1:{ACCOUNT}:refused",)),
        alarm(topics=(f"arn:aws:sns:us-east-1:{ACCOUNT}:pending",)),
    ],
    ids=["burst", "never-fires", "disabled", "no-topic", "topic-gone", "topic-refused", "topic-pending"],
)
def test_one_broken_alarm_does_not_hide_another_that_reaches_someone(first):
    def subscribers(topic):
        return {"gone": None, "refused": failing("AuthorizationError", "sns:ListSubscriptionsByTopic"), "pending": (PENDING,)}.get(
            topic.rsplit(":", 1)[1], (CONFIRMED,)
        )

    given = chain(alarms=(first, alarm()), subscribers=subscribers)
    found, message = judge(controls.test_root_usage_alarm, given)
    assert found == "passed", message


def test_a_topic_that_breaks_does_not_hide_the_alarms_next_topic():
    gone = f"arn:aws:sns:us-east-1:{ACCOUNT}:gone"
    given = chain(alarms=(alarm(topics=(gone, TOPIC)),), subscribers=lambda topic: None if topic == gone else (CONFIRMED,))
    assert judge(controls.test_root_usage_alarm, given)[0] == "passed"


def test_a_second_transformation_of_the_filter_can_be_the_one_watched():
    two = MetricFilter("watch", CIS_ROOT_USAGE, (MetricTransformation("CIS", "Other", "1", ()), MetricTransformation("CIS", "RootAccountUsage", "1", ())))
    assert judge(controls.test_root_usage_alarm, chain(filters=(two,)))[0] == "passed"


def test_everything_is_read_in_the_log_groups_own_region_and_the_topics():
    """Filters and alarms where the log group is, subscribers where the topic is: nowhere else answers."""
    trail = Trail(
        arn=f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/main", name="main", home_region="us-east-1", owner_account=ACCOUNT,
        multi_region=True, organization=False, log_file_validation=True,
        log_group_arn=f"arn:aws:logs:eu-west-1:{ACCOUNT}:log-group:trail-logs:*", s3_bucket="b",
    )
    topic = f"arn:aws:sns:ap-south-1:{ACCOUNT}:alerts"

    def only_in(region_wanted, value):
        return lambda region, **params: value if region == region_wanted else ()

    given = {
        "cloudtrail.trails": TrailListing((trail,)),
        "cloudtrail.status": lambda trail: TrailStatus(True, None, None),
        "monitoring.filters": lambda log_group, region: (metric_filter(),) if (region, log_group) == ("eu-west-1", "trail-logs") else (),
        "monitoring.alarms": lambda region: (alarm(topics=(topic,)),) if region == "eu-west-1" else (),
        "monitoring.subscribers": lambda topic, region: (CONFIRMED,) if region == "ap-south-1" else (),
    }
    found, message = judge(controls.test_root_usage_alarm, given)
    assert found == "passed", message


def test_a_log_group_in_an_account_out_of_reach_is_skipped_unless_another_breaks():
    elsewhere = Trail(
        arn="arn:aws:cloudtrail:us-east-1:123456789012:trail/org", name="org", home_region="us-east-1", owner_account="123456789012",
        multi_region=True, organization=True, log_file_validation=True,
        log_group_arn="arn:aws:logs:us-east-1:123456789012:log-group:org-logs:*", s3_bucket="b",
    )
    only_elsewhere = {**chain(), "cloudtrail.trails": TrailListing((elsewhere,))}
    found, message = judge(controls.test_root_usage_alarm, only_elsewhere)
    assert found == "skipped" and "is in account 123456789012" in message
    both = {**chain(filters=()), "cloudtrail.trails": TrailListing((elsewhere, TRAIL))}
    found, message = judge(controls.test_root_usage_alarm, both)
    assert found == "failed" and "no metric filter on log group trail-logs" in message
    # The trail out of reach coming first does not stop the one in reach from passing.
    assert judge(controls.test_root_usage_alarm, {**chain(), "cloudtrail.trails": TrailListing((elsewhere, TRAIL))})[0] == "passed"


def test_a_clean_pass_says_nothing_of_what_was_not_read():
    assert "not read" not in judge(controls.test_root_usage_alarm, chain())[1]


def test_unreadable_filters_alarms_and_topics_are_gaps():
    refused_filters = {**chain(), "monitoring.filters": lambda log_group: failing("AccessDeniedException", "logs:DescribeMetricFilters")}
    found, message = judge(controls.test_root_usage_alarm, refused_filters)
    assert found == "error" and "the metric filters of log group trail-logs: logs:DescribeMetricFilters failed" in message
    odd = failing("UnexpectedResponse", "cloudwatch:DescribeAlarms")
    found, message = judge(controls.test_root_usage_alarm, chain(alarms=(odd, alarm())))
    assert found == "passed" and "an alarm in us-east-1" in message
    found, message = judge(controls.test_root_usage_alarm, chain(alarms=(odd,)))
    assert found == "error" and "an alarm in us-east-1" in message
    refused = f"arn:aws:sns:us-east-1:{ACCOUNT}:refused"
    given = chain(alarms=(alarm(topics=(refused, TOPIC)),),
                  subscribers=lambda topic: failing("AuthorizationError", "sns:ListSubscriptionsByTopic") if topic == refused else (CONFIRMED,))
    found, message = judge(controls.test_root_usage_alarm, given)
    assert found == "passed" and "the subscriptions of topic refused" in message
