"""Fact readers: response shapes rootguard does not expect are errors, never a quiet default."""

import pytest

from rootguard.errors import UnexpectedResponse
from rootguard.facts.cloudtrail import read_management_events
from rootguard.facts.monitoring import read_alarm, read_subscription
from rootguard.facts.shapes import flag, need


def test_basic_selectors():
    both = read_management_events({"EventSelectors": [{"ReadWriteType": "All", "IncludeManagementEvents": True}]})
    assert both.read and both.write
    write_only = read_management_events({"EventSelectors": [{"ReadWriteType": "WriteOnly", "IncludeManagementEvents": True}]})
    assert write_only.write and not write_only.read
    split = read_management_events(
        {
            "EventSelectors": [
                {"ReadWriteType": "ReadOnly", "IncludeManagementEvents": True},
                {"ReadWriteType": "WriteOnly", "IncludeManagementEvents": True},
            ]
        }
    )
    assert split.both
    data_only = read_management_events({"EventSelectors": [{"ReadWriteType": "All", "IncludeManagementEvents": False}]})
    assert not data_only.read and not data_only.write


def test_advanced_selectors():
    management = {"Field": "eventCategory", "Equals": ["Management"]}
    assert read_management_events({"AdvancedEventSelectors": [{"FieldSelectors": [management]}]}).both
    reads = {"Field": "readOnly", "Equals": ["true"]}
    only_reads = read_management_events({"AdvancedEventSelectors": [{"FieldSelectors": [management, reads]}]})
    assert only_reads.read and not only_reads.write
    not_reads = {"Field": "readOnly", "NotEquals": ["true"]}
    writes = read_management_events({"AdvancedEventSelectors": [{"FieldSelectors": [management, not_reads]}]})
    assert writes.write and not writes.read
    odd = {"Field": "readOnly", "StartsWith": ["t"]}
    unreadable = read_management_events({"AdvancedEventSelectors": [{"FieldSelectors": [management, odd]}]})
    assert not unreadable.read and not unreadable.write
    data = {"Field": "eventCategory", "Equals": ["Data"]}
    assert not read_management_events({"AdvancedEventSelectors": [{"FieldSelectors": [data]}]}).read


@pytest.mark.parametrize(
    "response",
    [
        {},
        {"EventSelectors": "All"},
        {"EventSelectors": [{"ReadWriteType": "All"}]},
        {"EventSelectors": [{"ReadWriteType": "All", "IncludeManagementEvents": "yes"}]},
        {"AdvancedEventSelectors": [{"Name": "no field selectors"}]},
    ],
)
def test_selectors_of_unexpected_shape(response):
    with pytest.raises(UnexpectedResponse):
        read_management_events(response)


def test_alarm_and_subscription_readers():
    alarm = read_alarm(
        {"AlarmName": "a", "Namespace": "CIS", "MetricName": "Root", "ActionsEnabled": True, "Statistic": "Sum",
         "Threshold": 1.0, "ComparisonOperator": "GreaterThanOrEqualToThreshold", "EvaluationPeriods": 1,
         "AlarmActions": ["arn:aws:sns:us-east-1:123456789012:t", "arn:aws:automate:us-east-1:ec2:stop"]}
    )
    assert alarm.topics == ("arn:aws:sns:us-east-1:123456789012:t",)
    assert alarm.other_actions == ("arn:aws:automate:us-east-1:ec2:stop",)
    with pytest.raises(UnexpectedResponse):
        read_alarm({"AlarmName": "a", "ActionsEnabled": True})
    with pytest.raises(UnexpectedResponse):
        read_alarm({"AlarmName": "a", "ActionsEnabled": "true", "AlarmActions": []})
    pending = read_subscription({"SubscriptionArn": "PendingConfirmation", "Protocol": "email", "Endpoint": "x@example.com"})
    assert not pending.confirmed
    confirmed = read_subscription({"SubscriptionArn": "arn:aws:sns:us-east-1:123456789012:t:1f2e", "Protocol": "email"})
    assert confirmed.confirmed


def test_shape_helpers():
    assert need({"a": 1}, "a", int, "x:Y") == 1
    with pytest.raises(UnexpectedResponse, match="x:Y: 'a' is True, not a number"):
        need({"a": True}, "a", int, "x:Y")
    with pytest.raises(UnexpectedResponse, match="has no 'b'"):
        need({"a": 1}, "b", int, "x:Y")
    assert flag("true", "f", "x:Y") is True
    with pytest.raises(UnexpectedResponse):
        flag("TRUE", "f", "x:Y")


def test_basic_and_advanced_selectors_in_any_order():
    def basic(*kinds):
        return {"EventSelectors": [{"ReadWriteType": k, "IncludeManagementEvents": m} for k, m in kinds]}

    assert read_management_events(basic(("WriteOnly", True), ("ReadOnly", True))).both
    assert read_management_events(basic(("All", False), ("All", True))).both
    assert read_management_events(basic(("All", True), ("All", False))).both
    assert not read_management_events(basic(("All", False), ("ReadOnly", True))).write
    management = {"Field": "eventCategory", "Equals": ["Management"]}
    data = {"FieldSelectors": [{"Field": "eventCategory", "Equals": ["Data"]}]}
    odd = {"FieldSelectors": [management, {"Field": "readOnly", "StartsWith": ["t"]}]}
    writes = {"FieldSelectors": [management, {"Field": "readOnly", "Equals": ["false"]}]}
    reads = {"FieldSelectors": [management, {"Field": "readOnly", "Equals": ["true"]}]}
    for selectors in ([data, writes, reads], [odd, reads, writes], [writes, reads, data], [reads, writes]):
        found = read_management_events({"AdvancedEventSelectors": selectors})
        assert found.both, selectors
    assert not read_management_events({"AdvancedEventSelectors": [reads, odd]}).write


def test_credential_report_flags():
    assert flag("false", "f", "x:Y") is False
    assert flag("true", "f", "x:Y") is True


def test_alarm_reader_keeps_what_decides_whether_the_alarm_fires():
    from rootguard.facts.monitoring import Alarm, AlarmCondition

    topic = "arn:aws:sns:us-east-1:123456789012:t"
    base = {"AlarmName": "a", "ActionsEnabled": True, "AlarmActions": [topic], "Threshold": 2.0,
            "ComparisonOperator": "GreaterThanThreshold", "EvaluationPeriods": 3, "DatapointsToAlarm": 2}
    metric = read_alarm({**base, "Namespace": "CIS", "MetricName": "Root", "ExtendedStatistic": "p90",
                         "Dimensions": [{"Name": "user", "Value": "root"}, {"Name": "account", "Value": "1"}]})
    assert metric == Alarm(
        name="a", actions_enabled=True, topics=(topic,), other_actions=(),
        condition=AlarmCondition("CIS", "Root", (("account", "1"), ("user", "root")), "p90", ""),
        comparison="GreaterThanThreshold", threshold=2.0, datapoints=2, series="p90 of CIS/Root", reads=(("CIS", "Root"),),
    )
    query = {"Id": "m1", "ReturnData": True, "MetricStat": {
        "Metric": {"Namespace": "CIS", "MetricName": "Root", "Dimensions": [{"Name": "user", "Value": "root"}]}, "Period": 300, "Stat": "Sum"}}
    math = read_alarm({**base, "Metrics": [query]})
    assert math.condition == AlarmCondition("CIS", "Root", (("user", "root"),), "Sum", "metric math query m1")
    assert (math.series, math.reads) == ("Sum of CIS/Root (metric math query m1)", (("CIS", "Root"),))
    expression = read_alarm({**base, "Metrics": [dict(query, ReturnData=False), {"Id": "e1", "Expression": "RATE(m1)", "ReturnData": True}]})
    assert expression.condition is None and expression.reads == (("CIS", "Root"),)
    band = read_alarm({**{k: v for k, v in base.items() if k != "Threshold"}, "ThresholdMetricId": "ad1",
                       "ComparisonOperator": "LessThanLowerOrGreaterThanUpperThreshold", "Namespace": "CIS", "MetricName": "Root", "Statistic": "Sum"})
    assert band.threshold is None and band.condition.statistic == "Sum"
    no_datapoints = read_alarm({**{k: v for k, v in base.items() if k != "DatapointsToAlarm"}, "Namespace": "CIS", "MetricName": "Root", "Statistic": "Sum"})
    assert no_datapoints.datapoints == 3
    promql = read_alarm({"AlarmName": "p", "ActionsEnabled": True, "AlarmActions": [], "EvaluationCriteria": {"PromQLCriteria": {}}})
    assert promql.condition is None and promql.datapoints == 0 and promql.reads == ()


def test_subscription_reader():
    read = read_subscription({"SubscriptionArn": "arn:aws:sns:us-east-1:1:t:9", "Protocol": "https", "Endpoint": "https://pager.example/x"})
    assert (read.protocol, read.endpoint) == ("https", "https://pager.example/x")
    assert read_subscription({"SubscriptionArn": "Deleted", "Protocol": "email"}).endpoint == ""
