"""Layer names never become unsafe paths: safe_name() maps them to one bounded file name."""

import pytest

from exactbn.formats import FormatError, safe_name


@pytest.mark.parametrize("name", ["../../x", "/abs/path", ".", "..", "", ".hidden", "a/b", "a\\b",
                                  "x" * 5000, "bn\udc80", "[/]", "a b\n"])
def test_safe_name_is_one_plain_component(name):
    s = safe_name(name)
    assert s and not s.startswith(".") and len(s) <= 64
    assert all(ch.isascii() and (ch.isalnum() or ch in "_.-") for ch in s)


def test_safe_name_keeps_plain_names_and_separates_mapped_ones():
    assert safe_name("conv1.bn_2-a") == "conv1.bn_2-a"
    assert safe_name("a/b") != safe_name("a_b")
    assert safe_name("x" * 100) != safe_name("x" * 101)


def test_safe_name_refuses_nul():
    with pytest.raises(FormatError):
        safe_name("a\0b")
