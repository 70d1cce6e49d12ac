"""Alarm chains on a trail's CloudWatch Logs group: metric filter -> alarm -> SNS topic -> confirmed subscriber.

root-usage-alarm and signin-failure-alarm ask the same question about different events;
both walk the chain here, from the trails of the account judged into the account that holds
each log group, when the run includes it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from rootguard.controls import Target
from rootguard.facts.cloudtrail import Trail
from rootguard.facts.monitoring import LogGroupWatch
from rootguard.trail_logs import log_group_holder, where


@dataclass
class AlarmSearch:
    """What the walk found: a working chain in words, or why each chain breaks, or where it could not look."""

    found: str | None = None
    broken: list[str] = field(default_factory=list)
    elsewhere: list[str] = field(default_factory=list)


def follow(watch: LogGroupWatch, matches: Callable[[str], bool], event: str) -> tuple[bool, str]:
    """Walk log group -> matching filter -> alarm -> SNS topic -> confirmed subscriber; say where it ends."""
    filters = [f for f in watch.filters if matches(f.pattern)]
    group = watch.log_group_arn.split(":log-group:", 1)[1].removesuffix(":*")
    if not filters:
        return False, f"no metric filter on log group {group} matches {event}"
    metrics = {m for f in filters for m in f.metrics}
    alarms = [a for a in watch.alarms if (a.namespace, a.metric) in metrics]
    if not alarms:
        names = ", ".join(f"{ns}/{name}" for ns, name in sorted(metrics))
        return False, f"filter {filters[0].name} on {group} feeds metric {names}, but no alarm watches it"
    reasons = []
    for alarm in alarms:
        if not alarm.actions_enabled:
            reasons.append(f"alarm {alarm.name} has its actions disabled")
            continue
        if not alarm.topics:
            reasons.append(f"alarm {alarm.name} notifies no SNS topic")
            continue
        for topic in alarm.topics:
            subscribers = watch.subscribers.get(topic, ())
            confirmed = [s for s in subscribers if s.confirmed]
            if confirmed:
                return True, (
                    f"filter {filters[0].name} on log group {group} feeds alarm {alarm.name}, which notifies "
                    f"{topic.rsplit(':', 1)[1]} with {len(confirmed)} confirmed subscription(s) ({confirmed[0].protocol})"
                )
            pending = len(subscribers) - len(confirmed)
            reasons.append(
                f"alarm {alarm.name} notifies topic {topic.rsplit(':', 1)[1]}, which has no confirmed subscription"
                + (f" ({pending} pending confirmation)" if pending else "")
            )
    return False, "; ".join(reasons)


def search_alarms(account: Target, trails: list[Trail], matches: Callable[[str], bool], event: str) -> AlarmSearch:
    """Look for a working chain on the log group of each trail, in whichever account holds it."""
    search = AlarmSearch()
    for trail in trails:
        holder = log_group_holder(account, trail)
        if holder is None:
            search.elsewhere.append(f"the log group of {trail.describe()} is in account {trail.log_group_account}")
            continue
        watch = holder.fact("monitoring.log_group_watch").get(trail.log_group_arn)
        if watch is None:
            search.broken.append(f"account {trail.log_group_account} does not show {trail.describe()} delivering to {trail.log_group_name}")
            continue
        ok, text = follow(watch, matches, event)
        if ok:
            search.found = text + where(holder, account)
            return search
        search.broken.append(text + where(holder, account))
    return search
