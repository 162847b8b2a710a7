"""httpx, without the command-line client its package imports when it can.

`import httpx` runs `from ._main import main`, which imports rich, click and
pygments whenever they are installed (they are, for this project's CLI): 5.5
MiB of resident memory in a process that only needs the HTTP client
(bench.vs_official's RSS case, where the official client's process has none of
it). With `httpx._main` marked missing while httpx is imported, httpx defines
its fallback `main` instead; the mark is removed at once, so `import
httpx._main` still works afterwards. Only the `httpx` console script calls
`httpx.main`, in a process of its own. A process that imported httpx before
this module (the CLI, through Rich) keeps it as it is.
"""

from __future__ import annotations

import sys

if "httpx" not in sys.modules and "httpx._main" not in sys.modules:
    sys.modules["httpx._main"] = None  # type: ignore[assignment]  # "not importable"
    try:
        import httpx
    finally:
        del sys.modules["httpx._main"]
else:
    import httpx

__all__ = ["httpx"]
