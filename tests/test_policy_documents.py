"""Reading policy documents: what grants everything, and how an SCP statement falls short of denying root."""

import pytest

from rootguard.errors import UnexpectedResponse
from rootguard.facts.policy_documents import grants_everything, parse_document, root_deny_gaps, statements

ROOT = "arn:aws:iam::222233334444:root"
LIKE_ROOT = {"StringLike": {"aws:PrincipalArn": "arn:aws:iam::*:root"}}


@pytest.mark.parametrize(
    "statement, admin",
    [
        ({"Effect": "Allow", "Action": "*", "Resource": "*"}, True),
        ({"Effect": "Allow", "Action": ["*:*"], "Resource": ["*"]}, True),
        ({"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}}, True),
        ({"Effect": "Allow", "Action": "s3:*", "Resource": "*"}, False),
        ({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}, False),
        ({"Effect": "Allow", "Action": "*", "Resource": "arn:aws:s3:::bucket/*"}, False),
        ({"Effect": "Deny", "Action": "*", "Resource": "*"}, False),
    ],
    ids=["star", "star-colon-star", "with-condition", "one-service", "not-action", "one-resource", "deny"],
)
def test_grants_everything(statement, admin):
    assert grants_everything(statement) is admin


@pytest.mark.parametrize(
    "statement, allowed, gaps",
    [
        ({"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": LIKE_ROOT}, (), []),
        ({"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": {"ArnEquals": {"aws:PrincipalARN": ROOT}}}, (), []),
        ({"Effect": "Deny", "NotAction": ["iam:EnableMFADevice"], "Resource": "*", "Condition": LIKE_ROOT}, ("iam:enablemfadevice",), []),
        ({"Effect": "Deny", "NotAction": "iam:*", "Resource": "*", "Condition": LIKE_ROOT}, (), ["leaves iam:* to root"]),
        ({"Effect": "Deny", "Action": ["ec2:*", "s3:*"], "Resource": "*", "Condition": LIKE_ROOT}, (), ["denies root only ec2:*, s3:*"]),
        ({"Effect": "Deny", "Action": "*", "Resource": "arn:aws:s3:::x", "Condition": LIKE_ROOT}, (), ["does not cover every resource"]),
        (
            {"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": {**LIKE_ROOT, "Bool": {"aws:ViaAWSService": "false"}}},
            (),
            ["applies only with Bool aws:ViaAWSService"],
        ),
        ({"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": {"StringLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/*"}}}, (), None),
        ({"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": {"StringLike": {"aws:PrincipalArn": "*"}}}, (), None),
        ({"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": {"StringEquals": {"aws:PrincipalArn": "arn:aws:iam::*:root"}}}, (), None),
        ({"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": LIKE_ROOT}, (), None),
        ({"Effect": "Deny", "Action": "*", "Resource": "*"}, (), None),
    ],
    ids=[
        "deny-all-to-root",
        "exact-root-arn",
        "allowed-exception",
        "exception-not-allowed",
        "some-actions",
        "one-resource",
        "extra-condition",
        "roles-not-root",
        "everyone-is-not-a-root-deny",
        "equals-with-wildcard-matches-nothing",
        "allow-statement",
        "no-condition",
    ],
)
def test_root_deny_gaps(statement, allowed, gaps):
    assert root_deny_gaps(statement, ROOT, allowed) == gaps


def test_documents_are_read_strictly():
    assert parse_document('{"Statement": {"Effect": "Allow"}}', "iam:X") == {"Statement": {"Effect": "Allow"}}
    assert parse_document("%7B%22Statement%22%3A%20%5B%5D%7D", "iam:X") == {"Statement": []}
    assert statements({"Statement": {"Effect": "Deny"}}, "iam:X") == [{"Effect": "Deny"}]
    for bad in ("not json", ["a list"]):
        with pytest.raises(UnexpectedResponse):
            parse_document(bad, "iam:X")
    for bad in ({"Version": "2012-10-17"}, {"Statement": ["text"]}, {"Statement": [{"Action": "*"}]}):
        with pytest.raises(UnexpectedResponse):
            statements(bad, "iam:X")


def test_url_encoded_documents_are_decoded_and_plain_ones_left_alone():
    # IAM returns policy documents URL-encoded; DescribePolicy does not.
    encoded = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%5D%7D"
    assert parse_document(encoded, "x:Y") == {"Version": "2012-10-17", "Statement": []}
    assert parse_document("  " + encoded, "x:Y") == {"Version": "2012-10-17", "Statement": []}
    plain = '{"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::logs%20bucket/*"}]}'
    assert parse_document(plain, "x:Y")["Statement"][0]["Resource"] == "arn:aws:s3:::logs%20bucket/*"
    trailing = '{"Statement": []}  %'
    with pytest.raises(UnexpectedResponse):
        parse_document(trailing, "x:Y")
