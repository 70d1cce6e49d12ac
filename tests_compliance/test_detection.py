"""Detection controls: GuardDuty watches every region, and AWS Config records the account's resources."""

from rootguard.controls import control, fail
from rootguard.controls.partial import Gaps


@control(
    id="guardduty-enabled",
    title="GuardDuty is enabled in the region",
    severity="high",
    rationale="""GuardDuty flags root credential use from unusual places, credential exfiltration and
        crypto-mining; attackers favour regions nobody uses, so it has to run in every region.""",
    remediation="""Enable GuardDuty in the region (GuardDuty > Get started > Enable, or aws guardduty
        create-detector --enable), best for the whole organization from a delegated administrator.""",
    passes_when="a GuardDuty detector is enabled in the region; one outcome per profile region",
    facts=["guardduty.detectors"],
    frameworks={"soc2": ["CC7.2", "CC6.8"], "iso27001": ["A.8.16", "A.8.7"], "securityhub": ["GuardDuty.1"]},
    regional=True,
)
def test_guardduty_enabled(account):
    detectors = account.fact("guardduty.detectors", region=account.region)
    enabled = [d for d in detectors if d.status == "ENABLED"]
    if enabled:
        account.passes_because(f"GuardDuty detector {enabled[0].id} is enabled")
        return
    if detectors:
        fail(f"GuardDuty detector {detectors[0].id} is {detectors[0].status.lower()}; enable it: GuardDuty > Settings > Enable")
    fail("GuardDuty has no detector here; enable it: GuardDuty > Get started (aws guardduty create-detector --enable)")


@control(
    id="config-recorder",
    title="AWS Config records all resource types (or all but named exclusions), IAM's global ones included",
    severity="medium",
    rationale="""AWS Config keeps the history of every configuration change, IAM included; without it an
        investigation cannot tell when a policy, user or key appeared, or what it looked like before.""",
    remediation="""Set up AWS Config with "Record all resource types" and global resources (IAM) included,
        and start recording: AWS Config > Settings (aws configservice put-configuration-recorder
        --recording-group allSupported=true,includeGlobalResourceTypes=true, then
        start-configuration-recorder).""",
    passes_when="""in at least one profile region an AWS Config recorder of the account's own records all
        supported resource types (or all but named exclusions, `EXCLUSION_BY_RESOURCE_TYPES`), IAM's
        global types included, and is recording""",
    facts=["config.recorders_everywhere"],
    frameworks={"soc2": ["CC7.1", "CC8.1"], "iso27001": ["A.8.9", "A.8.16"]},
)
def test_config_recorder(account):
    gaps, recorders = Gaps(), []
    for region in account.fact("config.recorders_everywhere"):
        recorders += gaps.read(account.attempt("config.region_recorders", region=region), f"the recorders of {region}") or []
    own = [r for r in recorders if r.service is None]
    for recorder in own:
        if recorder.strategy != "INCLUSION_BY_RESOURCE_TYPES" and recorder.records_iam and recorder.recording:
            but = f" except {', '.join(recorder.excluded)}" if recorder.excluded else ""
            account.passes_because(
                f"{recorder.describe()} records all resource types{but}, IAM's global ones included, and is recording{gaps.note()}"
            )
            return
    if gaps:
        gaps.undecided("whether AWS Config records every resource type somewhere")
    if not own:
        fail("AWS Config has no configuration recorder of the account's own in any profile region; set one up: AWS Config > Settings")
    reasons = []
    for recorder in own:
        problems = []
        if recorder.strategy == "INCLUSION_BY_RESOURCE_TYPES":
            problems.append("records only selected resource types")
        elif not recorder.records_iam:
            problems.append("leaves out global resources (IAM)")
        if not recorder.recording:
            problems.append("is not recording" + (f" (last status {recorder.last_status})" if recorder.last_status else ""))
        reasons.append(f"{recorder.describe()} {' and '.join(problems)}")
    fail("; ".join(reasons) + "; record all resource types with global ones and start recording: AWS Config > Settings")
