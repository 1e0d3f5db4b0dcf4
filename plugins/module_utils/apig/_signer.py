# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

# This file is private to this collection: its API may change without notice.

"""SDK-HMAC-SHA256 request signing (Huawei Cloud AK/SK), as pure functions.

The client signs with ``sign()``; the local simulator verifies by composing the
primitives on the request it received (``parse_authorization``, ``canonical_request``,
``string_to_sign``, ``signature``). Stdlib only, so the simulator can import this file
by path. The unit tests check every result against the official SDK's signer.

No message raised here contains the secret key or the Authorization header value.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import hashlib
import hmac
import re
from datetime import datetime, timezone
from urllib.parse import quote, unquote, urlsplit

ALGORITHM = "SDK-HMAC-SHA256"
EMPTY_BODY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
DATE_FORMAT = "%Y%m%dT%H%M%SZ"

# With a non-empty body, a client may send this header instead of hashing the body
# (the SDK sends "UNSIGNED-PAYLOAD" for content types other than JSON and BSON).
CONTENT_SHA256_HEADER = "X-Sdk-Content-Sha256"

_SIGNATURE_RE = re.compile(r"^[0-9a-f]{64}\Z")


def _encode(text):
    # Only unreserved characters stay as they are; '~' must be named because
    # Python < 3.7 did not treat it as unreserved.
    return quote(text, safe="~")


def _as_bytes(body):
    if body is None:
        return b""
    if isinstance(body, str):
        return body.encode("utf-8")
    if isinstance(body, (bytes, bytearray, memoryview)):
        return bytes(body)
    raise TypeError("the body must be bytes, str or None")


def canonical_uri(path):
    """The path as signed: each segment percent-encoded, always ending in '/'.

    ``path`` is the path as sent on the wire (percent-encoded or not). It is decoded
    first, as the SDK does, so '%2F' becomes a segment separator and encoded and raw
    spellings of the same path sign alike.
    """
    uri = "/".join(_encode(segment) for segment in unquote(path).split("/"))
    # The SDK appends '/' whatever the path, so '/a' and '/a/' sign alike; the
    # gateway computes the same, so we must too. An empty path is the root.
    if not uri.endswith("/"):
        uri += "/"
    return uri


def _query_text(value):
    # Booleans in the query are 'true'/'false', as the SDK renders them.
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def canonical_query(query):
    """The query as signed: ``key=value`` pairs sorted by decoded key then value.

    ``query`` is a list of (key, value) pairs or a dict, with decoded keys and values;
    a value may be a list (one pair per item) or a bool. Values are compared as the
    text that goes on the wire, so a server that sorts what it received agrees.
    """
    items = query.items() if isinstance(query, dict) else (query or ())
    pairs = []
    for key, value in items:
        values = value if isinstance(value, (list, tuple)) else [value]
        pairs.extend((str(key), _query_text(v)) for v in values)
    return "&".join("%s=%s" % (_encode(k), _encode(v)) for k, v in sorted(pairs))


def query_pairs(query_string):
    """Decode a raw query string into (key, value) pairs for ``canonical_query``.

    Like Huawei's signers: '+' is a literal plus, not a space (the SDK itself never
    sends '+': it sends the canonical query, where a space is '%20'); a pair without
    '=' has an empty value; pairs with an empty key are dropped.
    """
    pairs = []
    for part in query_string.split("&"):
        key, _sep, value = part.partition("=")
        if key:
            pairs.append((unquote(key), unquote(value)))
    return pairs


def signed_header_names(headers):
    """Lower-cased, sorted names of the headers to sign; names with '_' are skipped.

    Names that differ only in case are refused: which value was meant is ambiguous.
    """
    names = [name.lower() for name in headers if "_" not in name]
    if len(set(names)) != len(names):
        raise ValueError("headers contain names that differ only in case")
    return sorted(names)


def _payload_hash(headers, body):
    if not body:
        return EMPTY_BODY_SHA256
    for name, value in headers.items():
        if name.lower() == CONTENT_SHA256_HEADER.lower() and value:
            return str(value)
    return hashlib.sha256(body).hexdigest()


def canonical_request(method, path, query, headers, signed_headers, body):
    """The canonical request text: method, URI, query, headers, names, body hash."""
    values = dict((name.lower(), str(value).strip()) for name, value in headers.items())
    lines = []
    for name in signed_headers:
        if name not in values:
            raise ValueError("signed header %r is not among the request headers" % name)
        lines.append("%s:%s\n" % (name, values[name]))
    return "\n".join([
        method.upper(),
        canonical_uri(path),
        canonical_query(query),
        "".join(lines),
        ";".join(signed_headers),
        _payload_hash(headers, _as_bytes(body)),
    ])


def string_to_sign(canonical_req, sdk_date):
    return "%s\n%s\n%s" % (ALGORITHM, sdk_date,
                           hashlib.sha256(canonical_req.encode("utf-8")).hexdigest())


def signature(string_to_sign, secret_key):
    """Hex HMAC-SHA256 of ``string_to_sign`` keyed with the secret key itself."""
    if isinstance(secret_key, bytes):
        key = secret_key
    elif isinstance(secret_key, str):
        try:
            key = secret_key.encode("utf-8")
        except UnicodeError:
            key = None
        if key is None:
            # Raised outside the except block so no chained exception quotes the key.
            raise ValueError("the secret key is not valid UTF-8 text")
    else:
        raise TypeError("the secret key must be a string")
    if not key:
        raise ValueError("the secret key is empty")
    return hmac.new(key, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


def _header(headers, name):
    for key, value in headers.items():
        if key.lower() == name.lower():
            return value
    return None


def sign(method, url, headers, body, access_key, secret_key, sdk_date=None):
    """Sign a request to ``url``; return a new header dict with Authorization.

    X-Sdk-Date (``sdk_date`` or now, UTC) and Host (the URL's host[:port]) are added
    when absent. ``body`` is bytes, str (sent as UTF-8) or None.
    """
    if not access_key:
        raise ValueError("the access key is empty")
    parts = urlsplit(url)
    result = dict(headers or {})
    date = _header(result, "X-Sdk-Date")
    if date is None:
        date = sdk_date or datetime.now(timezone.utc).strftime(DATE_FORMAT)
        result["X-Sdk-Date"] = date
    try:
        datetime.strptime(date, DATE_FORMAT)
    except (TypeError, ValueError):
        date = None
    if date is None:
        raise ValueError("X-Sdk-Date must be a UTC time formatted as %s" % DATE_FORMAT)
    if _header(result, "Host") is None:
        host = parts.netloc.rpartition("@")[2]  # never user:password@ in Host
        if not host:
            raise ValueError("the URL has no host and no Host header was given")
        result["Host"] = host
    names = signed_header_names(result)
    canonical = canonical_request(method, parts.path, query_pairs(parts.query),
                                  result, names, body)
    result["Authorization"] = "%s Access=%s, SignedHeaders=%s, Signature=%s" % (
        ALGORITHM, access_key, ";".join(names),
        signature(string_to_sign(canonical, date), secret_key))
    return result


def parse_authorization(value):
    """Split an Authorization header into (access_key, signed_headers, signature).

    Raises ValueError naming what is wrong, never quoting the value.
    """
    if not isinstance(value, str):
        raise ValueError("Authorization header is missing or not text")
    algorithm, _sep, rest = value.strip().partition(" ")
    if algorithm != ALGORITHM:
        raise ValueError("Authorization header does not use %s" % ALGORITHM)
    fields = {}
    for item in rest.split(","):
        name, sep, field = item.strip().partition("=")
        if not sep or name not in ("Access", "SignedHeaders", "Signature"):
            raise ValueError("Authorization header has an unexpected field")
        if name in fields:
            raise ValueError("Authorization header repeats the field %s" % name)
        fields[name] = field
    for name in ("Access", "SignedHeaders", "Signature"):
        if not fields.get(name):
            raise ValueError("Authorization header lacks %s" % name)
    signed_headers = fields["SignedHeaders"].split(";")
    if not all(signed_headers):
        raise ValueError("Authorization header has an empty name in SignedHeaders")
    if not _SIGNATURE_RE.match(fields["Signature"]):
        raise ValueError("Authorization header has a Signature that is not 64 lower-case hex digits")
    return fields["Access"], signed_headers, fields["Signature"]
