"""Text made safe for terminals and logs."""

from __future__ import annotations

import pytest

from workbench.text import redact, terminal_safe


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("s3://AKIA:secret@bucket/prefix", "s3://***@bucket/prefix"),
        ("https://user:pass@minio.local:9000/b", "https://***@minio.local:9000/b"),
        ("s3://bucket/key@with-at", "s3://bucket/key@with-at"),
        ("/a/local/path", "/a/local/path"),
    ],
)
def test_credentials_in_urls_are_redacted(url: str, shown: str) -> None:
    assert redact(url) == shown


def test_control_characters_are_escaped_but_tabs_and_newlines_kept() -> None:
    assert terminal_safe("a\x1b]0;t\x07b\tc\nd\x9b") == "a\\x1b]0;t\\x07b\tc\nd\\x9b"
