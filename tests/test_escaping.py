"""Names with any bytes reach text outputs and the terminal as one printable line, reversibly,
and never as rich markup."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from slimmer.escaping import printable, printable_tree, unprintable
from slimmer.progress import Progress

ODD = [
    "/plain/path.txt",
    b"/caf\xe9".decode("utf-8", "surrogateescape"),
    "/new\nline\ttab",
    "/back\\slash\\x41",
    "/unicode/été/日本",
    "/\x7f\x85\u2028",
    b"/\xff\xfe\\x".decode("utf-8", "surrogateescape"),
]


@pytest.mark.parametrize("name", ODD)
def test_printable_is_one_utf8_line_and_reversible(name: str) -> None:
    shown = printable(name)
    shown.encode("utf-8")  # no surrogates left
    assert "\n" not in shown and "\t" not in shown
    assert unprintable(shown) == name


def test_the_documented_escapes() -> None:
    assert printable(ODD[1]) == "/caf\\xe9"
    assert printable("/new\nline\ttab") == "/new\\x0aline\\x09tab"
    assert printable("/back\\slash") == "/back\\\\slash"
    assert printable("/unicode/été") == "/unicode/été"


def test_printable_tree_reaches_keys_and_nested_values() -> None:
    tree = {ODD[1]: [ODD[2], {"n": 1, "s": ODD[1]}], "ok": None}
    assert printable_tree(tree) == {
        "/caf\\xe9": ["/new\\x0aline\\x09tab", {"n": 1, "s": "/caf\\xe9"}], "ok": None}


@pytest.mark.parametrize("live", [True, False])
def test_progress_shows_markup_like_text_as_is(live: bool) -> None:
    buffer = io.StringIO()
    progress = Progress(stream=buffer)
    progress.console = Console(file=buffer, force_terminal=live, highlight=False, width=200)
    progress.live = live
    warning = "library libfoo[bar].so needed by /x[/b] [red]y not found " + ODD[1]
    progress.warn(warning)
    with progress.phase("p", "reading [/b] layers"):
        pass
    text = buffer.getvalue()
    assert "libfoo[bar].so needed by /x[/b] [red]y not found /caf\\xe9" in text
    assert "reading [/b] layers" in text
