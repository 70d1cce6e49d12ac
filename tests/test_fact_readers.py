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
