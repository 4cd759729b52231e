"""Plate formats as data: shipped YAML files, validation, user files, automata."""

from __future__ import annotations

from pathlib import Path

import pytest

from segocr.charset import CCPD_CHARSET, LATIN, Charset
from segocr.errors import ConfigError
from segocr.formats import (
    PlateFormat,
    format_names,
    get_format,
    load_format,
    parse_format,
    resolve_format,
)

SHIPPED = {"cz", "eu-generic", "br", "br-mercosur", "es", "co", "cn", "us-generic"}


def test_shipped_formats_load_and_compile() -> None:
    assert SHIPPED <= set(format_names())
    for name in format_names():
        fmt = get_format(name)
        cs = Charset(CCPD_CHARSET) if name == "cn" else Charset(LATIN)
        aut = fmt.compile(cs)
        assert aut.masks and all(m.shape[1] == len(cs) and m.any(axis=1).all() for m in aut.masks)


@pytest.mark.parametrize(
    ("name", "legal", "illegal"),
    [
        ("cz", ["9B52145", "1AB2345", "BMZ0815"], ["9B5214", "0B52145", "9O52145", "B13AEB", "9852145"]),
        ("cz-current", ["9B52145"], ["BMZ0815"]),
        ("br", ["ABC1234"], ["ABC1D23", "AB12345"]),
        ("br-mercosur", ["ABC1D23"], ["ABC1234"]),
        ("es", ["1234BCD", "M1234AB", "GC1234A"], ["1234ABC", "1234BC"]),
        ("co", ["ABC123", "ABC12D"], ["AB1234", "ABC1234"]),
        ("cn", ["皖A12345", "京AD12345"], ["A123456", "皖AO1234"]),
        ("eu-generic", ["AB123", "ABCD1234"], ["AB12", "ABCD12345"]),
    ],
)
def test_formats_accept_and_forbid(name: str, legal: list[str], illegal: list[str]) -> None:
    fmt = get_format(name)
    for t in legal:
        assert fmt.matches(t), (name, t)
    for t in illegal:
        assert not fmt.matches(t), (name, t)
    cs = Charset(CCPD_CHARSET)
    aut = fmt.compile(cs)
    assert all(aut.accepts(cs.encode(t)) for t in legal)
    assert not any(aut.accepts(cs.encode(t)) for t in illegal)


def test_render_puts_separators() -> None:
    assert get_format("cz").render("9B52145") == "9B5 2145"
    assert get_format("cz").render("BMZ0815") == "BMZ 08-15"
    assert get_format("es").render("M1234AB") == "M-1234-AB"
    assert get_format("br").render("not a plate") == "not a plate"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "x", "patterns": ["LL Q"]}, "unknown class 'Q'"),
        ({"name": "x", "patterns": ["A{9,99}"]}, "bad repetition"),
        ({"name": "x", "patterns": ["A{1,9}A{1,9}A{1,9}D"]}, "layouts"),
        ({"name": "x", "patterns": []}, "patterns"),
        ({"name": "x", "patterns": ["D"], "colour": "red"}, "colour"),
        ({"name": "X Y", "patterns": ["D"]}, "format name"),
        ({"name": "x", "classes": {"D": "AB"}, "patterns": ["D"]}, "built in"),
        ({"name": "x", "patterns": ["[]"]}, "empty set"),
        ({"name": "x", "patterns": ["D{2"]}, "cannot parse"),
        (["D"], "a mapping"),
    ],
)
def test_invalid_formats_are_clear_errors(data: object, message: str) -> None:
    with pytest.raises(ConfigError, match="src.yaml") as err:
        parse_format(data, source="src.yaml")
    assert message in str(err.value)


def test_user_yaml_by_path(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text("name: mine\nclasses:\n  V: AEIOU\npatterns:\n  - 'VV DD'\n", encoding="utf-8")
    fmt = resolve_format(str(path))
    assert fmt.name == "mine" and fmt.matches("AE12") and not fmt.matches("AB12")
    assert fmt.lengths == [4]
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_format(bad)
    with pytest.raises(ConfigError, match="cannot read"):
        load_format(tmp_path / "absent.yaml")


def test_unknown_name_lists_valid_ones() -> None:
    with pytest.raises(ConfigError, match="choose one of: .*br.*cz"):
        get_format("atlantis")


def test_charset_that_cannot_read_a_format() -> None:
    with pytest.raises(ValueError, match="cannot be read.*read it with --model crnn-ccpd"):
        get_format("cn").compile(Charset(LATIN))
    with pytest.raises(ValueError, match="cannot be read with the charset '0123456789'$"):  # no model named
        PlateFormat(name="l", patterns=("LLL",)).compile(Charset("0123456789"))


def test_the_named_model_reads_the_format() -> None:
    """The model a format file names exists and its charset compiles the format."""
    from segocr.api import load_recognizer

    named = [get_format(n) for n in format_names() if get_format(n).model is not None]
    assert "cn" in {f.name for f in named}
    for fmt in named:
        assert fmt.model is not None
        fmt.compile(load_recognizer(fmt.model, device="cpu").charset)


def test_literal_sets_and_ranges() -> None:
    fmt = PlateFormat(name="lit", patterns=("[B][0-2]{2}",))
    assert fmt.matches("B01") and not fmt.matches("B03") and not fmt.matches("C01")
    assert fmt.log_size() == pytest.approx(2 * __import__("math").log(3))


def test_source_specific_weights_are_named_not_benchmarked_by_default() -> None:
    from segocr.recognizers.base import default_benchmark_names, recognizer_names

    assert "crnn-ccpd" in recognizer_names() and "crnn-ccpd" not in default_benchmark_names()
    assert {"segcnn", "crnn", "ensemble"} <= set(default_benchmark_names())
