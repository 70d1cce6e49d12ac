"""Facts: what rootguard reads from AWS, one named lookup at a time (see rootguard.facts.store).

The engine (the @fact registry, FactContext, FactStore) is in store.py; each service's
facts are in a module of their own and register themselves on import, below.
"""

from rootguard.facts.store import (  # noqa: F401
    REGISTRY,
    FactContext,
    FactKey,
    FactResult,
    FactStore,
    Unreadable,
    action_name,
    closure,
    describe_key,
    fact,
    keep_endpoint_host,
)

# The fact modules register themselves on import.
from rootguard.facts import account, cloudtrail, detection, iam, logstorage, monitoring, organizations  # noqa: E402,F401
