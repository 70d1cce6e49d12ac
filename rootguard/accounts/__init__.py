"""Accounts: which AWS accounts a run judges (resolution.py), and a boto3 session for each (sessions.py).

Accounts come from the profile's list and/or every ACTIVE member of an AWS
Organization; each is reached through a named profile (SSO included) or STS
AssumeRole from the hub, with `endpoint_url` applied to every client.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Account:
    id: str
    name: str
    role_arn: str | None = None
    aws_profile: str | None = None
    external_id: str | None = None
    source: str = "listed"  # listed | organization | vending
    wait_seconds: float = 0  # keep retrying AssumeRole this long (an account still being made)
    retry_seconds: float = 15

    @property
    def label(self) -> str:
        return f"{self.name} ({self.id})"


from rootguard.accounts.sessions import SESSION_NAME, Connector  # noqa: E402,F401
