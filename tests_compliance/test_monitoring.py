"""Monitoring controls: someone is told when root is used."""

from rootguard.controls import control, fail, not_applicable
from rootguard.patterns import matches_root_usage


def _follow(watch) -> tuple[bool, str]:
    """Walk log group -> root filter -> alarm -> SNS topic -> confirmed subscriber; say where it ends."""
    filters = [f for f in watch.filters if matches_root_usage(f.pattern)]
    group = watch.log_group_arn.split(":log-group:", 1)[1].removesuffix(":*")
    if not filters:
        return False, f"no metric filter on log group {group} matches root use"
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


@control(
    id="root-usage-alarm",
    title="Root use raises an alarm that reaches a confirmed subscriber",
    severity="high",
    rationale="""Root use should be rare and always noticed; a metric filter and alarm turn the trail into
        a page to a person, but only if the alarm notifies a topic someone has actually subscribed to.""",
    remediation="""On the multi-region trail's log group, add the CIS root-usage metric filter, a CloudWatch
        alarm on its metric (threshold >= 1) and an SNS topic with a confirmed email or pager subscription.""",
    facts=["cloudtrail.trails", "monitoring.log_group_watch"],
    frameworks={"soc2": ["CC7.2", "CC7.3"], "iso27001": ["A.8.16", "A.8.15"], "cis-v3": ["4.3"], "cis-v5": ["4.3"], "securityhub": ["CloudWatch.1"]},
)
def test_root_usage_alarm(account):
    trails = [t for t in account.fact("cloudtrail.trails") if t.multi_region and t.logging and t.log_group_arn]
    if not trails:
        fail("no multi-region logging trail delivers to CloudWatch Logs, so no metric filter can watch root use; configure one first")
    reasons, elsewhere = [], []
    for trail in trails:
        owner = account if trail.log_group_account == account.id else account.other_account(trail.log_group_account)
        if owner is None:
            elsewhere.append(f"the log group of {trail.describe()} is in account {trail.log_group_account}")
            continue
        watch = owner.fact("monitoring.log_group_watch").get(trail.log_group_arn)
        if watch is None:
            reasons.append(f"account {trail.log_group_account} does not show {trail.describe()} delivering to {trail.log_group_name}")
            continue
        ok, text = _follow(watch)
        where = "" if owner is account else f" (in account {owner.label})"
        if ok:
            account.passes_because(text + where)
            return
        reasons.append(text + where)
    if elsewhere and not reasons:
        not_applicable("; ".join(elsewhere) + ", which this run does not include; add that account to the profile to judge it")
    fail("; ".join(reasons + elsewhere) + "; add the CIS root-usage filter, an alarm and a confirmed SNS subscription")
