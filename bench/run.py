"""Every quick benchmark, one text block for the README: `python -m bench.run [--rate 960]`.

`python -m bench.vs_official` (about 25 minutes) has the comparison with the
official client; it prints its own block.
"""

from __future__ import annotations

import argparse

from bench import burst, cli_warm, log_entries, postmortem


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=int, default=960, help="burst budget (requests/min)")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    blocks = [
        log_entries.report(log_entries.measure(runs=args.runs)),
        postmortem.report(postmortem.measure(runs=args.runs)),
        cli_warm.report(cli_warm.measure(runs=args.runs)),
        burst.report(burst.measure(rate=args.rate)),
    ]
    print("```\n" + "\n\n".join(blocks) + "\n```")


if __name__ == "__main__":
    main()
