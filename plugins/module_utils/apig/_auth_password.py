# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

# This file is private to this collection: its API may change without notice.

"""Authentication with IAM user name and password: a project-scoped token from IAM.

Without a project (``project_id`` None) the token is domain-scoped: IAM requests such as
listing the projects of a region need no project, and a project-scoped token would need
the project id being looked up.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import threading

from ansible_collections.apigw.router.plugins.module_utils.apig._endpoints import iam_endpoint
from ansible_collections.apigw.router.plugins.module_utils.common._errors import ApiError, AuthError


class PasswordAuth(object):
    name = "IAM password"
    selecting_options = ("iam_user", "iam_password")

    def __init__(self, transport, iam_endpoint, user, password, domain):
        self._transport = transport
        self._iam_endpoint = iam_endpoint.rstrip("/")
        self._user = user
        self._password = password
        self._domain = domain
        # One token per project (None: the domain-scoped one), obtained once and shared by
        # every thread of a fleet run.
        self._tokens = {}
        self._lock = threading.Lock()

    @classmethod
    def from_params(cls, params, transport):
        return cls(transport, iam_endpoint_of(params), params["iam_user"], params["iam_password"],
                   params["iam_domain"])

    @staticmethod
    def missing(params):
        missing = [o for o in ("iam_user", "iam_password", "iam_domain") if not params.get(o)]
        if not iam_endpoint_of(params):
            missing.append("iam_endpoint (or region)")
        return missing

    def apply(self, method, url, headers, body, project_id):
        headers = dict(headers)
        headers["X-Auth-Token"] = self.token(project_id)
        return headers

    def token(self, project_id):
        with self._lock:
            if project_id not in self._tokens:
                self._tokens[project_id] = self.issue(project_id)["token"]
            return self._tokens[project_id]

    def issue(self, project_id):
        """A new token (one IAM login): ``{"token", "expires_at", "project_id"}``.

        ``expires_at`` is IAM's ``token.expires_at`` (ISO 8601), or None if IAM gave none.
        """
        if project_id is None:
            scope = {"domain": {"name": self._domain}}
            what = "IAM domain-scoped token for user %s (domain %s)" % (self._user, self._domain)
        else:
            scope = {"project": {"id": project_id}}
            what = "IAM token for user %s (domain %s, project %s)" % (self._user, self._domain, project_id)
        body = {"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": self._user, "password": self._password, "domain": {"name": self._domain}}}},
            "scope": scope}}
        try:
            answer = self._transport.send("POST", self._iam_endpoint + "/v3/auth/tokens", what,
                                          body=json.dumps(body).encode("utf-8"))
        except ApiError as exc:
            raise AuthError(exc.msg, status=exc.status, error_code=exc.error_code, error_msg=exc.error_msg,
                            request_id=exc.request_id, attempts=exc.attempts)
        token = answer.headers.get("X-Subject-Token")
        if not token:
            raise AuthError("%s: IAM answered %d without an X-Subject-Token header" % (what, answer.status),
                            status=answer.status, request_id=answer.request_id, attempts=answer.attempts)
        return dict(token=token, expires_at=_expires_at(answer), project_id=project_id)


def _expires_at(answer):
    """``token.expires_at`` of IAM's answer body; None when the body does not say."""
    try:
        data = json.loads(answer.body.decode("utf-8")) if answer.body else None
    except ValueError:
        return None
    token = data.get("token") if isinstance(data, dict) else None
    expires_at = token.get("expires_at") if isinstance(token, dict) else None
    return expires_at if isinstance(expires_at, str) else None


def iam_endpoint_of(params):
    if params.get("iam_endpoint"):
        return params["iam_endpoint"]
    if params.get("region"):
        return iam_endpoint(params["region"], params.get("cloud"))
    return None
