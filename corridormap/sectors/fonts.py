"""The briefs' font: Noto Sans CJK JP (OFL 1.1), a pinned PyPI dependency checked by sha256.

``layers/i18n/labels.toml`` [font] names the package, the file and its sha256. :func:`font_path`
returns the verified file; :func:`missing_glyphs` lists characters the font cannot draw;
:func:`woff_subset` gives the glyphs a page uses as a small WOFF for embedding in HTML.
"""

from __future__ import annotations

import functools
import hashlib
import io
from pathlib import Path

from ..errors import DataSourceNotFoundError, MissingDependencyError
from .i18n import labels, labels_path

__all__ = ["font_path", "font_family", "missing_glyphs", "woff_subset", "font_face_css", "FACE"]

FACE = "CorridormapBrief"  # the CSS family name of the embedded subset


def _spec() -> dict[str, str]:
    return dict(labels()["font"])


def font_family() -> str:
    """The font's family name (for CSS and matplotlib)."""
    return _spec()["family"]


@functools.cache
def _verified(path: Path, sha256: str) -> Path:
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != sha256:
        raise DataSourceNotFoundError(
            f"{path}: sha256 {digest} differs from the pinned {sha256} ({labels_path()} [font]). "
            f"Fix: reinstall corridormap so that the pinned font package is installed"
        )
    return path


def font_path() -> Path:
    """The verified font file (raises naming the package to install when it is missing)."""
    spec = _spec()
    try:
        import noto_cjk_sans_jp_regular as package  # the pinned dependency (a static name, not data)
    except ImportError as exc:
        raise MissingDependencyError(
            "the briefs' font package noto-cjk-sans-jp-regular is not installed. Fix: pip install "
            "corridormap (it is a dependency), or pip install noto-cjk-sans-jp-regular==0.0.1"
        ) from exc
    path = Path(str(package.__file__)).with_name(spec["file"])
    if not path.is_file():
        raise DataSourceNotFoundError(f"{path}: font file missing from {package.__name__}. Fix: reinstall it")
    return _verified(path, spec["sha256"])


@functools.cache
def _cmap(path: Path) -> frozenset[int]:
    from fontTools.ttLib import TTFont

    with TTFont(str(path), lazy=True) as font:
        return frozenset(font.getBestCmap())


def missing_glyphs(text: str) -> list[str]:
    """Characters of ``text`` (other than whitespace and controls) that the font has no glyph for."""
    cmap = _cmap(font_path())
    return sorted({ch for ch in text if ord(ch) not in cmap and not ch.isspace() and ord(ch) >= 32})


def woff_subset(text: str) -> bytes:
    """A WOFF of the font holding only the glyphs ``text`` needs (plus basic Latin)."""
    from fontTools import subset
    from fontTools.ttLib import TTFont

    options = subset.Options()
    options.flavor = "woff"
    options.name_IDs = ["*"]
    options.notdef_outline = True
    # horizontal text only: no vertical metrics; no OpenType layout (parsing it is most of the cost)
    options.drop_tables += ["GSUB", "GPOS", "GDEF", "BASE", "VORG", "vhea", "vmtx"]
    basic = "".join(chr(c) for c in range(32, 127))
    out = io.BytesIO()
    with TTFont(str(font_path())) as font:
        subsetter = subset.Subsetter(options)
        subsetter.populate(text=text + basic)
        subsetter.subset(font)
        font.flavor = "woff"
        font.save(out)
    return out.getvalue()


def font_face_css(text: str) -> str:
    """An ``@font-face`` rule for :data:`FACE` holding the glyphs of ``text`` as a WOFF data URI."""
    import base64

    font = base64.b64encode(woff_subset(text)).decode("ascii")
    return f'@font-face {{ font-family: "{FACE}"; src: url(data:font/woff;base64,{font}) format("woff"); }}'
