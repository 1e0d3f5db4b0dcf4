# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

# This file is private to this collection: its API may change without notice.

"""apigw_iam_token: one IAM login whose project-scoped token a whole play then reuses.

The login is the one of the IAM password method (PasswordAuth), on the one HTTP client.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.apigw.router.plugins.module_utils.apig._auth_password import PasswordAuth, iam_endpoint_of
from ansible_collections.apigw.router.plugins.module_utils.common._errors import ValidationError
from ansible_collections.apigw.router.plugins.module_utils.apig._http_client import HttpTransport, check_http_url
from ansible_collections.apigw.router.plugins.module_utils.apig._projects import ProjectLookup
from ansible_collections.apigw.router.plugins.module_utils.common._retry import RetryPolicy
from ansible_collections.apigw.router.plugins.module_utils.common._validation import (
    HTTP_SETTING_RANGES, check_identifier, check_range)


def _check_settings(params):
    for name, low, high in HTTP_SETTING_RANGES:
        check_range(name, params[name], low, high)


def run_iam_token(params, check_mode, diff, warn):  # pylint: disable=unused-argument
    """``{token, expires_at, project_id}`` of one IAM password login; nothing changes anywhere,
    so check mode logs in too (the token is what the play needs to go on)."""
    missing = PasswordAuth.missing(params)
    if missing:
        raise ValidationError("an IAM token needs %s (or their environment variables)" % ", ".join(missing))
    iam = check_http_url("iam_endpoint", iam_endpoint_of(params))
    project_id = params.get("project_id")
    if project_id:
        check_identifier("project_id", project_id)
    elif not params.get("region"):
        raise ValidationError("project_id is required, or region to look it up: the token is scoped to one "
                              "project (or set HUAWEICLOUD_SDK_PROJECT_ID / HUAWEICLOUD_SDK_REGION)")
    _check_settings(params)
    transport = HttpTransport(validate_certs=params["validate_certs"], ca_path=params.get("ca_path"),
                              timeout=params["timeout"], pool_size=1,
                              retry_policy=RetryPolicy(params["retries"], params["retry_delay"]))
    auth = PasswordAuth.from_params(params, transport)
    if not project_id:
        # The region's project, listed with a domain-scoped token: one more login, still once per play.
        project_id = ProjectLookup(transport, auth).project_id(params["region"], iam)
    issued = auth.issue(project_id)
    # The message names the scope, never the token.
    return dict(issued, changed=False,
                msg="IAM token for user %s (domain %s) scoped to project %s, expires at %s"
                    % (params["iam_user"], params["iam_domain"], project_id, issued["expires_at"] or "(not given)"))
