"""The alarm rule of DESIGN.md on plain alarms: how many matching events in one period put an alarm in ALARM."""

import pytest

from rootguard.controls.alerting import events_to_alarm
from rootguard.errors import UnexpectedResponse
from rootguard.facts.monitoring import Alarm, AlarmCondition, MetricTransformation, read_alarm

METRIC = ("CISBenchmark", "RootAccountUsage")


def transformation(value: str = "1", dimensions: tuple = ()) -> MetricTransformation:
    return MetricTransformation(*METRIC, value=value, dimensions=dimensions)


def alarm(statistic="Sum", threshold=1.0, comparison="GreaterThanOrEqualToThreshold", datapoints=1, dimensions=(), math=False) -> Alarm:
    condition = AlarmCondition(*METRIC, dimensions=dimensions, statistic=statistic, via="metric math query m1" if math else "")
    return Alarm(
        name="root-usage", actions_enabled=True, topics=("arn:aws:sns:us-east-1:123456789012:t",), other_actions=(),
        condition=condition, comparison=comparison, threshold=threshold, datapoints=datapoints, series=f"{statistic} of {METRIC[1]}",
    )


@pytest.mark.parametrize(
    "given, value, events",
    [
        (alarm(), "1", 1),
        (alarm(threshold=0.0), "1", 1),
        (alarm(threshold=0.5), "1", 1),
        (alarm(comparison="GreaterThanThreshold", threshold=0.0), "1", 1),
        (alarm(comparison="GreaterThanThreshold"), "1", 2),
        (alarm(threshold=5.0), "1", 5),
        (alarm(comparison="GreaterThanThreshold", threshold=5.0), "1", 6),
        (alarm(), "0.5", 2),
        (alarm(threshold=0.3), "0.1", 3),  # 3 x 0.1 is 0.30000000000000004 in floating point
        (alarm(threshold=10.0), "5", 2),
        (alarm(statistic="SampleCount", threshold=3.0), "7", 3),
        (alarm(statistic="SampleCount", comparison="GreaterThanThreshold", threshold=2.0), "1", 3),
        (alarm(statistic="Maximum"), "1", 1),
        (alarm(statistic="Minimum"), "1", 1),
        (alarm(statistic="Average", threshold=2.0), "5", 1),
        (alarm(math=True), "1", 1),
    ],
)
def test_events_that_fire_the_alarm(given, value, events):
    needed, how = events_to_alarm(given, transformation(value))
    assert needed == events, how


@pytest.mark.parametrize(
    "given, metric, why",
    [
        (alarm(statistic="Average", threshold=2.0), transformation(), "its Average reads 1 however many events come, and needs >= 2"),
        (alarm(statistic="Maximum", comparison="GreaterThanThreshold"), transformation(), "its Maximum reads 1 however many events come"),
        (alarm(comparison="LessThanThreshold"), transformation(), "it compares LessThanThreshold: more events never cross that threshold"),
        (alarm(comparison="LessThanOrEqualToThreshold"), transformation(), "more events never cross that threshold"),
        (alarm(comparison="LessThanLowerOrGreaterThanUpperThreshold", threshold=None), transformation(), "anomaly detection band"),
        (alarm(datapoints=2), transformation(), "it needs 2 breaching datapoints"),
        (alarm(statistic="p90"), transformation(), "its statistic p90 is not one whose reading"),
        (alarm(), transformation("$.count"), "the filter's metricValue '$.count' is not a positive number"),
        (alarm(), transformation("0"), "is not a positive number"),
        (alarm(), transformation("-1"), "is not a positive number"),
        (alarm(), transformation("nan"), "is not a positive number"),
        (alarm(), transformation(dimensions=("user",)), "the filter publishes its metric per user"),
        (alarm(dimensions=(("user", "root"),)), transformation(), "it watches the metric with dimensions user=root"),
    ],
)
def test_alarms_that_never_fire_on_a_burst(given, metric, why):
    needed, how = events_to_alarm(given, metric)
    assert needed is None
    assert why in how


def alarm_entry(**fields) -> dict:
    entry = {
        "AlarmName": "root-usage", "ActionsEnabled": True, "AlarmActions": ["arn:aws:sns:us-east-1:123456789012:t"],
        "EvaluationPeriods": 1, "Threshold": 1.0, "ComparisonOperator": "GreaterThanOrEqualToThreshold",
    }
    entry.update(fields)
    return {k: v for k, v in entry.items() if v is not None}


def query(query_id: str, returned: bool, stat: str | None = "Sum", expression: str | None = None) -> dict:
    found = {"Id": query_id, "ReturnData": returned}
    if expression:
        found["Expression"] = expression
    else:
        found["MetricStat"] = {"Metric": {"Namespace": METRIC[0], "MetricName": METRIC[1]}, "Period": 300, "Stat": stat}
    return found


def test_a_metric_math_alarm_on_the_metric_itself_counts():
    read = read_alarm(alarm_entry(Metrics=[query("m1", True)]))
    assert (read.condition.namespace, read.condition.metric, read.condition.statistic) == (*METRIC, "Sum")
    assert events_to_alarm(read, transformation())[0] == 1
    # An expression that is only the query's id is the metric itself too.
    named = read_alarm(alarm_entry(Metrics=[query("m1", False, stat="SampleCount"), query("e1", True, expression="m1")]))
    assert named.condition.statistic == "SampleCount"
    assert events_to_alarm(named, transformation())[0] == 1


@pytest.mark.parametrize(
    "queries, why",
    [
        ([query("m1", False), query("e1", True, expression="RATE(m1)")], "metric math expression 'RATE(m1)'"),
        ([query("m1", False), query("e1", True, expression="m1 * 10")], "metric math expression 'm1 * 10'"),
        ([query("m1", True), query("m2", True)], "metric math returning 2 series"),
    ],
)
def test_a_metric_math_alarm_on_anything_else_does_not_count(queries, why):
    read = read_alarm(alarm_entry(Metrics=queries))
    assert read.condition is None and why in read.series
    needed, how = events_to_alarm(read, transformation())
    assert needed is None and "not on the filter's metric itself" in how


def test_datapoints_to_alarm_wins_over_evaluation_periods():
    assert read_alarm(alarm_entry(MetricName=METRIC[1], Namespace=METRIC[0], Statistic="Sum", EvaluationPeriods=3, DatapointsToAlarm=1)).datapoints == 1
    assert read_alarm(alarm_entry(MetricName=METRIC[1], Namespace=METRIC[0], Statistic="Sum", EvaluationPeriods=3)).datapoints == 3


def test_a_promql_alarm_has_no_metric_to_follow():
    read = read_alarm(alarm_entry(EvaluationCriteria={"PromQLCriteria": {}}, Threshold=None, ComparisonOperator=None, EvaluationPeriods=None))
    assert read.condition is None


@pytest.mark.parametrize(
    "broken",
    [
        {"MetricName": METRIC[1], "Namespace": METRIC[0]},  # neither Statistic nor ExtendedStatistic
        {"MetricName": METRIC[1], "Namespace": METRIC[0], "Statistic": "Sum", "Threshold": None},
        {"MetricName": METRIC[1], "Namespace": METRIC[0], "Statistic": "Sum", "ComparisonOperator": None},
        {"MetricName": METRIC[1], "Namespace": METRIC[0], "Statistic": "Sum", "EvaluationPeriods": None},
        {"MetricName": METRIC[1], "Statistic": "Sum"},  # no Namespace
        {"Metrics": [query("m1", True, stat=None)]},
        {"MetricName": METRIC[1], "Namespace": METRIC[0], "Statistic": "Sum", "AlarmActions": [7]},
    ],
)
def test_an_alarm_missing_what_decides_is_unreadable(broken):
    with pytest.raises(UnexpectedResponse):
        read_alarm(alarm_entry(**broken))


def test_a_topic_only_among_ok_or_insufficient_data_actions_notifies_nobody_of_alarm():
    read = read_alarm(alarm_entry(
        MetricName=METRIC[1], Namespace=METRIC[0], Statistic="Sum", AlarmActions=[],
        OKActions=["arn:aws:sns:us-east-1:123456789012:t"], InsufficientDataActions=["arn:aws:sns:us-east-1:123456789012:t"],
    ))
    assert read.topics == () and read.other_actions == ()
