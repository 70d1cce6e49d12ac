"""rootguard: proves, account by account, that AWS root users and their safety nets are locked down.

Data flow: profile -> accounts -> facts -> controls -> outcomes -> reports -> gate.
"""

__version__ = "0.1.0"
