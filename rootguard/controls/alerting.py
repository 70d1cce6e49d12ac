"""Alarm chains on a trail's CloudWatch Logs group: metric filter -> alarm -> SNS topic -> confirmed subscriber.

root-usage-alarm and signin-failure-alarm ask the same question about different events;
both walk the chain here, from the trails of the account judged into the account that holds
each log group, when the run can read it.

An alarm counts when a burst of matching events puts it in ALARM (DESIGN.md, "goes to ALARM
on N matching events"): one period holding N events, each adding the filter's metricValue,
gives the alarm's statistic a reading (N x value for Sum, the value itself for Maximum,
Minimum and Average, N for SampleCount) that meets its threshold, and one breaching
datapoint is enough. Only the comparisons that more events can cross count (greater than,
or greater than or equal to, a static threshold); an alarm that would sit in ALARM with no
event at all, or on an anomaly band, tells nobody that the event happened.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable

from rootguard.controls import Target
from rootguard.facts import Unreadable
from rootguard.facts.cloudtrail import Trail
from rootguard.facts.monitoring import Alarm, MetricTransformation
from rootguard.controls.partial import Gaps
from rootguard.controls.trail_logs import log_group_holder, where

RISING = {"GreaterThanOrEqualToThreshold": ">=", "GreaterThanThreshold": ">"}
# Keeps N x value >= threshold exact where floating point is not (3 x 0.1 is 0.30000000000000004).
TOLERANCE = 1e-9


def events_to_alarm(alarm: Alarm, transformation: MetricTransformation) -> tuple[int | None, str]:
    """How many matching events in one period put `alarm` in ALARM, with how it reads them; None and why when no number does."""
    condition = alarm.condition
    if condition is None:
        return None, f"it alarms on {alarm.series}, not on the filter's metric itself"
    value = transformation.per_event
    if value is None:
        return None, f"the filter's metricValue {transformation.value!r} is not a positive number"
    if transformation.dimensions:
        return None, f"the filter publishes its metric per {', '.join(transformation.dimensions)}, and one alarm sees one such series only"
    if condition.dimensions:
        names = ", ".join(f"{k}={v}" for k, v in condition.dimensions)
        return None, f"it watches the metric with dimensions {names}, which the filter never publishes"
    if alarm.threshold is None:
        return None, "its threshold is an anomaly detection band, not a number of events"
    sign = RISING.get(alarm.comparison)
    if sign is None:
        return None, f"it compares {alarm.comparison or 'with no operator'}: more events never cross that threshold"
    if alarm.datapoints != 1:
        return None, f"it needs {alarm.datapoints} breaching datapoints, so events in one period never fire it"
    threshold, strict = alarm.threshold, sign == ">"

    def fewest(per_event: float) -> int:
        ratio = threshold / per_event
        return max(1, math.floor(ratio + TOLERANCE) + 1 if strict else math.ceil(ratio - TOLERANCE))

    statistic = condition.statistic
    if statistic == "Sum":
        return fewest(value), f"Sum {sign} {threshold:g}, {value:g} per event"
    if statistic == "SampleCount":
        return fewest(1.0), f"SampleCount {sign} {threshold:g}"
    if statistic in ("Average", "Minimum", "Maximum"):
        if value > threshold or (not strict and value >= threshold - TOLERANCE):
            return 1, f"{statistic} {sign} {threshold:g}, {value:g} per event"
        return None, f"its {statistic} reads {value:g} however many events come, and needs {sign} {threshold:g}"
    return None, f"its statistic {statistic} is not one whose reading rootguard can work out from a count of events"


def _topic(arn: str) -> str:
    return arn.rsplit(":", 1)[-1]


def follow(holder: Target, trail: Trail, matches: Callable[[str], bool], event: str, most: int, gaps: Gaps) -> tuple[str | None, list[str]]:
    """Walk log group -> matching filter -> alarm -> SNS topic -> confirmed subscriber.

    Returns the working chain in words (or None) and why each chain found breaks. What
    cannot be read goes to `gaps`.
    """
    group, region = trail.log_group_name, trail.log_group_region
    filters = holder.attempt("monitoring.filters", region=region, log_group=group)
    if isinstance(filters, Unreadable):
        gaps.add(f"the metric filters of log group {group}", filters.error)
        return None, []
    if filters is None:
        return None, [f"log group {group} does not exist"]
    matching = [f for f in filters if matches(f.pattern)]
    if not matching:
        return None, [f"no metric filter on log group {group} matches {event}"]
    alarms = gaps.read(holder.attempt("monitoring.alarms", region=region), f"the CloudWatch alarms of {region}")
    if alarms is None:
        return None, []
    reasons = []
    for metric_filter in matching:
        for transformation in metric_filter.transformations:
            metric = f"{transformation.namespace}/{transformation.name}"
            watching = []
            for alarm in alarms:
                if isinstance(alarm, Unreadable):
                    gaps.add(f"an alarm in {region}", alarm.error)
                elif alarm.watches(transformation.namespace, transformation.name):
                    watching.append(alarm)
            if not watching:
                reasons.append(f"filter {metric_filter.name} on {group} feeds metric {metric}, but no alarm watches it")
                continue
            for alarm in watching:
                needed, how = events_to_alarm(alarm, transformation)
                if needed is None:
                    reasons.append(f"alarm {alarm.name} on {metric} never goes to ALARM on {event}: {how}")
                    continue
                if needed > most:
                    reasons.append(
                        f"alarm {alarm.name} on {metric} goes to ALARM only on {needed} events in one period ({how}), "
                        f"more than {most}"
                    )
                    continue
                if not alarm.actions_enabled:
                    reasons.append(f"alarm {alarm.name} has its actions disabled")
                    continue
                if not alarm.topics:
                    others = f" (its alarm actions: {', '.join(alarm.other_actions)})" if alarm.other_actions else ""
                    reasons.append(f"alarm {alarm.name} notifies no SNS topic when it goes to ALARM{others}")
                    continue
                for topic in alarm.topics:
                    subscribers = holder.attempt("monitoring.subscribers", region=topic.split(":")[3], topic=topic)
                    if isinstance(subscribers, Unreadable):
                        gaps.add(f"the subscriptions of topic {_topic(topic)}", subscribers.error)
                        continue
                    if subscribers is None:
                        reasons.append(f"alarm {alarm.name} notifies topic {_topic(topic)}, which no longer exists")
                        continue
                    confirmed = [s for s in subscribers if s.confirmed]
                    if confirmed:
                        fires = "one event" if needed == 1 else f"{needed} events in one period"
                        return (
                            f"filter {metric_filter.name} on log group {group} feeds alarm {alarm.name}, which goes to ALARM on "
                            f"{fires} ({how}) and notifies {_topic(topic)} with {len(confirmed)} confirmed subscription(s) "
                            f"({confirmed[0].protocol})"
                        ), reasons
                    states = Counter("pending confirmation" if s.arn == "PendingConfirmation" else "being deleted" for s in subscribers)
                    shown = ", ".join(f"{n} {state}" for state, n in sorted(states.items()))
                    reasons.append(
                        f"alarm {alarm.name} notifies topic {_topic(topic)}, which has no confirmed subscription" + (f" ({shown})" if shown else "")
                    )
    return None, reasons


@dataclass
class AlarmSearch:
    """What the walk found: a working chain in words, or why each chain breaks, or where it could not look."""

    found: str | None = None
    broken: list[str] = field(default_factory=list)
    elsewhere: list[str] = field(default_factory=list)


def search_alarms(account: Target, trails: list[Trail], matches: Callable[[str], bool], event: str, most: int, gaps: Gaps) -> AlarmSearch:
    """Look for a working chain on the log group of each trail, in whichever account holds it.

    `most` is the largest burst of events (in one period) the alarm may need.
    """
    search = AlarmSearch()
    for trail in trails:
        holder = log_group_holder(account, trail)
        if holder is None:
            search.elsewhere.append(f"the log group of {trail.describe()} is in account {trail.log_group_account}")
            continue
        found, reasons = follow(holder, trail, matches, event, most, gaps)
        if found:
            search.found = found + where(holder, account)
            return search
        search.broken += [reason + where(holder, account) for reason in reasons]
    return search
