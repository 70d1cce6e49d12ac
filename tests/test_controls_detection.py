"""Detection controls on seeded moto state: GuardDuty region by region, and the AWS Config recorder."""

import pytest

from tests.shared_runs import accounts, judged

DETECTION = accounts(
    '- {id: "210000000021", name: gd-disabled, guardduty: {us-east-1: disabled, eu-west-1: enabled}}\n',
    '- {id: "210000000022", name: gd-none, config_recorders: [{region: eu-west-1}]}\n',
    '- {id: "210000000023", name: config-no-global, config_recorders: [{include_global: false}]}\n',
    '- {id: "210000000024", name: config-selected, config_recorders: [{all_supported: false}]}\n',
    '- {id: "210000000025", name: config-stopped, config_recorders: [{recording: false}]}\n',
    hub="guardduty: {us-east-1: enabled, eu-west-1: enabled}\nconfig_recorders: [{region: us-east-1}]\n",
    regions="[us-east-1, eu-west-1]",
)
CONTROLS = ("guardduty-enabled", "config-recorder")


@pytest.mark.parametrize(
    "account, region, outcome, says",
    [
        ("hub", "us-east-1", "passed", "hub (123456789012) us-east-1: GuardDuty detector "),
        ("hub", "eu-west-1", "passed", " is enabled"),
        ("gd-disabled", "us-east-1", "failed", "us-east-1: GuardDuty detector "),
        ("gd-disabled", "us-east-1", "failed", " is disabled; enable it: GuardDuty > Settings > Enable"),
        ("gd-disabled", "eu-west-1", "passed", " is enabled"),
        ("gd-none", "eu-west-1", "failed", "eu-west-1: GuardDuty has no detector here; enable it"),
    ],
    ids=["enabled-us-east-1", "enabled-eu-west-1", "disabled-detector", "disabled-detector-message", "enabled-other-region", "no-detector"],
)
def test_guardduty_enabled(judge, account, region, outcome, says):
    entry = judged(judge, DETECTION, *CONTROLS).entry("guardduty-enabled", account, region)
    assert entry["outcome"] == outcome
    assert says in entry["message"]


@pytest.mark.parametrize(
    "account, outcome, says",
    [
        ("hub", "passed", "recorder default (us-east-1) records all resource types, IAM's global ones included, and is recording"),
        ("gd-none", "passed", "recorder default (eu-west-1) records all resource types"),
        ("gd-disabled", "failed", "AWS Config has no configuration recorder of the account's own in any profile region"),
        ("config-no-global", "failed", "recorder default (us-east-1) leaves out global resources (IAM)"),
        ("config-selected", "failed", "recorder default (us-east-1) records only selected resource types"),
        ("config-stopped", "failed", "recorder default (us-east-1) is not recording"),
    ],
    ids=["recording-all", "recording-in-second-region", "no-recorder", "no-global-resources", "selected-types", "stopped"],
)
def test_config_recorder(judge, account, outcome, says):
    verdicts = judged(judge, DETECTION, *CONTROLS)
    assert verdicts.outcome("config-recorder", account) == outcome
    assert says in verdicts.message("config-recorder", account)
