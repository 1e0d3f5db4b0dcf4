# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

# This file is private to this collection: its API may change without notice.

"""Authentication by signing every request with an access key / secret key pair."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.apigw.router.plugins.module_utils.apig import _signer


class AkSkAuth(object):
    name = "AK/SK"
    selecting_options = ("access_key", "secret_key", "security_token")

    def __init__(self, access_key, secret_key, security_token=None):
        self._access_key = access_key
        self._secret_key = secret_key
        self._security_token = security_token

    @classmethod
    def from_params(cls, params, transport):
        return cls(params["access_key"], params["secret_key"], params.get("security_token"))

    @staticmethod
    def missing(params):
        return [o for o in ("access_key", "secret_key") if not params.get(o)]

    def apply(self, method, url, headers, body, project_id):
        headers = dict(headers)
        # The official SDK signs these two as well; the gateway uses X-Project-Id to pick
        # the project of a global key, and needs the token of a temporary key.
        if project_id:
            headers["X-Project-Id"] = project_id
        if self._security_token:
            headers["X-Security-Token"] = self._security_token
        return _signer.sign(method, url, headers, body, self._access_key, self._secret_key)
