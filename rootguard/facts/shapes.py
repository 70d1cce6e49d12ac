"""Strict readers for AWS response fields: a missing or mistyped field is an `UnexpectedResponse`.

Using `.get(key, default)` on a response is how other tools turn a changed API
into a silent pass; facts read the fields a verdict depends on through these.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from rootguard.errors import UnexpectedResponse


def need(obj: Any, key: str, kind: type | tuple, action: str) -> Any:
    if not isinstance(obj, dict):
        raise UnexpectedResponse(f"{action}: expected a document with {key!r}, got {type(obj).__name__}", action=action)
    if key not in obj:
        raise UnexpectedResponse(f"{action}: response has no {key!r}", action=action)
    value = obj[key]
    if kind is bool and not isinstance(value, bool):
        raise UnexpectedResponse(f"{action}: {key!r} is {value!r}, not true/false", action=action)
    if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise UnexpectedResponse(f"{action}: {key!r} is {value!r}, not a number", action=action)
    if not isinstance(value, kind):
        raise UnexpectedResponse(f"{action}: {key!r} is {type(value).__name__}, not {getattr(kind, '__name__', kind)}", action=action)
    return value


def maybe(obj: Any, key: str, kind: type | tuple, action: str) -> Any:
    """An optional field: absent or null is None, present of the wrong type is an error."""
    if not isinstance(obj, dict):
        raise UnexpectedResponse(f"{action}: expected a document, got {type(obj).__name__}", action=action)
    if obj.get(key) is None:
        return None
    return need(obj, key, kind, action)


def timestamp(value: Any, what: str, action: str) -> dt.datetime:
    """A datetime from botocore or an ISO text, always timezone-aware UTC."""
    if isinstance(value, dt.datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise UnexpectedResponse(f"{action}: {what} {value!r} is not a timestamp", action=action) from None
    else:
        raise UnexpectedResponse(f"{action}: {what} is {type(value).__name__}, not a timestamp", action=action)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.timezone.utc)
    return parsed.astimezone(dt.timezone.utc)


def flag(value: Any, what: str, action: str) -> bool:
    """The credential report's 'true' / 'false' columns."""
    if value == "true":
        return True
    if value == "false":
        return False
    raise UnexpectedResponse(f"{action}: {what} is {value!r}, not true/false", action=action)


def listing(ctx, service: str, operation: str, keys: tuple[str, ...], action: str, *, token: str, **params) -> dict[str, list]:
    """A paginated listing read page by page, each page a recorded call whose lists must be there.

    FactContext.paginate takes a page without its list for an empty one. Where the items
    listed are what fails a control (a virtual MFA device on root, an administrator without
    MFA, the trail's own bucket), that turns a changed response into a pass; here it is an
    UnexpectedResponse. `token` names the field that carries the next page's token, in the
    response and in the next request (Marker, ContinuationToken).
    """
    lists: dict[str, list] = {key: [] for key in keys}
    asked: set = set()
    while True:
        page = ctx.call(service, operation, **params)
        for key in keys:
            lists[key].extend(need(page, key, list, action))
        following = page.get(token)
        if not following:
            return lists
        if following in asked:
            raise UnexpectedResponse(f"{action}: the page token {following!r} came back twice", action=action)
        asked.add(following)
        params = dict(params, **{token: following})
