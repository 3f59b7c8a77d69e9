"""Canonical URLs, hashes and plain text from feed HTML (pure)."""

from __future__ import annotations

import hashlib
import html
import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

_TRACKING_PARAMS = re.compile(
    r"^(utm_[a-z_]+|fbclid|gclid|dclid|mc_cid|mc_eid|ocid|cmpid|at_medium|at_campaign|"
    r"at_custom\d|ito|icid|CMP|rss|src|srcref|xtor|__twitter_impression)$",
    re.IGNORECASE,
)
_TAG = re.compile(r"<[^>]*>")
_SPACE = re.compile(r"\s+")


def canonical_url(url: str) -> str:
    """One spelling per article: lower-case host, no tracking parameters, no fragment."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower().rstrip(".")
    if parts.port and parts.port not in (80, 443):
        host = f"{host}:{parts.port}"
    query = urlencode(
        sorted(
            (k, v)
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
            if not _TRACKING_PARAMS.match(k)
        )
    )
    path = parts.path or "/"
    return urlunsplit((parts.scheme.lower(), host, path, query, ""))


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def url_hash(url: str) -> str:
    return sha256_hex(canonical_url(url))


def content_hash(title: str, summary: str) -> str:
    return sha256_hex(f"{title}\n{summary}")


def plain_text(fragment: str, limit: int | None = None) -> str:
    """Feed HTML to one line of text: tags dropped, entities decoded, space collapsed."""
    text = _SPACE.sub(" ", html.unescape(_TAG.sub(" ", fragment))).strip()
    if limit is not None and len(text) > limit:
        cut = text[: limit - 1].rsplit(" ", 1)[0]
        text = cut.rstrip(",.;:") + "…"
    return text


def domain_of(url: str) -> str:
    host = (urlsplit(url).hostname or "").lower()
    return host.removeprefix("www.")
