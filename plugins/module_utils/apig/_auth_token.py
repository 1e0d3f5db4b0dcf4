# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

# This file is private to this collection: its API may change without notice.

"""Authentication with an IAM token the user already has (X-Auth-Token)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type


class TokenAuth(object):
    name = "token"
    # The options whose presence selects this method.
    selecting_options = ("auth_token",)

    def __init__(self, token):
        self._token = token

    @classmethod
    def from_params(cls, params, transport):
        return cls(params["auth_token"])

    @staticmethod
    def missing(params):
        return []

    def apply(self, method, url, headers, body, project_id):
        headers = dict(headers)
        headers["X-Auth-Token"] = self._token
        return headers
