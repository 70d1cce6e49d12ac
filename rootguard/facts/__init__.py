"""Facts: what rootguard reads from AWS, one named lookup at a time.

registry.py holds the @fact registry and what a fetch leaves behind, context.py what a
fact's fetch function works with (recorded AWS calls, other facts), store.py each
account's cache of facts. Each service's facts are a module of their own and register
themselves on import, below.
"""

from rootguard.facts.context import FactContext, action_name, keep_endpoint_host
from rootguard.facts.registry import REGISTRY, FactKey, FactResult, Unreadable, describe_key, fact
from rootguard.facts.store import FactStore, closure

__all__ = [
    "REGISTRY", "FactContext", "FactKey", "FactResult", "FactStore", "Unreadable",
    "action_name", "closure", "describe_key", "fact", "keep_endpoint_host",
]

# The fact modules register themselves on import.
from rootguard.facts import account, cloudtrail, detection, iam, logstorage, monitoring, organizations  # noqa: E402,F401
