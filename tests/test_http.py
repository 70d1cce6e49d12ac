"""The unchanged suite against a moto server over HTTP: endpoint_url, AssumeRole into each account."""

import json

import pytest

from rootguard.fixtures.server import moto_server
from tests.conftest import REPO

DEMO_SCENARIO = REPO / "fixtures" / "scenarios" / "demo.yaml"


def live_profile(path, endpoint):
    path.write_text(
        "description: demo organization behind a moto server\n"
        "backend: live\n"
        f"endpoint_url: {endpoint}\n"
        "home_region: us-east-1\n"
        "regions: [us-east-1, eu-west-1]\n"
        "organization:\n  role_name: OrganizationAccountAccessRole\n"
        "accounts:\n"
        '  - id: "666677778888"\n    name: acquired-analytics\n'
        "    role_arn: arn:aws:iam::666677778888:role/OrganizationAccountAccessRole\n"
    )
    return path


@pytest.fixture
def fake_aws_environment(monkeypatch, tmp_path):
    """Credentials as a user would have them, and nothing from this machine's AWS config."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_DEFAULT_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))


def outcomes(data):
    return {(r["control"], r["account_id"]): r["outcome"] for r in data["results"]}


def test_suite_over_http_matches_in_process_run(pytester, fake_aws_environment, demo_pack):
    over_http = pytester.path / "http-pack"
    with moto_server(DEMO_SCENARIO) as endpoint:
        profile = live_profile(pytester.path / "http.yaml", endpoint)
        result = pytester.runpytest(str(REPO / "tests_compliance"), "--profile", str(profile), "--report-dir", str(over_http))
    assert result.ret == 1, "\n".join(result.outlines[-30:] + result.errlines)
    http_data = json.loads((over_http / "results.json").read_text())

    mock_data = json.loads((demo_pack / "results.json").read_text())  # the same demo, in-process

    assert len(http_data["results"]) == 161  # 7 accounts x (21 account-wide controls + guardduty-enabled in 2 regions)
    assert outcomes(http_data) == outcomes(mock_data)
    assert not [r for r in http_data["results"] if r["outcome"] == "error"]
    for control in {r["control"] for r in http_data["results"]}:
        seen = {r["outcome"] for r in http_data["results"] if r["control"] == control}
        assert {"passed", "failed"} <= seen, control

    # Members were reached by AssumeRole through the endpoint, under rootguard's session name.
    identity = json.loads((over_http / "evidence" / "222233334444" / "sts.caller_identity--us-east-1.json").read_text())
    assert identity["calls"][0]["response"]["Arn"] == (
        "arn:aws:sts::222233334444:assumed-role/OrganizationAccountAccessRole/rootguard-compliance-audit"
    )
    assert http_data["caller"].startswith("arn:aws:") and ":123456789012:" in http_data["caller"]

    # A live profile pointed at a moto server is not AWS, and every report says so.
    assert (http_data["backend"], http_data["endpoint_url"]) == ("live", endpoint)
    assert http_data["context"]["data_source"] == f"NOT AWS: every call went to {endpoint} (the profile's endpoint_url), not to AWS's endpoints"
    for report in ("report.html", "workpaper.html"):
        assert f"NOT AWS: every call went to {endpoint}" in (over_http / report).read_text(), report
    assert f"NOT AWS: every call went to {endpoint}" in "\n".join(result.outlines)
