"""Request bodies decoded the way an API that must never crash decodes them.

`json.loads` alone lets three hostile inputs through as server errors: a body
nested thousands of levels deep (RecursionError, here or in any later copy),
`1e400` (an infinite float that overflows date arithmetic), and the non-JSON
constants `NaN`/`Infinity`. Each becomes PagerDuty's 400 / 2001 instead.
The size of a body is bounded before it is read (agent.bodylimit).
"""

from __future__ import annotations

import json
import math
from typing import Any

from .errors import invalid

MAX_DEPTH = 32  # PagerDuty's deepest documented body (a schedule with layers) nests about 6 levels


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number out of range: {text[:32]}")
    return value


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def decode(raw: bytes) -> Any:
    """Parse a JSON body; anything unusable is 400 / 2001 naming the problem."""
    try:
        data = json.loads(raw or b"null", parse_float=_finite, parse_constant=_no_constant)
    except RecursionError:
        raise invalid(f"The request body is nested too deeply (at most {MAX_DEPTH} levels)") from None
    except ValueError as e:  # JSONDecodeError, bad UTF-8, huge or infinite numbers
        raise invalid(f"The request body is not valid JSON: {str(e)[:120]}") from None
    if depth(data) > MAX_DEPTH:
        raise invalid(f"The request body is nested too deeply (at most {MAX_DEPTH} levels)")
    return data


def depth(value: Any) -> int:
    """Nesting depth of parsed JSON, measured without recursion."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, dict | list):
            deepest = max(deepest, level)
            if level > MAX_DEPTH:
                return level
            children = node.values() if isinstance(node, dict) else node
            stack.extend((child, level + 1) for child in children)
    return deepest
