"""The conformance corpus: the unchanged suite, run on AWS's own answers, gives the verdicts each sample states.

Each sample (tests/aws_samples/, loaded by tests/corpus.py) seeds a moto scenario, serves
the answers it recorded from AWS in place of moto's (fixtures/overrides.py), runs the
controls it names through pytest as a user would, and checks every verdict it states.
"""

from __future__ import annotations

import json
import re

import pytest

from rootguard.fixtures.overrides import serving
from tests.conftest import REPO, profile_for
from tests.corpus import load_sample, sample_paths

SAMPLES = sample_paths()
URL = re.compile(r"https://\S+")


@pytest.mark.parametrize("path", SAMPLES, ids=[p.stem for p in SAMPLES])
def test_sample_gives_the_verdicts_it_states(pytester, path):
    sample = load_sample(path)
    scenario = pytester.path / "scenario.yaml"
    scenario.write_text(sample.scenario)
    profile = pytester.path / "profile.yaml"
    profile.write_text(profile_for(scenario, sample.scenario, extra=sample.profile, leave_out=sample.leave_out))
    pack = pytester.path / "pack"
    selection = " or ".join("test_" + control.replace("-", "_") for control in sample.controls)
    with serving(list(sample.answers)) as served:
        result = pytester.runpytest(
            str(REPO / "tests_compliance"), "--profile", str(profile), "--report-dir", str(pack), "-k", selection,
            "-p", "no:html", "-p", "no:allure_pytest", "--export", "none", *sample.args,
        )
    assert (pack / "results.json").is_file(), "\n".join(result.outlines[-30:] + result.errlines[-30:])
    results = json.loads((pack / "results.json").read_text())["results"]
    problems = []
    for expected in sample.expect:
        found = [
            r for r in results
            if r["control"] == expected.control and expected.account in (r["account_name"], r["account_id"])
            and (expected.region is None or r["region"] == expected.region)
        ]
        if len(found) != 1:
            problems.append(f"{expected.control} on {expected.account}: {len(found)} results")
            continue
        verdict = found[0]
        if verdict["outcome"] != expected.outcome:
            problems.append(f"{expected.control} on {expected.account}: {verdict['outcome']}, not {expected.outcome}: {verdict['message']}")
        problems += [f"{expected.control} on {expected.account}: no {text!r} in {verdict['message']}" for text in expected.says if text not in verdict["message"]]
    unused = [f"{a.action} for {a.account}" for i, a in enumerate(sample.answers) if not served.counts[i]]
    assert not unused, f"answers no request met, so the sample did not apply: {unused}"
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("path", SAMPLES, ids=[p.stem for p in SAMPLES])
def test_sample_names_where_each_answer_comes_from(path):
    sample = load_sample(path)
    assert sample.sources and all(URL.search(source) for source in sample.sources), sample.sources
    assert all(URL.search(source) for source in sample.answer_sources), sample.answer_sources
    assert sample.expect, "a sample states the verdicts it must give"


def test_the_corpus_covers_what_real_accounts_answer():
    """The answers the corpus must hold, by (action, what is special about it)."""
    answers = {(a.action, a.error[0] if a.error else "response") for p in SAMPLES for a in load_sample(p).answers}
    for needed in [
        ("iam:GetCredentialReport", "response"),
        ("iam:GetAccountSummary", "response"),
        ("iam:ListOrganizationsFeatures", "ServiceAccessNotEnabledException"),
        ("iam:ListOrganizationsFeatures", "response"),
        ("account:GetAlternateContact", "ResourceNotFoundException"),
        ("iam:GetAccountPasswordPolicy", "NoSuchEntity"),
        ("s3:GetPublicAccessBlock", "NoSuchPublicAccessBlockConfiguration"),
        ("s3:GetBucketPolicyStatus", "NoSuchBucketPolicy"),
        ("s3:GetBucketAcl", "response"),
        ("sns:ListSubscriptionsByTopic", "NotFound"),
        ("sns:ListSubscriptionsByTopic", "response"),
        ("cloudwatch:DescribeAlarms", "response"),
        ("config:DescribeConfigurationRecorders", "response"),
        ("budgets:DescribeNotificationsForBudget", "response"),
        ("organizations:DescribePolicy", "response"),
        ("sts:GetCallerIdentity", "response"),
    ]:
        assert needed in answers, needed
