"""httpx, without the parts its package imports only because they are installed.

`import httpx` runs `from ._main import main`, which imports rich, click and
pygments whenever they are installed (they are, for this project's CLI): 5.5
MiB of resident memory in a process that only needs the HTTP client
(bench.vs_official's RSS case, where the official client's process has none of
it). And it imports `zstandard` when installed (it is, for langsmith), to offer
and decode zstd bodies: 0.3 MiB more, for an encoding PagerDuty's API is not
asked for. With both marked missing while httpx is imported, httpx defines its
fallback `main` and asks for gzip and deflate; the marks are removed at once, so
`import httpx._main` and `import zstandard` still work afterwards. Only the
`httpx` console script calls `httpx.main`, in a process of its own. A process
that imported httpx before this module (the CLI, through Rich) keeps it as it
is, and one that imported zstandard first keeps httpx's zstd.
"""

from __future__ import annotations

import sys

LEFT_OUT = ("httpx._main", "zstandard")

if "httpx" not in sys.modules:
    _absent = [name for name in LEFT_OUT if name not in sys.modules]
    for _name in _absent:
        sys.modules[_name] = None  # type: ignore[assignment]  # "not importable"
    try:
        import httpx
    finally:
        for _name in _absent:
            del sys.modules[_name]
else:
    import httpx

__all__ = ["httpx"]
