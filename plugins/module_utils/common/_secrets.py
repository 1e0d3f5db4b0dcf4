# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

# This file is private to this collection: its API may change without notice.

"""Secrets that are not options of their own, and passwords that would travel unencrypted.

Ansible masks the values of ``no_log`` options only. Two more places can hold a password:
the userinfo of a URL (``http://user:password@host``), which every URL option refuses but
whose text must not be echoed by the refusal, and ``etcd_user`` in etcdctl's
``user:password`` form (``ETCDCTL_USER``). Pure functions, no Ansible.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import ipaddress
import re

from urllib.parse import urlsplit

from ansible_collections.apigw.router.plugins.module_utils.common._etcd_endpoints import resolve as resolve_endpoints

REDACTED = "***"
# scheme://userinfo@: the netloc ends at the first / ? or #, its userinfo at its last @.
_USERINFO_RE = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/?#]*@")
# An etcd endpoint may leave out the scheme (host:port): userinfo@host then starts the text.
_BARE_USERINFO_RE = re.compile(r"^[^/?#]*@")

# URL options whose userinfo would hold a password, by where they sit in the params.
URL_OPTIONS = ("endpoint", "iam_endpoint")
LIST_URL_OPTIONS = ("etcd_endpoints",)


def redact_url(text, mask=REDACTED):
    """``text`` with the userinfo of every URL in it replaced by ``mask``: ``http://***@host``;
    ``mask=None`` drops the userinfo and its ``@``: ``http://host``."""
    if not isinstance(text, str):
        return text
    return _USERINFO_RE.sub(lambda m: m.group(1) + _masked(mask), text)


def redact_endpoint(text, mask=REDACTED):
    """:func:`redact_url`, also for an etcd endpoint without a scheme (``user:pw@host:2379``)."""
    if not isinstance(text, str):
        return text
    if "://" not in text:
        return _BARE_USERINFO_RE.sub(_masked(mask), text)
    return redact_url(text, mask)


def _masked(mask):
    return "" if mask is None else mask + "@"


def has_userinfo(text):
    return isinstance(text, str) and redact_endpoint(text) != text


def url_secrets(text):
    """The userinfo of ``text`` (and its password part), as values to mask; empty without one."""
    if not isinstance(text, str):
        return []
    if "://" not in text:
        match = _BARE_USERINFO_RE.match(text)
        userinfo = match.group(0)[:-1] if match else None
    else:
        match = _USERINFO_RE.search(text)
        userinfo = match.group(0)[len(match.group(1)):-1] if match else None
    if not userinfo:
        return []
    password = userinfo.partition(":")[2]
    return [v for v in (userinfo, password) if v]


def split_etcd_user(user, password=None):
    """``(user, password)`` of ``etcd_user`` given as etcdctl's ``user:password``.

    Split on the first colon as etcdctl does; a password given on its own
    (``etcd_password`` / ``ETCDCTL_PASSWORD``) wins over the one after the colon.
    """
    if not isinstance(user, str) or ":" not in user:
        return user, password
    name, _colon, embedded = user.partition(":")
    return name, (password if password else embedded)


def etcd_credentials(item, params):
    """``(user, password)`` of an ``instances`` item (``{}`` for the module's own), split.

    An item's ``user:password`` wins over the module's ``etcd_password``, as any option an
    item gives wins over the module's; the item's own ``etcd_password`` wins over both.
    """
    if item.get("etcd_user") is not None:
        user, password = split_etcd_user(item["etcd_user"], item.get("etcd_password"))
        return user, (params.get("etcd_password") if password is None else password)
    password = item.get("etcd_password")
    return split_etcd_user(params.get("etcd_user"), params.get("etcd_password") if password is None else password)


def is_loopback(host):
    """True for localhost, 127.0.0.0/8 and ::1: traffic that never leaves the machine."""
    if not host:
        return False
    host = host.strip("[]").rstrip(".").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _plain_remote(url, tls_default=False):
    """The URL (redacted) when it is plain http:// to a host other than loopback, else None."""
    if not isinstance(url, str) or not url.strip():
        return None
    text = url.strip()
    if "://" not in text:
        text = ("https://" if tls_default else "http://") + text
    try:
        parts = urlsplit(text)
        host = parts.hostname
    except ValueError:
        return None  # refused later, with its own message
    if parts.scheme.lower() != "http" or not host or is_loopback(host):
        return None
    return redact_url(text)


def _items(params):
    items = params.get("instances")
    return [(index, item) for index, item in enumerate(items) if isinstance(item, dict)] if items else []


def _option(item, params, name):
    given = item.get(name)
    return params.get(name) if given is None else given


def hidden_values(params):
    """Values in module params that are secrets without being ``no_log`` options: the
    userinfo of URL options and the password part of ``etcd_user``, top level and per item."""
    found = set()

    def scan(options):
        for name in URL_OPTIONS:
            found.update(url_secrets(options.get(name)))
        for name in LIST_URL_OPTIONS:
            for url in options.get(name) or []:
                found.update(url_secrets(url))
        user = options.get("etcd_user")
        if isinstance(user, str) and ":" in user:
            found.add(user.partition(":")[2])

    scan(params)
    for _index, item in _items(params):
        scan(item)
    found.discard("")
    return found


def plaintext_password_warnings(params, etcd=True):
    """Warnings for passwords that would go over plain http:// to a host other than loopback:
    ``iam_password`` to ``iam_endpoint``, and with ``etcd`` an etcd password to an endpoint."""
    warnings = []
    if params.get("iam_user") and params.get("iam_password"):
        shown = _plain_remote(params.get("iam_endpoint"))
        if shown:
            warnings.append("iam_password is sent over plain http:// to iam_endpoint %s, which is not loopback: "
                            "use an https:// iam_endpoint so that the password is encrypted" % shown)
    if not etcd:
        return warnings
    # An item that gives none of these uses the module's connection: one warning for all of them.
    own = ("etcd_endpoints", "etcd_user", "etcd_password", "etcd_ca_cert", "etcd_client_cert")
    items = [(i, item) for i, item in _items(params) if any(item.get(o) is not None for o in own)]
    if len(items) < len(_items(params)) or not params.get("instances"):
        items.insert(0, (None, {}))
    for index, item in items:
        user, password = etcd_credentials(item, params)
        if not user or not password:
            continue
        tls_default = bool(_option(item, params, "etcd_ca_cert") or _option(item, params, "etcd_client_cert"))
        # Endpoints from ETCDCTL_ENDPOINTS count too: the argspec has no fallback for them.
        endpoints, _origin = resolve_endpoints(_option(item, params, "etcd_endpoints"))
        plain = [s for s in (_plain_remote(e, tls_default) for e in endpoints) if s]
        if plain:
            where = "" if index is None else "instances[%d]." % index
            given = item.get("etcd_password") or params.get("etcd_password")
            option = ("%setcd_password" if given == password else "the password in %setcd_user (user:password)")
            warnings.append("%s is sent over plain http:// to etcd endpoint%s %s, which %s not loopback: use "
                            "https:// endpoints (with %setcd_ca_cert) so that it is encrypted"
                            % (option % where, "s" if len(plain) > 1 else "", ", ".join(plain),
                               "are" if len(plain) > 1 else "is", where))
    return warnings
