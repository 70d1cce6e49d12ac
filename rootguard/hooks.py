"""rootguard's own pytest hook: a plugin that wants every verdict as it is reached implements it."""

import pytest


@pytest.hookspec
def pytest_rootguard_verdict(verdict, item, report):
    """A control test ended as `verdict` (rootguard.verdicts.Verdict), in the process that ran it.

    `item` is the test and `report` its call (or failed setup) report, whose longrepr and
    outcome the verdict stage sets after this hook. JUnit properties, Allure attachments and
    an xdist worker's hand-off to the controller listen here.
    """
