"""JUnit (junit.xml): each test case carries its verdict as properties, for CI systems that read them."""

from __future__ import annotations

import pytest


class JUnitProperties:
    """Where tests run: pytest's JUnit writer reads a test's properties when its teardown is reported."""

    def __init__(self, sweep, catalogs: dict):
        self.sweep = sweep

    @staticmethod
    def active(config) -> bool:
        return config is not None and bool(getattr(config.option, "xmlpath", None))

    @pytest.hookimpl
    def pytest_rootguard_verdict(self, verdict, item, report) -> None:
        item.user_properties.extend(
            [
                ("control", verdict.control.id),
                ("account_id", verdict.account_id),
                ("account_name", verdict.account_name),
                ("outcome", verdict.outcome),
                ("message", verdict.message),
            ]
        )
