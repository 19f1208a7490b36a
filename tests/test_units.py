"""Matching the unit name written on a form, and the sender, to a registered unit."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline import config
from pipeline.config.units import Directory

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def directory() -> Directory:
    return Directory(config.load(ROOT / "config.yaml").config)


@pytest.mark.parametrize(
    ("written", "unit"),
    [
        ("乐山市市中区总工会", "市中区"),
        ("乐山市 市中区 总工会（盖章）", "市中区"),
        ("五通桥区总工会", "五通桥区"),
        ("峨边彝族自治县总工会", "峨边县"),
        ("乐山高新区工会", "高新区"),
        ("峨眉山景区管委会工会", "峨眉山景区管委会"),
        ("乐山大佛景区管委会工会", "大佛景区管委会"),
        ("乐山市直机关工会", "市直机关工会"),
        ("乐山市建设工会", "市建设工会"),
        ("（乐山电力股份有限公司工会）", "乐电公司"),
        ("四川和邦集团工会", "和邦集团"),
        ("峨眉山市总工会", "峨眉山市"),
    ],
)
def test_match(directory: Directory, written: str, unit: str | None) -> None:
    assert directory.match(written).unit == unit


def test_ambiguous_and_unknown_say_why(directory: Directory) -> None:
    ambiguous = directory.match("峨眉山")
    assert ambiguous.unit is None and "峨眉山市" in (ambiguous.problem or "")
    assert "峨眉山景区管委会" in (ambiguous.problem or "")
    unknown = directory.match("成都市总工会")
    assert unknown.unit is None and "对不上" in (unknown.problem or "")


def test_senders_by_address_and_domain(directory: Directory) -> None:
    assert directory.by_sender("SZQZGH@163.com") == "市中区"
    assert directory.by_sender("anyone@lsdl.com.cn") == "乐电公司"
    assert directory.by_sender("wangli1988@qq.com") is None
