"""Shapefiles as users hand them over: a folder, a ``.shp`` or a ``.zip``; parts and encodings.

A shapefile is several files. This module finds the ``.shp`` meant, checks its companions (``.shx``,
``.dbf`` required; ``.prj`` for the CRS; ``.cpg`` for the text encoding) and decides the encoding by
looking at the raw bytes of the ``.dbf`` text fields rather than trusting a missing or wrong ``.cpg``.
"""

from __future__ import annotations

import codecs
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path

from pyproj import CRS
from pyproj.exceptions import CRSError

from ..errors import DataSourceNotFoundError, EncodingError, FileFormatError
from .report import ValidationReport

__all__ = ["ShapefileTarget", "resolve_shapefile"]


@dataclass(frozen=True)
class ShapefileTarget:
    """Where GDAL should read, and with which encoding and options."""

    target: str
    encoding: str | None
    restore_shx: bool = False
    # UTF-8 text a byte-limited writer cut inside a character: (record, field) of each, and the
    # .dbf with those broken tails blanked, for the reader to read instead
    cut_tails: tuple[tuple[int, str], ...] = ()
    fixed_dbf: bytes | None = None
    parts: tuple[tuple[str, bytes], ...] = ()  # (suffix, content) of the other parts, with fixed_dbf

    def write_fixed(self, folder: Path) -> str:
        """Write the shapefile with :attr:`fixed_dbf` into ``folder``; the ``.shp`` to read."""
        for suffix, content in (*self.parts, (".dbf", self.fixed_dbf or b"")):
            (folder / f"layer{suffix}").write_bytes(content)
        return str(folder / "layer.shp")


def _members(path: Path) -> dict[str, bytes | Path]:
    """Lower-cased name -> path (folder) or name in the zip."""
    if path.is_dir():
        return {p.name.lower(): p for p in sorted(path.iterdir()) if p.is_file()}
    try:
        with zipfile.ZipFile(path) as zf:
            return {n.lower(): n.encode() for n in zf.namelist() if not n.endswith("/")}
    except zipfile.BadZipFile as exc:
        raise FileFormatError(
            f"{path}: the zip archive is damaged ({exc}). Fix: zip the shapefile's "
            "files (.shp, .shx, .dbf, .prj, .cpg) again"
        ) from exc


def _choose(path: Path, shps: list[str], layer: str | None) -> str:
    if not shps:
        raise FileFormatError(
            f"{path}: no .shp file inside. Fix: pass the folder or zip that holds "
            "the shapefile, or the .shp itself"
        )
    if layer is not None:
        match = [s for s in shps if Path(s).stem.lower() == layer.lower()]
        if not match:
            raise DataSourceNotFoundError(
                f"{path}: no shapefile named {layer!r}; found: "
                f"{', '.join(Path(s).stem for s in shps)}. Fix: --layer one of those"
            )
        return match[0]
    if len(shps) > 1:
        raise FileFormatError(
            f"{path}: holds {len(shps)} shapefiles ({', '.join(Path(s).stem for s in shps)}). "
            "Fix: choose one with --layer NAME (layer=...)"
        )
    return shps[0]


def resolve_shapefile(
    path: Path, *, layer: str | None, encoding: str | None, salvage: bool, report: ValidationReport
) -> ShapefileTarget:
    """Find the ``.shp``, check its parts and settle the encoding (refusing where guessing is unsafe)."""
    if path.suffix.lower() == ".shp":
        folder_members = {p.name.lower(): p for p in path.parent.iterdir() if p.is_file()}
        shp = path.name.lower()
        members: dict[str, bytes | Path] = {
            k: v for k, v in folder_members.items() if Path(k).stem == Path(shp).stem
        }
    else:
        members = _members(path)
        shp = _choose(path, [m for m in members if m.endswith(".shp")], layer)
    stem = shp[: -len(".shp")]
    missing = [ext for ext in (".shx", ".dbf") if stem + ext not in members]
    restore = False
    if ".dbf" in missing:
        raise FileFormatError(
            f"{path}: shapefile part {Path(stem).name}.dbf (the attribute table) is "
            "missing. Fix: copy it beside the .shp; a shapefile is several files"
        )
    if missing:
        if not salvage:
            raise FileFormatError(
                f"{path}: shapefile part {Path(stem).name}.shx (the index) is missing. "
                "Fix: copy it beside the .shp, or pass --salvage to rebuild it"
            )
        restore = True
        report.add(
            "repair",
            "missing-part",
            ".shx index missing; rebuilt from the .shp (--salvage)",
            "ship the .shx with the shapefile",
        )
        report.repair(feature="*", check="missing-part", reason=".shx missing", method="rebuilt (--salvage)")
    if stem + ".prj" not in members:
        report.add(
            "info",
            "missing-part",
            ".prj is missing, so the file declares no CRS",
            "ship the .prj, or pass --crs",
        )
    elif not _readable_crs(_read_member(path, members[stem + ".prj"])):
        report.add("info", "crs-undefined", "the .prj is not a CRS GDAL/PROJ understand", "pass --crs")
    _check_length(path, members[shp])
    dbf = _read_member(path, members[stem + ".dbf"])
    _check_dbf(path, dbf, members.get(stem + ".shx"))
    fixed, cuts = (dbf, []) if encoding is not None else cut_utf8_tails(dbf)
    enc = _settle_encoding(path, members, stem, encoding, report, text=dbf_text(fixed))
    if path.suffix.lower() == ".shp":
        target = str(path)
    elif path.is_dir():
        target = str(members[shp])
    else:
        target = f"/vsizip/{path}/{members[shp].decode()}"  # type: ignore[union-attr]
    if cuts and _codec(enc or "") == "utf-8":
        parts = tuple(
            (ext, _read_member(path, members[stem + ext]))
            for ext in (".shp", ".shx", ".prj", ".cpg")
            if stem + ext in members
        )
        return ShapefileTarget(target, enc, restore, tuple(cuts), fixed, parts)
    return ShapefileTarget(target, enc, restore)


def _check_length(path: Path, member: bytes | Path) -> None:
    """Refuse a ``.shp`` shorter than its header says (GDAL would read the lost shapes as empty)."""
    if isinstance(member, Path):
        size = member.stat().st_size
        with member.open("rb") as fh:
            header = fh.read(100)
    else:
        with zipfile.ZipFile(path) as zf:
            size = zf.getinfo(member.decode()).file_size
            with zf.open(member.decode()) as fh:
                header = fh.read(100)
    if len(header) < 100 or struct.unpack(">i", header[:4])[0] != 9994:
        raise FileFormatError(f"{path}: the .shp is not a shapefile (bad header). Fix: export it again")
    declared = struct.unpack(">i", header[24:28])[0] * 2
    if size < declared:
        raise FileFormatError(
            f"{path}: the .shp is truncated ({size} of {declared} bytes): the shapes at the end are "
            "lost. Fix: copy or export the shapefile again"
        )


def _check_dbf(path: Path, dbf: bytes, shx: bytes | Path | None) -> None:
    """Refuse a ``.dbf`` shorter than its header says, or with another count of rows than shapes."""
    if len(dbf) < 32:
        raise FileFormatError(f"{path}: the .dbf is truncated (no header). Fix: copy or export it again")
    n_records, header_len, record_len = struct.unpack("<IHH", dbf[4:12])
    expected = header_len + n_records * record_len
    if len(dbf) < expected:
        raise FileFormatError(
            f"{path}: the .dbf is truncated ({len(dbf)} of {expected} bytes): rows at the end are lost. "
            "Fix: copy or export the shapefile again"
        )
    if shx is not None:
        shx_size = shx.stat().st_size if isinstance(shx, Path) else len(_read_member(path, shx))
        shapes = (shx_size - 100) // 8
        if shapes != n_records:
            raise FileFormatError(
                f"{path}: the .dbf has {n_records} rows but the .shx indexes {shapes} shapes. "
                "Fix: the parts come from different exports; copy all of them from one export"
            )


def _readable_crs(prj: bytes) -> bool:
    try:
        CRS.from_wkt(prj.decode("utf-8", "replace"))
    except CRSError:
        return False
    return True


def _read_member(path: Path, member: bytes | Path) -> bytes:
    if isinstance(member, Path):
        return member.read_bytes()
    with zipfile.ZipFile(path) as zf:
        return zf.read(member.decode())


def _settle_encoding(
    path: Path,
    members: dict[str, bytes | Path],
    stem: str,
    encoding: str | None,
    report: ValidationReport,
    *,
    text: bytes,
) -> str | None:
    if encoding is not None:
        _decode_or_refuse(path, text, encoding, "--encoding")
        return encoding
    cpg_member = members.get(stem + ".cpg")
    cpg = _read_member(path, cpg_member).decode("ascii", "replace").strip() if cpg_member else None
    if text.isascii():
        return cpg
    utf8 = _is(text, "utf-8")
    if cpg is None:
        if not utf8:
            raise EncodingError(
                f"{path}: the shapefile has no .cpg and its text is not UTF-8. Fix: pass "
                "the encoding it was written in, e.g. --encoding cp1252 (or latin-1)"
            )
        report.add(
            "warn",
            "encoding",
            "no .cpg: text read as UTF-8 (it decodes cleanly as UTF-8)",
            "add a .cpg containing UTF-8, or pass --encoding if names look wrong",
        )
        return "UTF-8"
    named = _codec(cpg)
    if named == "utf-8" and not utf8:
        raise EncodingError(
            f"{path}: the .cpg says {cpg} but the text is not valid UTF-8. Fix: pass the "
            "real encoding, e.g. --encoding cp1252, and correct the .cpg"
        )
    if named not in (None, "utf-8") and utf8:
        raise EncodingError(
            f"{path}: the .cpg says {cpg} but the text is UTF-8 (reading it as {cpg} "
            "would garble every accented name). Fix: --encoding utf-8, and correct the .cpg"
        )
    return cpg


def _codec(name: str) -> str | None:
    aliases = {"65001": "utf-8", "utf8": "utf-8", "1252": "cp1252", "ansi 1252": "cp1252"}
    key = aliases.get(name.strip().lower(), name.strip().lower())
    try:
        return codecs.lookup(key).name.replace("_", "-")
    except LookupError:
        return None


def _is(data: bytes, codec: str) -> bool:
    try:
        data.decode(codec)
    except UnicodeDecodeError:
        return False
    return True


def _decode_or_refuse(path: Path, data: bytes, encoding: str, how: str) -> None:
    try:
        data.decode(encoding)
    except LookupError as exc:
        raise EncodingError(
            f"{path}: {encoding!r} is not an encoding Python knows. Fix: {how} with "
            "a name like utf-8, cp1252, latin-1"
        ) from exc
    except UnicodeDecodeError as exc:
        raise EncodingError(
            f"{path}: the text is not {encoding} ({exc.reason} at byte {exc.start}). "
            f"Fix: {how} with the file's real encoding"
        ) from exc


def _char_fields(dbf: bytes) -> list[tuple[str, int, int]]:
    """``(name, offset in the record, size)`` of every character field of a dBASE table."""
    header_len = struct.unpack("<H", dbf[8:10])[0]
    fields, pos, offset = [], 32, 1
    while pos + 32 <= header_len and dbf[pos] != 0x0D:
        kind, size = chr(dbf[pos + 11]), dbf[pos + 16]
        if kind == "C":
            name = dbf[pos : pos + 11].split(b"\x00")[0].decode("ascii", "replace")
            fields.append((name, offset, size))
        offset += size
        pos += 32
    return fields


def cut_utf8_tails(dbf: bytes) -> tuple[bytes, list[tuple[int, str]]]:
    """Blank the incomplete last character of text fields a byte-limited writer cut (254 bytes and
    a Devanagari name of 3-byte characters): ``(fixed table, [(record, field), ...])``.

    Only a value that is valid UTF-8 up to an incomplete sequence at its very end is changed; other
    bytes are left for the encoding checks to judge.
    """
    if len(dbf) < 32:
        return dbf, []
    n_records, header_len, record_len = struct.unpack("<IHH", dbf[4:12])
    fixed = bytearray(dbf)
    cuts = []
    for r in range(n_records):
        start = header_len + r * record_len
        for name, offset, size in _char_fields(dbf):
            value = dbf[start + offset : start + offset + size].rstrip(b" \x00")
            try:
                value.decode("utf-8")
            except UnicodeDecodeError as exc:
                if exc.reason != "unexpected end of data" or not _is(value[: exc.start], "utf-8"):
                    continue
                cut = start + offset + exc.start
                fixed[cut : start + offset + len(value)] = b" " * (len(value) - exc.start)
                cuts.append((r, name))
    return bytes(fixed), cuts


def dbf_text(dbf: bytes) -> bytes:
    """The raw bytes of every character field of a dBASE table, joined by newlines."""
    if len(dbf) < 32:
        return b""
    n_records, header_len, record_len = struct.unpack("<IHH", dbf[4:12])
    fields, pos, offset = [], 32, 1
    while pos + 32 <= header_len and dbf[pos] != 0x0D:
        kind, size = chr(dbf[pos + 11]), dbf[pos + 16]
        if kind == "C":
            fields.append((offset, size))
        offset += size
        pos += 32
    chunks: list[bytes] = []
    for r in range(n_records):
        start = header_len + r * record_len
        record = dbf[start : start + record_len]
        chunks.extend(record[o : o + s].rstrip(b" \x00") for o, s in fields)
    return b"\n".join(chunks)
