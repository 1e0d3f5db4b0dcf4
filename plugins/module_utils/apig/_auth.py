# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

# This file is private to this collection: its API may change without notice.

"""Picks the one authentication method the options ask for.

Each method is a small class in its own file with ``selecting_options``, ``missing(params)``,
``from_params(params, transport)`` and ``apply(method, url, headers, body, project_id)``.
Adding a method is one file and one line in AUTH_METHODS.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re

from ansible_collections.apigw.router.plugins.module_utils.apig._auth_aksk import AkSkAuth
from ansible_collections.apigw.router.plugins.module_utils.apig._auth_password import PasswordAuth
from ansible_collections.apigw.router.plugins.module_utils.apig._auth_token import TokenAuth
from ansible_collections.apigw.router.plugins.module_utils.common._errors import ValidationError
from ansible_collections.apigw.router.plugins.module_utils.apig._http_client import check_http_url

AUTH_METHODS = (TokenAuth, AkSkAuth, PasswordAuth)

# Options sent as HTTP header values: printable ASCII without spaces, as tokens and keys are.
HEADER_OPTIONS = ("auth_token", "access_key", "security_token")
HEADER_VALUE_RE = re.compile(r"^[\x21-\x7e]+\Z")


def selected_method(params):
    """The auth class the options select; raises ValidationError, offline, naming what is wrong."""
    chosen = [m for m in AUTH_METHODS if any(params.get(o) for o in m.selecting_options)]
    if not chosen:
        raise ValidationError(
            "no authentication for the APIG management API: give exactly one of auth_token; "
            "access_key and secret_key; or iam_user, iam_password and iam_domain "
            "(or their environment variables)")
    if len(chosen) > 1:
        given = sorted(o for m in chosen for o in m.selecting_options if params.get(o))
        raise ValidationError(
            "conflicting authentication: %s select %s; give exactly one method (options or their "
            "environment variables)" % (", ".join(given), " and ".join(m.name for m in chosen)))
    method = chosen[0]
    missing = method.missing(params)
    if missing:
        raise ValidationError("%s authentication needs %s" % (method.name, ", ".join(missing)))
    for option in HEADER_OPTIONS:
        value = params.get(option)
        if value and not HEADER_VALUE_RE.match(value):
            # Never echo the value: it may be a secret.
            raise ValidationError("%s holds whitespace, control or non-ASCII characters, which cannot be sent in "
                                  "an HTTP header (a stray newline from a file or a copy?)" % option)
    if params.get("iam_endpoint") and method is PasswordAuth:
        check_http_url("iam_endpoint", params["iam_endpoint"])
    return method
