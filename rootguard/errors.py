"""The errors rootguard reports to its user as one line, never as a traceback."""

from botocore.exceptions import ClientError


class RootguardError(Exception):
    """A problem the user can fix; its text is the whole message shown."""


class ProfileError(RootguardError):
    """A profile (or a file it names) that cannot be used: `file:line: field: problem`."""


class AccountsError(RootguardError):
    """The accounts to judge could not be worked out (for example Organizations refused)."""


class NoCredentials(AccountsError):
    """This machine has no AWS credentials for the hub at all: a setup to fix here, not an AWS answer."""


class FactError(RootguardError):
    """A fact could not be established from AWS: the control that needs it ends as `error`.

    ``action`` is the AWS API action (``iam:GetAccountSummary``) and ``code`` the
    AWS error code (``AccessDenied``) or a rootguard code such as
    ``UnexpectedResponse``, so the outcome message says exactly what failed.
    """

    def __init__(self, message: str, *, action: str = "", code: str = ""):
        super().__init__(message)
        self.action = action
        self.code = code


class UnexpectedResponse(FactError):
    """AWS answered, but not in the shape rootguard knows how to judge."""

    def __init__(self, message: str, *, action: str = ""):
        super().__init__(message, action=action, code="UnexpectedResponse")


def describe_client_error(exc: Exception, action: str) -> FactError:
    """Turn a botocore failure into a FactError naming the action and the AWS error code."""
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {}) if isinstance(exc.response, dict) else {}
        code = str(error.get("Code") or "ClientError")
        text = str(error.get("Message") or "").strip()
        return FactError(f"{action} failed: {code}{': ' + text if text else ''}", action=action, code=code)
    code = type(exc).__name__
    return FactError(f"{action} failed: {code}: {exc}", action=action, code=code)
