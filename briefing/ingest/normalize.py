"""Canonical URLs, hashes and plain text from feed HTML (pure)."""

from __future__ import annotations

import base64
import binascii
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
_SCRIPT = re.compile(r"<(script|style)\b[^>]*>.*?(</\1\s*>|$)", re.IGNORECASE | re.DOTALL)
_SPACE = re.compile(r"\s+")


_AMP_PATH = re.compile(r"/amp(?=/|$)|\.amp(?=$|\.html?$)|/amp\.html$")
_VARIANT_HOST = re.compile(r"^(?:amp|m|mobile)\.")
_URL_IN_BYTES = re.compile(rb"https?://[\x21-\x7e]+")


def canonical_url(url: str) -> str:
    """One spelling per article: lower-case host, no tracking parameters, no fragment, no
    AMP or mobile variant, Google News redirect links resolved when they carry the address."""
    url = resolve_google_news(url) or url.strip()
    parts = urlsplit(url)
    host = (parts.hostname or "").lower().rstrip(".")
    if _VARIANT_HOST.match(host) and host.count(".") >= 2:
        host = "www." + _VARIANT_HOST.sub("", host)
    if parts.port and parts.port not in (80, 443):
        host = f"{host}:{parts.port}"
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    query = urlencode(
        sorted((k, v) for k, v in pairs if not _TRACKING_PARAMS.match(k) and k != "amp")
    )
    path = _AMP_PATH.sub("", parts.path) or "/"
    return urlunsplit((parts.scheme.lower(), host, path, query, ""))


def identity_key(url: str) -> str:
    """What makes two links the same article: the canonical URL without scheme or www."""
    canonical = canonical_url(url)
    parts = urlsplit(canonical)
    host = parts.netloc.removeprefix("www.")
    return urlunsplit(("", host, parts.path, parts.query, "")).removeprefix("//")


def resolve_google_news(url: str) -> str | None:
    """The publisher's address inside a Google News article link, when the link carries it.

    Older links encode it in the base64 article id; newer ones do not, and then the item
    keeps the Google link (its outlet still comes from the feed's <source> element)."""
    parts = urlsplit(url)
    if parts.hostname != "news.google.com" or "/articles/" not in parts.path:
        return None
    token = parts.path.rsplit("/", 1)[-1]
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (ValueError, binascii.Error):
        return None
    match = _URL_IN_BYTES.search(raw)
    return match.group().decode("ascii") if match else None


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def url_hash(url: str) -> str:
    return sha256_hex(identity_key(url))


def content_hash(title: str, summary: str) -> str:
    return sha256_hex(f"{title}\n{summary}")


def plain_text(fragment: str, limit: int | None = None) -> str:
    """Feed HTML to one line of text: tags dropped, entities decoded, space collapsed."""
    text = _SPACE.sub(" ", html.unescape(_TAG.sub(" ", _SCRIPT.sub(" ", fragment)))).strip()
    if limit is not None and len(text) > limit:
        cut = text[: limit - 1].rsplit(" ", 1)[0]
        text = cut.rstrip(",.;:") + "…"
    return text


def domain_of(url: str) -> str:
    host = (urlsplit(url).hostname or "").lower()
    return host.removeprefix("www.")
