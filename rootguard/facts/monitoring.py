"""Monitoring facts: what watches a trail's CloudWatch Logs group (metric filters, alarms, SNS).

Each piece is a fact of its own (one log group's filters, one region's alarms, one
topic's subscribers), so that one that cannot be read leaves the others to decide.
"""

from __future__ import annotations

from dataclasses import dataclass

from rootguard.errors import UnexpectedResponse
from rootguard.facts.registry import Unreadable, fact
from rootguard.facts.shapes import maybe, need

FILTERS = "logs:DescribeMetricFilters"
ALARMS = "cloudwatch:DescribeAlarms"
SUBSCRIPTIONS = "sns:ListSubscriptionsByTopic"


@fact("logs.metric_filters", regional=True)
def metric_filters(ctx, log_group: str) -> list | None:
    """Metric filters on one log group; None when the log group does not exist (ResourceNotFoundException)."""
    return ctx.paginate("logs", "describe_metric_filters", "metricFilters", absent=("ResourceNotFoundException",), logGroupName=log_group)


@fact("cloudwatch.alarms", regional=True)
def alarms(ctx) -> list:
    """Every metric alarm in a region."""
    return ctx.paginate("cloudwatch", "describe_alarms", "MetricAlarms")


@fact("sns.subscriptions", regional=True)
def subscriptions(ctx, topic: str) -> list | None:
    """Subscriptions of one SNS topic; None when the topic no longer exists (NotFound)."""
    # A topic deleted while an alarm still names it: an answer (it reaches nobody), not a failure to read.
    return ctx.paginate("sns", "list_subscriptions_by_topic", "Subscriptions", absent=("NotFound",), TopicArn=topic)


@dataclass(frozen=True)
class MetricTransformation:
    namespace: str
    name: str
    value: str  # the filter's metricValue as AWS keeps it: "1", or a field such as "$.bytes"
    dimensions: tuple[str, ...]  # names of the dimensions the filter publishes with

    @property
    def per_event(self) -> float | None:
        """What one matching event adds to the metric; None unless metricValue is a positive number."""
        try:
            number = float(self.value)
        except ValueError:
            return None
        return number if number > 0 and number != float("inf") else None


@dataclass(frozen=True)
class MetricFilter:
    name: str
    pattern: str
    transformations: tuple[MetricTransformation, ...]


@dataclass(frozen=True)
class AlarmCondition:
    """The series an alarm compares with its threshold, and how (from its metric or its metric math)."""

    namespace: str
    metric: str
    dimensions: tuple[tuple[str, str], ...]
    statistic: str  # Sum | Average | Minimum | Maximum | SampleCount, or an extended statistic (p99)
    via: str  # "" for a metric alarm, "metric math query m1" for a metric math alarm


@dataclass(frozen=True)
class Alarm:
    name: str
    actions_enabled: bool
    topics: tuple[str, ...]  # SNS topics among the alarm actions (OK and insufficient-data actions do not count)
    other_actions: tuple[str, ...]  # alarm actions that are not SNS topics (Lambda, SSM, EC2 ...)
    condition: AlarmCondition | None  # None: a metric math alarm whose series is not one metric
    comparison: str
    threshold: float | None  # None: an anomaly detection band stands in for the threshold
    datapoints: int  # breaching datapoints needed (DatapointsToAlarm, else EvaluationPeriods)
    series: str  # what the alarm compares, in words (for the messages)
    reads: tuple[tuple[str, str], ...] = ()  # every (namespace, metric) it reads, its metric math's included

    def watches(self, namespace: str, metric: str) -> bool:
        return (namespace, metric) in self.reads


@dataclass(frozen=True)
class Subscription:
    arn: str
    protocol: str
    endpoint: str

    @property
    def confirmed(self) -> bool:
        # AWS shows an unconfirmed subscription with the ARN "PendingConfirmation"
        # (or "Deleted" while it goes away); only a real ARN is a confirmed one.
        return self.arn.startswith("arn:")


def read_filter(entry: dict) -> MetricFilter:
    transformations = need(entry, "metricTransformations", list, FILTERS)
    return MetricFilter(
        name=need(entry, "filterName", str, FILTERS),
        pattern=need(entry, "filterPattern", str, FILTERS),
        transformations=tuple(
            MetricTransformation(
                namespace=need(t, "metricNamespace", str, FILTERS),
                name=need(t, "metricName", str, FILTERS),
                value=need(t, "metricValue", str, FILTERS),
                dimensions=tuple(sorted(maybe(t, "dimensions", dict, FILTERS) or {})),
            )
            for t in transformations
        ),
    )


def _dimensions(listed: list | None, action: str) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((need(d, "Name", str, action), need(d, "Value", str, action)) for d in listed or []))


def _math_condition(queries: list) -> tuple[AlarmCondition | None, str]:
    """The metric a metric math alarm compares, when the series it returns is that metric itself.

    Per PutMetricAlarm, exactly one query of an alarm has ReturnData true: the series the
    alarm compares with its threshold. An expression over it (RATE(m1), m1 * 2) is not the
    filter's metric itself, and is not counted (DESIGN.md).
    """
    by_id = {need(q, "Id", str, ALARMS): q for q in queries}
    returned = [q for q in queries if maybe(q, "ReturnData", bool, ALARMS) is not False]
    if len(returned) != 1:
        return None, f"metric math returning {len(returned)} series"
    query = returned[0]
    expression = maybe(query, "Expression", str, ALARMS)
    if expression is not None:
        named = by_id.get(expression.strip())
        if named is None or maybe(named, "MetricStat", dict, ALARMS) is None:
            return None, f"metric math expression {expression!r}"
        query = named
    stat = need(query, "MetricStat", dict, ALARMS)
    metric = need(stat, "Metric", dict, ALARMS)
    condition = AlarmCondition(
        namespace=need(metric, "Namespace", str, ALARMS),
        metric=need(metric, "MetricName", str, ALARMS),
        dimensions=_dimensions(maybe(metric, "Dimensions", list, ALARMS), ALARMS),
        statistic=need(stat, "Stat", str, ALARMS),
        via=f"metric math query {query['Id']}",
    )
    return condition, f"{condition.statistic} of {condition.namespace}/{condition.metric} ({condition.via})"


def read_alarm(entry: dict) -> Alarm:
    actions = need(entry, "AlarmActions", list, ALARMS)
    for action in actions:
        if not isinstance(action, str):
            raise UnexpectedResponse(f"{ALARMS}: an alarm action is {type(action).__name__}, not an ARN", action=ALARMS)
    topics = tuple(a for a in actions if a.startswith("arn:") and a.split(":")[2:3] == ["sns"])
    metric = maybe(entry, "MetricName", str, ALARMS)
    queries = maybe(entry, "Metrics", list, ALARMS)
    if metric is not None:
        statistic = maybe(entry, "Statistic", str, ALARMS) or need(entry, "ExtendedStatistic", str, ALARMS)
        condition = AlarmCondition(
            namespace=need(entry, "Namespace", str, ALARMS),
            metric=metric,
            dimensions=_dimensions(maybe(entry, "Dimensions", list, ALARMS), ALARMS),
            statistic=statistic,
            via="",
        )
        series = f"{statistic} of {condition.namespace}/{metric}"
    elif queries is not None:
        condition, series = _math_condition(queries)
    else:
        # A PromQL alarm (EvaluationCriteria) or a shape rootguard does not know: no metric to follow.
        condition, series = None, "no CloudWatch metric"
    datapoints = maybe(entry, "DatapointsToAlarm", int, ALARMS)
    threshold = maybe(entry, "Threshold", (int, float), ALARMS)
    if condition is not None:
        # What a metric alarm always has (PutMetricAlarm requires them): missing, the alarm cannot be judged.
        if threshold is None and maybe(entry, "ThresholdMetricId", str, ALARMS) is None:
            raise UnexpectedResponse(f"{ALARMS}: alarm {entry.get('AlarmName')} has neither Threshold nor ThresholdMetricId", action=ALARMS)
        need(entry, "ComparisonOperator", str, ALARMS)
        if datapoints is None:
            datapoints = need(entry, "EvaluationPeriods", int, ALARMS)
    reads = [(condition.namespace, condition.metric)] if condition is not None else []
    for query in queries or []:
        stat = maybe(query, "MetricStat", dict, ALARMS)
        if stat is not None:
            metric_of = need(stat, "Metric", dict, ALARMS)
            reads.append((need(metric_of, "Namespace", str, ALARMS), need(metric_of, "MetricName", str, ALARMS)))
    return Alarm(
        name=need(entry, "AlarmName", str, ALARMS),
        actions_enabled=need(entry, "ActionsEnabled", bool, ALARMS),
        topics=topics,
        other_actions=tuple(a for a in actions if a not in topics),
        condition=condition,
        comparison=maybe(entry, "ComparisonOperator", str, ALARMS) or "",
        threshold=float(threshold) if threshold is not None else None,
        datapoints=datapoints or 0,
        series=series,
        reads=tuple(dict.fromkeys(reads)),
    )


def read_subscription(entry: dict) -> Subscription:
    return Subscription(
        arn=need(entry, "SubscriptionArn", str, SUBSCRIPTIONS),
        protocol=need(entry, "Protocol", str, SUBSCRIPTIONS),
        endpoint=str(entry.get("Endpoint", "")),
    )


@fact("monitoring.filters", regional=True)
def filters(ctx, log_group: str) -> tuple[MetricFilter, ...] | None:
    """The metric filters of one log group, read; None when there is no such log group."""
    listed = ctx.fact("logs.metric_filters", region=ctx.region, log_group=log_group)
    return None if listed is None else tuple(read_filter(e) for e in listed)


@fact("monitoring.alarms", regional=True)
def metric_alarms(ctx) -> tuple[Alarm | Unreadable, ...]:
    """The region's alarms, read one by one: an alarm of an unexpected shape is Unreadable, not the region."""
    found = []
    for entry in ctx.fact("cloudwatch.alarms", region=ctx.region):
        try:
            found.append(read_alarm(entry))
        except UnexpectedResponse as exc:
            found.append(Unreadable(UnexpectedResponse(f"alarm {entry.get('AlarmName', '?')}: {exc}", action=ALARMS)))
    return tuple(found)


@fact("monitoring.subscribers", regional=True)
def subscribers(ctx, topic: str) -> tuple[Subscription, ...] | None:
    """The subscriptions of one SNS topic, read; None when the topic no longer exists."""
    listed = ctx.fact("sns.subscriptions", region=ctx.region, topic=topic)
    return None if listed is None else tuple(read_subscription(e) for e in listed)


@fact("monitoring.log_group_watch")
def log_group_watch(ctx) -> dict:
    """Fetched ahead for the alarm controls: filters, alarms and topic subscribers of each trail log group held here.

    Log group ARN -> its filters (or Unreadable). Nothing here decides a verdict; the controls
    read each piece themselves (rootguard.controls.alerting).
    """
    listing = ctx.attempt("cloudtrail.trails")
    if isinstance(listing, Unreadable):
        return {}
    watched: dict = {}
    for trail in listing.multi_region:
        arn = trail.log_group_arn
        if not arn or trail.log_group_account != ctx.account.id or arn in watched:
            continue
        region = trail.log_group_region
        found = ctx.attempt("monitoring.filters", region=region, log_group=trail.log_group_name)
        watched[arn] = found
        if found is None or isinstance(found, Unreadable):
            continue
        metrics = {(t.namespace, t.name) for f in found for t in f.transformations}
        alarms = ctx.attempt("monitoring.alarms", region=region)
        if isinstance(alarms, Unreadable):
            continue
        for alarm in alarms:
            if isinstance(alarm, Alarm) and any(alarm.watches(*metric) for metric in metrics):
                for topic in alarm.topics:
                    ctx.attempt("monitoring.subscribers", region=topic.split(":")[3], topic=topic)
    return watched
