"""Which installed font family each role of the circular uses.

WeasyPrint hands a CSS family list to Pango, and fontconfig substitutes a face for the first
family that is not installed instead of trying the next one. So the config's fallback list is
resolved here, once per process, from `fc-list`: each role gets the first family that is
installed and covers every character it has to set, and only that family reaches the CSS.
"""

from __future__ import annotations

import io
import itertools
import logging
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any

from pipeline.errors import RenderError

log = logging.getLogger("xunbao.fonts")

APT_HINT = "请安装开源中文字体：sudo apt-get install fonts-noto-cjk fonts-arphic-ukai"


@dataclass(frozen=True)
class Choice:
    role: str
    family: str
    missing: str  # characters the family lacks (empty when it covers everything)

    @property
    def css(self) -> str:
        """A quoted CSS family name, safe inside a <style> element."""
        name = "".join(c for c in self.family if c not in '<>\\"')
        return f'"{name}"'


def _key(name: str) -> str:
    """fontconfig compares family names ignoring case and spaces."""
    return "".join(name.split()).casefold()


@cache
def _catalogue() -> dict[str, tuple[str, list[str]]]:
    """family key → (installed spelling, charset text of each of its faces)."""
    try:
        listing = subprocess.run(
            ["fc-list", "--format", "%{family}\t%{charset}\n"],
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        ).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        raise RenderError(f"无法列出已安装的字体（fc-list：{exc}）。请安装 fontconfig。") from exc
    catalogue: dict[str, tuple[str, list[str]]] = {}
    for line in listing.splitlines():
        families, _, charset = line.partition("\t")
        for family in filter(None, (f.strip() for f in families.split(","))):
            _, charsets = catalogue.setdefault(_key(family), (family, []))
            charsets.append(charset)
    return catalogue


@cache
def _coverage(key: str) -> frozenset[int]:
    """Code points every face of the family covers (ranges like `20-7e a0-17f 4e00`)."""
    faces = []
    for charset in _catalogue()[key][1]:
        points: set[int] = set()
        for item in charset.split():
            low, _, high = item.partition("-")
            points.update(range(int(low, 16), int(high or low, 16) + 1))
        faces.append(points)
    return frozenset(set.intersection(*faces)) if faces else frozenset()


def choose(role: str, candidates: Iterable[str], text: str = "") -> Choice:
    """The first installed candidate covering `text`; else the first installed one (logged).

    Raises RenderError, naming the Debian package, when no candidate is installed.
    """
    names = list(candidates)
    needed = {ord(c) for c in text if not c.isspace()}
    installed = [_key(n) for n in names if _key(n) in _catalogue()]
    if not installed:
        raise RenderError(
            f"通报的{role}字体均未安装（配置中依次为：{'、'.join(names)}）。{APT_HINT}"
        )
    for key in installed:
        lacking = needed - _coverage(key)
        if not lacking:
            return Choice(role, _catalogue()[key][0], "")
        log.info("字体 %s 缺少 %d 个字符，改试下一个", _catalogue()[key][0], len(lacking))
    first = installed[0]
    missing = "".join(sorted(chr(c) for c in needed - _coverage(first)))
    log.warning("%s字体 %s 缺少字符：%s", role, _catalogue()[first][0], missing)
    return Choice(role, _catalogue()[first][0], missing)


def compact_cff_fonts(_document: Any, pdf: Any) -> None:
    """WeasyPrint finisher: shrink embedded CID-keyed CFF subsets to the glyphs used.

    WeasyPrint subsets with retained glyph ids, so a Noto CJK subset of 30 glyphs still
    carries ~40,000 empty ones (~84 KB compressed each face). In a CIDFontType0 the PDF
    codes are CIDs, mapped to glyphs through the CFF charset, so the font can be re-subset
    with compact glyph ids as long as every glyph keeps its CID name (cidNNNNN == its old
    glyph id, which the check below requires). Any font that does not fit is left as is.
    """
    objects = {obj.reference: obj for obj in pdf.objects if hasattr(obj, "reference")}
    for cid_font in list(objects.values()):
        if not isinstance(cid_font, dict) or cid_font.get("Subtype") != "/CIDFontType0":
            continue
        descriptor = objects.get(cid_font.get("FontDescriptor"))
        stream = objects.get(descriptor.get("FontFile3")) if descriptor else None
        if stream is None or stream.extra.get("Subtype") != "/OpenType":
            continue
        used = _cids_in_widths(cid_font.get("W", []))
        smaller = _compact(b"".join(_bytes(part) for part in stream.stream), used)
        if smaller is not None:
            stream.stream = [smaller]
            stream.extra["Subtype"] = "/CIDFontType0C"  # a bare CID-keyed CFF program
            cid_font.pop("CIDToGIDMap", None)  # meaningless for CFF: its charset maps CIDs


def _bytes(part: Any) -> bytes:
    return part if isinstance(part, bytes) else str(part).encode()


def _cids_in_widths(widths: Any) -> set[int]:
    """CIDs listed in a /W array: [first [w1 w2 …] first [w …] …]."""
    cids: set[int] = {0}
    items = list(widths)
    for first, run in zip(items[::2], items[1::2], strict=False):
        cids.update(range(int(first), int(first) + len(run)))
    return cids


_HB_DECLARATIONS = """
typedef struct hb_blob_t hb_blob_t;
typedef struct hb_face_t hb_face_t;
typedef struct hb_set_t hb_set_t;
typedef struct hb_subset_input_t hb_subset_input_t;
hb_blob_t *hb_blob_create(const char *data, unsigned int length, int mode,
                          void *user_data, void *destroy);
void hb_blob_destroy(hb_blob_t *blob);
const char *hb_blob_get_data(hb_blob_t *blob, unsigned int *length);
hb_face_t *hb_face_create(hb_blob_t *blob, unsigned int index);
void hb_face_destroy(hb_face_t *face);
hb_blob_t *hb_face_reference_table(const hb_face_t *face, uint32_t tag);
void hb_set_add(hb_set_t *set, uint32_t codepoint);
hb_subset_input_t *hb_subset_input_create_or_fail(void);
void hb_subset_input_destroy(hb_subset_input_t *input);
hb_set_t *hb_subset_input_glyph_set(hb_subset_input_t *input);
void hb_subset_input_set_flags(hb_subset_input_t *input, unsigned value);
hb_set_t *hb_subset_input_set(hb_subset_input_t *input, int set_type);
hb_face_t *hb_subset_or_fail(hb_face_t *source, const hb_subset_input_t *input);
"""
_CFF_TAG = int.from_bytes(b"CFF ", "big")
_HB_MEMORY_MODE_READONLY = 1
_HB_SUBSET_FLAGS_NO_LAYOUT_CLOSURE = 0x200
_HB_SUBSET_SETS_DROP_TABLE_TAG = 3
# Without cmap and layout tables HarfBuzz adds no glyphs of its own (variation sequences,
# substitutions): the subset holds exactly the glyphs the PDF uses.
_DROPPED = [int.from_bytes(t, "big") for t in (b"cmap", b"GSUB", b"GPOS", b"GDEF", b"BASE")]


@cache
def _harfbuzz() -> tuple[Any, Any, Any] | None:
    """(ffi, libharfbuzz, libharfbuzz-subset), or None when they cannot be loaded."""
    try:
        from cffi import FFI

        ffi = FFI()
        ffi.cdef(_HB_DECLARATIONS)
        return ffi, ffi.dlopen("libharfbuzz.so.0"), ffi.dlopen("libharfbuzz-subset.so.0")
    except (ImportError, OSError) as exc:
        log.info("未找到 libharfbuzz-subset，PDF 中的字体不再压缩：%s", exc)
        return None


def _compact(data: bytes, cids: set[int]) -> bytes | None:
    """The font's CFF table re-subset to `cids` with compact glyph ids (CIDs kept)."""
    loaded = _harfbuzz()
    if loaded is None or data[:4] != b"OTTO":
        return None
    ffi, hb, hb_subset = loaded
    buffer = ffi.from_buffer(data)
    blob = hb.hb_blob_create(buffer, len(data), _HB_MEMORY_MODE_READONLY, ffi.NULL, ffi.NULL)
    face = hb.hb_face_create(blob, 0)
    request = hb_subset.hb_subset_input_create_or_fail()
    subset_face = table = ffi.NULL
    try:
        glyphs = hb_subset.hb_subset_input_glyph_set(request)
        for cid in sorted(cids):
            hb.hb_set_add(glyphs, cid)
        dropped = hb_subset.hb_subset_input_set(request, _HB_SUBSET_SETS_DROP_TABLE_TAG)
        for tag in _DROPPED:
            hb.hb_set_add(dropped, tag)
        hb_subset.hb_subset_input_set_flags(request, _HB_SUBSET_FLAGS_NO_LAYOUT_CLOSURE)
        subset_face = hb_subset.hb_subset_or_fail(face, request)
        if subset_face == ffi.NULL:
            return None
        table = hb.hb_face_reference_table(subset_face, _CFF_TAG)
        length = ffi.new("unsigned int *")
        pointer = hb.hb_blob_get_data(table, length)
        cff = bytes(ffi.buffer(pointer, length[0])) if length[0] else b""
    finally:
        if table != ffi.NULL:
            hb.hb_blob_destroy(table)
        if subset_face != ffi.NULL:
            hb.hb_face_destroy(subset_face)
        hb_subset.hb_subset_input_destroy(request)
        hb.hb_face_destroy(face)
        hb.hb_blob_destroy(blob)
    return cff if 0 < len(cff) < len(data) and _keeps_codes(cff, cids) else None


def _keeps_codes(cff: bytes, cids: set[int]) -> bool:
    """True when the compact CFF maps each code the PDF uses (an old glyph id) to that glyph.

    A viewer finds a CIDFontType0 glyph by CID through the charset; HarfBuzz keeps each
    glyph's CID, so this holds when every used old glyph id appears in the new charset
    (for Noto CJK a glyph's CID is its glyph id).
    """
    charset = _charset(cff)
    increasing = charset is not None and all(a < b for a, b in itertools.pairwise(charset))
    return increasing and cids <= set(charset or ())


def _charset(cff: bytes) -> list[int] | None:
    """The CIDs of a CID-keyed CFF's glyphs, in glyph order; None if not CID-keyed."""
    from fontTools.cffLib import CFFFontSet  # read by fontTools, not by hand

    fonts = CFFFontSet()
    try:
        fonts.decompile(io.BytesIO(cff), None)
        top = fonts[fonts.fontNames[0]]
    except Exception:  # a malformed table: not one we can vouch for
        return None
    if not hasattr(top, "ROS"):
        return None
    # fontTools names a CID-keyed font's glyphs "cid01234" (glyph 0 is ".notdef", CID 0)
    return [0 if name == ".notdef" else int(name.removeprefix("cid")) for name in top.charset]
