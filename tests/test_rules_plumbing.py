"""What the controls' rules stand on: the @control marker, the @fact registry, and a Target recording what it read."""

import pytest

from rootguard.accounts import Account
from rootguard.controls import Control, Target, control
from rootguard.controls.given import GivenFacts, GivenProfile, GivenSweep, NOW
from rootguard.facts import REGISTRY, fact
from rootguard.profile import PARAM_DEFAULTS


def test_control_marker_carries_its_metadata_normalized():
    mark = control(
        id="x-y", title="T", severity="low", rationale="one\n   two", remediation=" fix\n it ", facts=["iam.root_report"],
        frameworks={"soc2": ["CC6.1"]}, passes_when="within\n  `days` ({root_recent_use_days})",
    )
    assert mark.name == "control"
    assert mark.args[0] == Control(
        id="x-y", title="T", severity="low", rationale="one two", remediation="fix it", facts=("iam.root_report",),
        frameworks={"soc2": ("CC6.1",)}, regional=False, passes_when="within `days` ({root_recent_use_days})",
    )
    assert mark.args[0].criteria({"root_recent_use_days": 30}) == "within `days` (30)"
    assert mark.args[0].check() == []
    regional = control(
        id="r", title="T", severity="low", rationale="r", remediation="r", passes_when="p", facts=[], frameworks={}, regional=True
    )
    assert regional.args[0].regional is True


def test_a_pass_rule_names_only_profile_settings_and_shows_lists_as_their_items():
    wrong = control(id="x", title="T", severity="low", rationale="r", remediation="r", passes_when="under {max_days}", facts=[], frameworks={})
    assert wrong.args[0].check() == [
        "passes_when names {max_days}, which is not a profile setting (params: " + ", ".join(PARAM_DEFAULTS) + ")"
    ]
    listed = control(
        id="x", title="T", severity="low", rationale="r", remediation="r", passes_when="only {scp_root_allowed_actions}; mfa delete {require_mfa_delete}",
        facts=[], frameworks={},
    ).args[0]
    assert listed.criteria({"scp_root_allowed_actions": (), "require_mfa_delete": False}) == "only none; mfa delete no"
    assert listed.criteria({"scp_root_allowed_actions": ["iam:Get*", "s3:List*"], "require_mfa_delete": True}) == (
        "only iam:Get*, s3:List*; mfa delete yes"
    )
    empty = control(id="x", title="T", severity="low", rationale="r", remediation="r", passes_when=" ", facts=[], frameworks={})
    assert empty.args[0].check() == ["passes_when is empty"]


def test_a_fact_name_is_taken_once():
    assert REGISTRY["iam.root_report"].name == "iam.root_report"
    assert REGISTRY["iam.root_report"].regional is False
    assert REGISTRY["cloudtrail.trail_list"].regional is True
    assert REGISTRY["iam.root_report"].description == "The root user's row of the credential report: MFA, password use and access keys."

    def another(ctx):
        """Another fetch under a taken name."""

    with pytest.raises(ValueError, match="defined twice"):
        fact("iam.root_report")(another)
    assert REGISTRY["iam.root_report"].fetch.__name__ == "root_report"


def test_a_target_records_every_fact_it_reads_and_shares_the_record_with_other_accounts():
    account, other = Account("111122223333", "a"), Account("123456789012", "b")
    peer = GivenFacts(other, {"iam.root_report": "theirs"})
    store = GivenFacts(account, {"iam.root_report": "mine", "cloudtrail.trail_list": lambda region: region}, {other.id: peer})
    target = Target(account, store, GivenSweep(GivenProfile({"p": 1}), NOW), "eu-west-1")
    assert target.account is account
    assert (target.id, target.name, target.label, target.region) == ("111122223333", "a", "a (111122223333)", "eu-west-1")
    assert target.fact("iam.root_report") == "mine"
    assert target.fact("cloudtrail.trail_list", region="ap-south-1") == "ap-south-1"
    elsewhere = target.other_account(other.id)
    assert elsewhere.fact("iam.root_report") == "theirs" and elsewhere.region == "eu-west-1" and elsewhere.params == {"p": 1}
    assert [(s.account.id, key[0], key[1]) for s, key in target.used] == [
        ("111122223333", "iam.root_report", "us-east-1"),
        ("111122223333", "cloudtrail.trail_list", "ap-south-1"),
        ("123456789012", "iam.root_report", "us-east-1"),
    ]
    assert target.other_account("999999999999") is None
    assert target.pass_message == ""


def test_registering_a_fact_keeps_its_name_function_kind_and_first_line():
    def probe(ctx):
        """What the probe reads.

        More words.
        """

    def plain(ctx):
        pass

    try:
        assert fact("test.probe", regional=True)(probe) is probe
        fact("test.plain")(plain)
        spec, bare = REGISTRY["test.probe"], REGISTRY["test.plain"]
        assert (spec.name, spec.fetch, spec.regional, spec.description) == ("test.probe", probe, True, "What the probe reads.")
        assert (bare.name, bare.fetch, bare.regional, bare.description) == ("test.plain", plain, False, "")
        fact("test.probe", regional=True)(probe)  # the same function again (a module imported afresh) is fine
    finally:
        REGISTRY.pop("test.probe", None)
        REGISTRY.pop("test.plain", None)
