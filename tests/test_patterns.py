"""Which metric filter patterns count as watching every use of the root user."""

import pytest

from rootguard.controls.patterns import CIS_CONSOLE_SIGNIN_FAILURES, CIS_ROOT_USAGE, matches_console_signin_failures, matches_root_usage


@pytest.mark.parametrize(
    "pattern",
    [
        CIS_ROOT_USAGE,
        '{$.userIdentity.type="Root"&&$.userIdentity.invokedBy NOT EXISTS&&$.eventType!="AwsServiceEvent"}',
        '{ $.userIdentity.type = "Root" }',
        "{ $.userIdentity.type = Root }",
        '{ ($.userIdentity.type = "Root") && ($.userIdentity.invokedBy NOT EXISTS) }',
        '{ $.errorCode = "AccessDenied" || $.userIdentity.type = "Root" }',
    ],
)
def test_patterns_that_watch_all_root_use(pattern):
    assert matches_root_usage(pattern)


@pytest.mark.parametrize(
    "pattern",
    [
        '{ $.userIdentity.type = "Root" && $.eventName = "ConsoleLogin" }',
        '{ $.userIdentity.type != "Root" }',
        '{ $.userIdentity.type = "IAMUser" }',
        '{ ($.userIdentity.type = "Root" || $.x = 1) && $.eventName = "ConsoleLogin" }',
        '$.userIdentity.type = "Root"',
        '"Root"',
        "",
    ],
)
def test_patterns_that_do_not(pattern):
    assert not matches_root_usage(pattern)


@pytest.mark.parametrize(
    "pattern, watches",
    [
        (CIS_CONSOLE_SIGNIN_FAILURES, True),
        ('{ $.eventName = "ConsoleLogin" && $.errorMessage = "Failed authentication" }', True),
        ('{ $.eventName = ConsoleLogin && $.responseElements.ConsoleLogin = "Failure" }', True),
        ('{ $.errorCode = "AccessDenied" || ($.eventName = ConsoleLogin) && ($.errorMessage = "Failed authentication") }', True),
        ("{ $.eventName = ConsoleLogin }", False),
        ('{ $.errorMessage = "Failed authentication" }', False),
        ('{ $.eventName = ConsoleLogin && $.errorMessage = "Failed authentication" && $.userIdentity.type = "Root" }', False),
        ('{ $.eventName = ConsoleLogin && $.additionalEventData.MFAUsed != "Yes" }', False),
        (CIS_ROOT_USAGE, False),
    ],
)
def test_patterns_that_watch_failed_console_signins(pattern, watches):
    assert matches_console_signin_failures(pattern) is watches


def test_patterns_without_both_braces_or_spaces():
    assert matches_root_usage('{$.userIdentity.type=Root}')
    assert matches_root_usage('{$.userIdentity.type="Root"}')
    assert not matches_root_usage('{ $.userIdentity.type = "Root" ')
    assert not matches_root_usage(' $.userIdentity.type = "Root" }')
    assert not matches_root_usage('$.userIdentity.type = "Root"')
