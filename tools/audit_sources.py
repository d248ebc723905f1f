"""Audit the sources cited by the shipped data: every address with its host and class, and the shares.

Usage::

    python tools/audit_sources.py            # shares, hosts by class, denied and unclassified citations
    python tools/audit_sources.py --csv FILE # also write one row per citation (refuses an existing FILE)

The host classes and the denied hosts are in ``layers/_sources.toml``; ``tests/test_sources.py`` holds the
shipped data to the same rules.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from corridormap.catalog.sources import shipped_layers, source_audit, source_shares


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--csv", type=Path, help="write one row per citation to this new file")
    args = parser.parse_args(argv)
    audit = source_audit(shipped_layers())
    shares = source_shares(audit)
    print(f"{int(shares['citations'])} citations of web addresses ({int(shares['distinct_urls'])} distinct)")
    for key in ("official", "official_or_established", "established_or_reference", "denied"):
        print(
            f"  {key:<26} {shares[key]:6.1%} of citations   "
            f"{shares[key + '_distinct']:6.1%} of distinct addresses"
        )
    print("\ncitations by host class:")
    print(audit["host_class"].value_counts().to_string())
    for cls in ("denied", "unclassified", "not a URL", "news_minor"):
        part = audit[audit["host_class"] == cls]
        if len(part):
            print(f"\n{cls}:")
            print(part.groupby("host").size().sort_values(ascending=False).to_string())
    if args.csv:
        if args.csv.exists():
            print(f"{args.csv} exists; choose a new file name", file=sys.stderr)
            return 2
        audit.to_csv(args.csv, index=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
