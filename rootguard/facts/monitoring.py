"""Monitoring facts: what watches a trail's CloudWatch Logs group (metric filters, alarms, SNS)."""

from __future__ import annotations

from dataclasses import dataclass

from rootguard.facts import fact
from rootguard.facts.shapes import maybe, need

FILTERS = "logs:DescribeMetricFilters"
ALARMS = "cloudwatch:DescribeAlarms"
SUBSCRIPTIONS = "sns:ListSubscriptionsByTopic"


@fact("logs.metric_filters", regional=True)
def metric_filters(ctx, log_group: str) -> list:
    """Metric filters on one log group."""
    return ctx.paginate("logs", "describe_metric_filters", "metricFilters", logGroupName=log_group)


@fact("cloudwatch.alarms", regional=True)
def alarms(ctx) -> list:
    """Every metric alarm in a region."""
    return ctx.paginate("cloudwatch", "describe_alarms", "MetricAlarms")


@fact("sns.subscriptions", regional=True)
def subscriptions(ctx, topic: str) -> list:
    """Subscriptions of one SNS topic."""
    return ctx.paginate("sns", "list_subscriptions_by_topic", "Subscriptions", TopicArn=topic)


@dataclass(frozen=True)
class MetricFilter:
    name: str
    pattern: str
    metrics: tuple[tuple[str, str], ...]  # (namespace, metric name)


@dataclass(frozen=True)
class Alarm:
    name: str
    namespace: str | None
    metric: str | None
    actions_enabled: bool
    topics: tuple[str, ...]


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


@dataclass(frozen=True)
class LogGroupWatch:
    """Everything that watches one log group: its filters, the alarms on their metrics, and topic subscribers."""

    log_group_arn: str
    filters: tuple[MetricFilter, ...]
    alarms: tuple[Alarm, ...]
    subscribers: dict  # topic ARN -> tuple[Subscription, ...]


def read_filter(entry: dict) -> MetricFilter:
    transformations = need(entry, "metricTransformations", list, FILTERS)
    return MetricFilter(
        name=need(entry, "filterName", str, FILTERS),
        pattern=need(entry, "filterPattern", str, FILTERS),
        metrics=tuple(
            (need(t, "metricNamespace", str, FILTERS), need(t, "metricName", str, FILTERS)) for t in transformations
        ),
    )


def read_alarm(entry: dict) -> Alarm:
    actions = need(entry, "AlarmActions", list, ALARMS)
    return Alarm(
        name=need(entry, "AlarmName", str, ALARMS),
        namespace=maybe(entry, "Namespace", str, ALARMS),
        metric=maybe(entry, "MetricName", str, ALARMS),
        actions_enabled=need(entry, "ActionsEnabled", bool, ALARMS),
        topics=tuple(a for a in actions if isinstance(a, str) and a.startswith("arn:") and a.split(":")[2] == "sns"),
    )


def read_subscription(entry: dict) -> Subscription:
    return Subscription(
        arn=need(entry, "SubscriptionArn", str, SUBSCRIPTIONS),
        protocol=need(entry, "Protocol", str, SUBSCRIPTIONS),
        endpoint=str(entry.get("Endpoint", "")),
    )


@fact("monitoring.log_group_watch")
def log_group_watch(ctx) -> dict:
    """For each log group of a multi-region logging trail kept in this account: filters, alarms, subscribers."""
    watched: dict[str, LogGroupWatch] = {}
    for trail in ctx.fact("cloudtrail.trails"):
        arn = trail.log_group_arn
        if not (trail.multi_region and trail.logging and arn) or trail.log_group_account != ctx.account.id or arn in watched:
            continue
        region = trail.log_group_region
        filters = tuple(read_filter(e) for e in ctx.fact("logs.metric_filters", region=region, log_group=trail.log_group_name))
        metrics = {m for f in filters for m in f.metrics}
        related = tuple(
            alarm
            for alarm in (read_alarm(e) for e in ctx.fact("cloudwatch.alarms", region=region))
            if (alarm.namespace, alarm.metric) in metrics
        )
        subscribers = {}
        for topic in sorted({t for alarm in related for t in alarm.topics}):
            subscribers[topic] = tuple(
                read_subscription(e) for e in ctx.fact("sns.subscriptions", region=topic.split(":")[3], topic=topic)
            )
        watched[arn] = LogGroupWatch(arn, filters, related, subscribers)
    return watched
