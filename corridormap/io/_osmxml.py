"""OSM XML as a regional extract leaves it: truncated files refused, clipped ways and relations repaired.

A regional extract (Geofabrik, a bounding-box cut) keeps ways and relations that cross its edge but
not the nodes beyond it. osmnx then fails inside shapely ("Can't create MultiLineString with empty
component") on a relation whose member way lost its nodes. :func:`repair_clipped` writes a copy in
which each way keeps the nodes the file has (ways left with fewer than two are dropped), and each
relation keeps the members the file has (relations left with no way are dropped), and counts what
it changed. A file cut short is refused with :class:`~corridormap.errors.FileFormatError`.
"""

from __future__ import annotations

import bz2
import gzip
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from ..errors import FileFormatError

__all__ = ["ClipRepairs", "repair_clipped"]


@dataclass(frozen=True)
class ClipRepairs:
    """What :func:`repair_clipped` changed, by OSM element type."""

    ways_repaired: int = 0
    ways_dropped: int = 0
    relations_repaired: int = 0
    relations_dropped: int = 0

    @property
    def any(self) -> bool:
        return bool(
            self.ways_repaired or self.ways_dropped or self.relations_repaired or self.relations_dropped
        )

    def __str__(self) -> str:
        parts = [
            (self.relations_repaired, "relation(s) kept without the members missing from the extract"),
            (self.relations_dropped, "relation(s) skipped (no member way left)"),
            (self.ways_repaired, "way(s) kept without the nodes missing from the extract"),
            (self.ways_dropped, "way(s) skipped (too few nodes left for a line or a ring)"),
        ]
        return "; ".join(f"{n:,} {what}" for n, what in parts if n) or "nothing cut at the edge"


def _open(path: Path) -> IO[bytes]:
    name = path.name.lower()
    if name.endswith(".bz2"):
        return bz2.open(path, "rb")
    if name.endswith(".gz"):
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return path.open("rb")


def _parse(path: Path) -> ET.ElementTree[ET.Element]:
    try:
        with _open(path) as fh:
            return ET.parse(fh)  # noqa: S314 - expat fetches no external entity and caps expansion
    except ET.ParseError as exc:
        line, column = exc.position
        raise FileFormatError(
            f"{path}: the OSM XML is truncated or malformed at line {line}, column {column} ({exc}). "
            "Fix: download or export the extract again"
        ) from None
    except (OSError, EOFError) as exc:
        raise FileFormatError(f"{path}: cannot be read ({exc}). Fix: download the extract again") from None


def repair_clipped(path: Path, dest: Path) -> tuple[Path, ClipRepairs]:
    """``path`` itself when complete, else a repaired copy written to ``dest``; and the counts."""
    tree = _parse(path)
    root = tree.getroot()
    assert root is not None
    nodes = {el.get("id") for el in root.iter("node")}
    ways: set[str | None] = set()
    ways_repaired = ways_dropped = relations_repaired = relations_dropped = 0
    for way in list(root.iter("way")):
        refs = way.findall("nd")
        missing = [nd for nd in refs if nd.get("ref") not in nodes]
        ring = len(refs) > 2 and refs[0].get("ref") == refs[-1].get("ref")
        if len(refs) - len(missing) < (4 if ring and missing else 2):
            root.remove(way)
            ways_dropped += 1
            continue
        for nd in missing:
            way.remove(nd)
        ways_repaired += bool(missing)
        ways.add(way.get("id"))
    present = {"node": nodes, "way": ways, "relation": {el.get("id") for el in root.iter("relation")}}
    for relation in list(root.iter("relation")):
        members = relation.findall("member")
        missing = [m for m in members if m.get("ref") not in present.get(m.get("type") or "", set())]
        if not missing:
            continue
        if not any(m.get("type") == "way" for m in members if m not in missing):
            root.remove(relation)
            relations_dropped += 1
            continue
        for member in missing:
            relation.remove(member)
        relations_repaired += 1
    repairs = ClipRepairs(ways_repaired, ways_dropped, relations_repaired, relations_dropped)
    if not repairs.any:
        return path, repairs
    tree.write(dest, encoding="utf-8", xml_declaration=True)
    return dest, repairs
