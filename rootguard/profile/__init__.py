"""The profile: what a run judges and how, read from profiles/<name>.yaml and checked line by line.

profile.py holds the fields and their checks, yamlsource.py the YAML reader that keeps
each value's line, waivers.py the approved exceptions a profile (or --waivers) carries.
"""

from rootguard.profile.profile import (  # noqa: F401
    PARAM_DEFAULTS,
    TOP_LEVEL,
    Credentials,
    ListedAccount,
    OrganizationScope,
    Profile,
    Waiver,
    load_profile,
)
