# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

# This file is private to this collection: its API may change without notice.

"""Input checks shared by both modes; each raises ValidationError naming the item."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re

from ansible_collections.apigw.router.plugins.module_utils.common._errors import ValidationError

# Project, instance and API ids end up in URL paths and etcd keys: this pattern
# leaves no room for '/', '..', '%2F', whitespace or control characters.
IDENTIFIER_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}\Z")

REFRESH_RESOURCES = ("apis", "acls", "vpcs", "throttles", "tenants", "signatures", "certs")

REQ_METHODS = ("GET", "POST", "PUT", "DELETE", "HEAD", "PATCH", "OPTIONS", "ANY")


def describe(value, limit=40):
    """A bad value as error messages show it: bounded, containers by type only (they may be
    huge, cyclic or hold secrets)."""
    if isinstance(value, str):
        if len(value) > limit:
            return "%r...(%d chars)" % (value[:limit], len(value))
        return repr(value)
    if value is None or isinstance(value, (bool, int, float)):
        text = repr(value)
        return text if len(text) <= limit else text[:limit] + "...(%d digits)" % len(text)
    return "a %s" % type(value).__name__


# The bounds of the HTTP settings shared by every module and the inventory plugin.
HTTP_SETTING_RANGES = (("timeout", 0.001, None), ("retries", 0, 100), ("retry_delay", 0, 3600))


def check_range(name, value, low, high=None):
    """ValidationError '<name> must be at least <low> / between <low> and <high>, not <value>'."""
    if value is None:
        return
    if value < low or (high is not None and value > high):
        bound = "at least %s" % low if high is None else "between %s and %s" % (low, high)
        raise ValidationError("%s must be %s, not %s" % (name, bound, value))


def check_list(what, value):
    """``value`` as a list, or ValidationError: '<what> must be a list of ..., got ...'."""
    if not isinstance(value, (list, tuple)):
        raise ValidationError("%s, got %s" % (what, describe(value)))
    return list(value)


def check_dicts(items, where, noun="an API resource"):
    """``items`` (a list) unchanged, or ValidationError naming the first item that is not a dict."""
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise ValidationError("%s[%d] must be a dict (%s), got %s" % (where, index, noun, describe(item)),
                                  index=index)
    return items


def check_identifier(what, value):
    """Return value if it is a valid identifier, else raise naming ``what``."""
    if not isinstance(value, str) or not IDENTIFIER_RE.match(value):
        raise ValidationError(
            "%s %s is not a valid identifier: it must match %s (letters, digits, '_' and '-', "
            "1 to 64 characters, starting with a letter or digit)"
            % (what, describe(value), IDENTIFIER_RE.pattern.replace("\\Z", "$")))
    return value


def check_key_prefix(value):
    """Return the etcd key prefix without a trailing '/', or raise."""
    if not isinstance(value, str) or not value.startswith("/"):
        raise ValidationError("key_prefix %s must start with '/'" % describe(value))
    if "//" in value or ".." in value or any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise ValidationError("key_prefix %s must not contain '//', '..' or control characters"
                              % describe(value))
    stripped = value.rstrip("/")
    if not stripped:
        raise ValidationError("key_prefix must not be '/' alone")
    return stripped


def check_resources(resources):
    unknown = [r for r in resources if r not in REFRESH_RESOURCES]
    if unknown:
        raise ValidationError("unknown resources %s: choose from %s"
                              % (", ".join(describe(u) for u in unknown), ", ".join(REFRESH_RESOURCES)))
    if not resources:
        raise ValidationError("resources must name at least one resource")
    # Refresh each resource once, in the order given.
    seen = []
    for r in resources:
        if r not in seen:
            seen.append(r)
    return seen
