"""population.json: every account the scope reaches, judged or not, with the reason, backed by the listings.

On the demo (an organization with a suspended account, and a listed standalone account),
and on a seeded organization with an excluded account and an OU filter, swept whole, by
shards that are merged, with --account, and with a member that cannot be reached.
"""

from __future__ import annotations

import json
import textwrap
from collections import Counter

import pytest
from botocore.client import BaseClient

from rootguard.accounts import SESSION_NAME
from rootguard.cli import main as rootguard
from rootguard.evidence.pack import verify
from tests.conftest import REPO

SUITE = str(REPO / "tests_compliance")
HUB = "123456789012"
SCENARIO = """\
regions: [us-east-1]
organization:
  ous:
    - name: Security
    - name: Production
    - name: Sandbox
accounts:
  - id: "123456789012"
    name: management
  - id: "111122223333"
    name: audit
    ou: Security
  - id: "222233334444"
    name: shop
    ou: Production
  - id: "333344445555"
    name: billing
    ou: Production
  - id: "444455556666"
    name: playground
    ou: Sandbox
  - id: "555566667777"
    name: old-shop
    ou: Production
    status: SUSPENDED
"""


def population(pack) -> dict:
    return json.loads((pack / "population.json").read_text())


def answers(path) -> list:
    """What AWS answered in an evidence file, and the request ids to find each answer by."""
    return [(c["action"], c["response"], c["request_ids"]) for c in json.loads(path.read_text())["calls"]]


def by_id(document: dict) -> dict:
    return {a["account_id"]: a for a in document["accounts"]}


def sweep(pytester, *args, include_ous="[Security, Production]", exclude='["333344445555"]', name="pack"):
    (pytester.path / "scenario.yaml").write_text(SCENARIO)
    profile = pytester.path / "org.yaml"
    profile.write_text(textwrap.dedent(f"""\
        backend: moto
        scenario: {pytester.path / "scenario.yaml"}
        home_region: us-east-1
        regions: [us-east-1]
        organization:
          role_name: OrganizationAccountAccessRole
          include_ous: {include_ous}
          exclude_accounts: {exclude}
        """))
    pack = pytester.path / name
    result = pytester.runpytest(SUITE, "--profile", str(profile), "--report-dir", str(pack), "-k", "root_mfa",
                                "-p", "no:html", "-p", "no:allure_pytest", "--export", "none", *args)
    assert (pack / "population.json").is_file(), "\n".join(result.outlines[-30:] + result.errlines[-30:])
    return pack


def test_the_demo_population_names_every_account_with_its_reason_and_its_place(demo_pack):
    document = population(demo_pack)
    accounts = by_id(document)
    results = json.loads((demo_pack / "results.json").read_text())
    judged = {a["account_id"] for a in results["accounts"]}
    assert {i for i, a in accounts.items() if a["reason"] == "judged"} == judged
    retired = accounts["777788889999"]
    assert (retired["in_scope"], retired["reason"], retired["status"], retired["ou_path"]) == (False, "suspended_or_closed", "SUSPENDED", "Root/Sandbox")
    assert accounts[HUB]["ou_path"] == "Root" and accounts["333344445555"]["ou_path"] == "Root/Production"
    # The standalone account is the profile's, outside the organization.
    assert (accounts["666677778888"]["source"], accounts["666677778888"]["ou_path"], accounts["666677778888"]["status"]) == ("profile", None, None)
    assert document["counts"] == {
        "reached": 8, "in_scope": 7, "out_of_scope": 1, "judged": 7, "unreachable": 0, "another_shard": 0,
        "not_selected": 0, "suspended_or_closed": 1, "excluded": 0, "outside_include_ous": 0,
    }
    assert document["statement"].startswith("Every one of the 7 in-scope accounts was tested, each by every selected control; no sampling")

    # Backed by the listings: each is an evidence file of the pack under its manifest, with AWS's request ids.
    manifest = verify(demo_pack).manifest
    assert document["evidence"] and all(name in manifest["files"] for name in document["evidence"])
    # The organization's accounts are those its roots and OUs list (ListAccountsForParent), each
    # under one parent, whatever its state: ListAccounts would list them again.
    listed = Counter()
    for name in (n for n in document["evidence"] if "organizations.accounts_for_parent--" in n):
        for call in json.loads((demo_pack / name).read_text())["calls"]:
            assert call["action"] == "organizations:ListAccountsForParent" and call["request_ids"]
            listed.update(a["Id"] for a in call["response"]["Accounts"])
    assert set(listed) == {i for i, a in accounts.items() if a["source"] == "organization"}
    assert set(listed.values()) == {1}
    assert not any("organizations.accounts--" in name for name in document["evidence"])
    # Each OU path comes from the tree's listings, also kept.
    assert any("organizations.child_units--" in name for name in document["evidence"])


def test_excluded_suspended_and_outside_the_ous_are_out_of_scope_each_with_its_reason(pytester):
    pack = sweep(pytester)
    accounts = by_id(population(pack))
    reasons = {i: (a["reason"], a["in_scope"]) for i, a in accounts.items()}
    assert reasons == {
        HUB: ("outside_include_ous", False),
        "111122223333": ("judged", True),
        "222233334444": ("judged", True),
        "333344445555": ("excluded", False),
        "444455556666": ("outside_include_ous", False),
        "555566667777": ("suspended_or_closed", False),
    }
    assert accounts["444455556666"]["ou_path"] == "Root/Sandbox"
    judged = {a["account_id"] for a in json.loads((pack / "results.json").read_text())["accounts"]}
    assert judged == {"111122223333", "222233334444"}
    document = population(pack)
    assert document["scope"]["organization"] == {"include_ous": ["Security", "Production"], "exclude_accounts": ["333344445555"]}
    assert document["statement"] == (
        "Every one of the 2 in-scope accounts was tested, each by every selected control; no sampling; "
        "4 account(s) the scope reached are out of scope, each with its reason."
    )


def test_shards_name_each_others_accounts_and_the_merge_has_them_all(pytester, capsys):
    packs = [sweep(pytester, "--shard", f"{i}/2", include_ous="[]", exclude="[]", name=f"shard{i}") for i in (1, 2)]
    first, second = (by_id(population(p)) for p in packs)
    assert {a["reason"] for a in first.values() if a["in_scope"]} == {"judged", "another_shard"}
    for account_id, entry in first.items():
        if entry["reason"] == "another_shard":
            assert second[account_id]["reason"] == "judged"
    assert "are another shard's" in population(packs[0])["statement"]

    merged = pytester.path / "merged"
    assert rootguard(["merge", *map(str, packs), "--output", str(merged)]) == 0
    document = population(merged)
    assert {a["reason"] for a in document["accounts"] if a["in_scope"]} == {"judged"}
    assert document["counts"]["judged"] == 5 and document["counts"]["suspended_or_closed"] == 1
    assert document["statement"].startswith("Every one of the 5 in-scope accounts was tested")
    assert all((merged / name).is_file() for name in document["evidence"])
    assert rootguard(["verify", str(merged)]) == 0


def test_account_option_and_an_unreachable_member_are_said_so(pytester, monkeypatch):
    real = BaseClient._make_api_call

    def refuse(self, operation, params):
        if operation == "AssumeRole" and params.get("RoleSessionName") == SESSION_NAME and "222233334444" in params.get("RoleArn", ""):
            from botocore.exceptions import ClientError

            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "not trusted"}}, operation)
        return real(self, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", refuse)
    pack = sweep(pytester, "--account", "222233334444", "--account", "111122223333", include_ous="[]", exclude="[]")
    accounts = by_id(population(pack))
    assert accounts["222233334444"]["reason"] == "unreachable" and accounts["222233334444"]["in_scope"]
    assert accounts["111122223333"]["reason"] == "judged"
    assert {accounts[i]["reason"] for i in (HUB, "333344445555", "444455556666")} == {"not_selected"}
    statement = population(pack)["statement"]
    assert statement.startswith("1 of the 5 in-scope accounts were tested")
    assert "1 could not be reached" in statement and "3 were left out with --account" in statement


def sweep_organization(pytester, organization_extra: str = ""):
    """root-mfa over the seeded organization, enumerated through the hub (with more `organization:` keys)."""
    (pytester.path / "scenario.yaml").write_text(SCENARIO)
    profile = pytester.path / "org.yaml"
    profile.write_text(f"backend: moto\nscenario: {pytester.path / 'scenario.yaml'}\nhome_region: us-east-1\nregions: [us-east-1]\n"
                       "organization:\n  role_name: OrganizationAccountAccessRole\n" + organization_extra)
    return pytester.runpytest(SUITE, "--profile", str(profile), "--report-dir", str(pytester.path / "pack"), "-k", "root_mfa")


@pytest.mark.parametrize("listing", ["ListAccountsForParent", "ListOrganizationalUnitsForParent"])
def test_a_listing_that_fails_stops_the_run_in_one_line(pytester, monkeypatch, listing):
    real = BaseClient._make_api_call

    def refuse(self, operation, params):
        if operation == listing:
            from botocore.exceptions import ClientError

            raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, operation)
        return real(self, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", refuse)
    result = sweep_organization(pytester)
    assert result.ret == 6
    line = [text for text in result.outlines + result.errlines if "could not list the organization's accounts" in text]
    assert line and f"organizations:{listing}" in line[0] and "AccessDenied" in line[0]


def test_a_replay_keeps_the_original_population_with_its_listings(pytester, demo_pack):
    pack = pytester.path / "replayed"
    result = pytester.runpytest(SUITE, "--replay", str(demo_pack), "--report-dir", str(pack), "-p", "no:allure_pytest")
    assert result.ret == 0, "\n".join(result.outlines[-20:])
    original, replayed = population(demo_pack), population(pack)
    assert replayed["accounts"] == original["accounts"] and replayed["statement"] == original["statement"]
    assert replayed["replay_of"] == str(demo_pack)
    for name in replayed["evidence"]:
        assert answers(pack / name) == answers(demo_pack / name)
    assert rootguard(["verify", str(pack)]) == 0


def test_a_listed_account_without_an_id_stops_the_run_rather_than_leaving_it_out(pytester, monkeypatch):
    real = BaseClient._make_api_call

    def shapeless(self, operation, params):
        response = real(self, operation, params)
        if operation == "ListAccountsForParent":
            response = {**response, "Accounts": [{k: v for k, v in a.items() if k != "Id"} for a in response["Accounts"]]}
        return response

    monkeypatch.setattr(BaseClient, "_make_api_call", shapeless)
    result = sweep_organization(pytester, "  include_ous: [Production]\n")
    assert result.ret == 6
    assert any("ListAccountsForParent returned an account without Id" in line for line in result.outlines + result.errlines)
