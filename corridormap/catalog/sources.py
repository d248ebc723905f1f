"""Cited sources of the shipped data: what kind each one is, which hosts are refused, and the shares.

Every shipped feature cites its sources in ``source`` (``" ; "``-separated web addresses) and says what
kind each one is in ``source_kind`` (the same number of items, in the same order, best first:
official, news, reference, dataset). The host classes and the denied hosts live in the catalog,
``layers/_sources.toml``; this module reads them and audits a set of layers.

Examples
--------
>>> hosts = load_source_hosts()
>>> classify_url("https://pib.gov.in/PressReleasePage.aspx?PRID=1", hosts)
('official', 'official')
>>> classify_url("https://kiwix.lema.org/wikipedia_en_all/A/Dholera", hosts)
('denied', 'Wikipedia mirror (kiwix)')
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import geopandas as gpd
import pandas as pd

from .. import settings
from ..errors import CatalogError, DataSourceNotFoundError
from .load import load_catalog

__all__ = [
    "SOURCE_KINDS",
    "SourceHosts",
    "load_source_hosts",
    "classify_url",
    "split_sources",
    "source_audit",
    "source_shares",
    "shipped_layers",
]

#: source_kind values, best first: the order a feature lists its sources in.
SOURCE_KINDS = ("official", "news", "reference", "dataset")
_CLASSES = ("official", "news", "news_minor", "reference", "dataset")
_KIND_OF_CLASS = {
    "official": "official",
    "news": "news",
    "news_minor": "news",
    "reference": "reference",
    "dataset": "dataset",
}


@dataclass(frozen=True)
class SourceHosts:
    """Host classes and denied hosts from ``layers/_sources.toml``."""

    denied: Mapping[str, str]
    classes: Mapping[str, tuple[str, ...]]
    path: Path


def load_source_hosts(path: str | Path | None = None) -> SourceHosts:
    """Read the host classes and the denied hosts (default: the shipped ``layers/_sources.toml``)."""
    file = Path(path) if path is not None else settings.layers_dir / "_sources.toml"
    if not file.is_file():
        raise DataSourceNotFoundError(
            f"{file}: source-host catalog not found (it ships as layers/_sources.toml)"
        )
    try:
        with file.open("rb") as fh:
            raw = tomllib.load(fh)
    except tomllib.TOMLDecodeError as err:
        raise CatalogError(f"{file}: not valid TOML ({err}); fix the line it names") from err
    hosts = raw.get("hosts", {})
    unknown = sorted(set(hosts) - set(_CLASSES))
    if unknown or not isinstance(raw.get("denied", {}), dict):
        raise CatalogError(
            f"{file}: [hosts] may hold only {', '.join(_CLASSES)} (found {unknown}) "
            "and [denied] must map host = reason"
        )
    classes = {name: tuple(str(h).lower() for h in hosts.get(name, ())) for name in _CLASSES}
    denied = {str(h).lower(): str(reason) for h, reason in raw.get("denied", {}).items()}
    return SourceHosts(denied=denied, classes=classes, path=file)


def _matches(entry: str, host: str, path: str) -> bool:
    entry_host, _, entry_path = entry.partition("/")
    if host != entry_host and not host.endswith("." + entry_host):
        return False
    return not entry_path or path.lstrip("/").lower().startswith(entry_path)


def classify_url(url: str, hosts: SourceHosts) -> tuple[str, str]:
    """``(class, detail)`` of one cited address.

    ``class`` is ``"denied"`` (detail: the reason), one of the source kinds (detail: the host class,
    ``news`` or ``news_minor`` for news), ``"unclassified"`` (a host in no class) or ``"not a URL"``.
    """
    parsed = urlparse(url.strip())
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        return "not a URL", ""
    host = parsed.hostname.lower().rstrip(".")
    for entry, reason in hosts.denied.items():
        if _matches(entry, host, parsed.path):
            return "denied", reason
    for name in _CLASSES:
        if any(_matches(entry, host, parsed.path) for entry in hosts.classes[name]):
            return _KIND_OF_CLASS[name], name
    return "unclassified", ""


def split_sources(text: object) -> list[str]:
    """The items of a ``" ; "``-separated ``source`` or ``source_kind`` value (empty for a null)."""
    if text is None or (isinstance(text, float) and pd.isna(text)):
        return []
    return [item.strip() for item in str(text).split(" ; ") if item.strip()]


def shipped_layers() -> dict[str, gpd.GeoDataFrame]:
    """The catalog's layers read from files in the shipped ``data/`` folder (derived layers left out)."""
    data_dir = settings.data_dir.resolve()
    return {
        name: gpd.read_file(spec.source)
        for name, spec in load_catalog([settings.layers_dir]).items()
        if spec.source is not None and spec.source.resolve().parent == data_dir
    }


def source_audit(layers: Mapping[str, gpd.GeoDataFrame], hosts: SourceHosts | None = None) -> pd.DataFrame:
    """One row per cited source of every feature.

    Columns: ``layer``, ``id``, ``position`` (0 = shown first), ``url``, ``host``, ``stated_kind``
    (the feature's ``source_kind`` item, or null), ``kind`` (from the host catalog), ``host_class``
    (official, news, news_minor, reference, dataset, denied, unclassified, not a URL), ``reason``
    (why a host is denied).
    """
    hosts = hosts or load_source_hosts()
    rows = []
    for layer, gdf in layers.items():
        if "source" not in gdf.columns:
            continue
        kinds_col = gdf["source_kind"] if "source_kind" in gdf.columns else pd.Series(None, index=gdf.index)
        for fid, text, kinds in zip(gdf.get("id", gdf.index), gdf["source"], kinds_col, strict=True):
            stated = split_sources(kinds)
            for i, url in enumerate(split_sources(text)):
                cls, detail = classify_url(url, hosts)
                parsed = urlparse(url)
                rows.append(
                    {
                        "layer": layer,
                        "id": fid,
                        "position": i,
                        "url": url,
                        "host": (parsed.hostname or "").rstrip("."),
                        "stated_kind": stated[i] if i < len(stated) else None,
                        "kind": cls if cls in SOURCE_KINDS else None,
                        "host_class": detail if cls in SOURCE_KINDS else cls,
                        "reason": detail if cls == "denied" else "",
                    }
                )
    return pd.DataFrame(
        rows,
        columns=["layer", "id", "position", "url", "host", "stated_kind", "kind", "host_class", "reason"],
    )


def source_shares(audit: pd.DataFrame) -> dict[str, float]:
    """Shares of cited web addresses (counted per citation, and per distinct address).

    ``official``: official sources; ``official_or_established``: official or an established outlet
    (``news`` class); ``established_or_reference``: that plus canonical Wikipedia and open datasets;
    ``denied``: denied hosts. Keys ending ``_distinct`` count each address once.
    """
    urls = audit[audit["host_class"] != "not a URL"]
    distinct = urls.drop_duplicates("url")
    shares: dict[str, float] = {"citations": float(len(urls)), "distinct_urls": float(len(distinct))}
    for suffix, frame in (("", urls), ("_distinct", distinct)):
        n = max(len(frame), 1)
        cls = frame["host_class"]
        shares["official" + suffix] = float((cls == "official").sum()) / n
        shares["official_or_established" + suffix] = float(cls.isin(["official", "news"]).sum()) / n
        shares["established_or_reference" + suffix] = (
            float(cls.isin(["official", "news", "reference", "dataset"]).sum()) / n
        )
        shares["denied" + suffix] = float((cls == "denied").sum()) / n
    return shares
