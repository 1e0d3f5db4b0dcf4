# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

# This file is private to this collection: its API may change without notice.

"""The management API side of a run: one ClientPool (one HTTP session, one auth method)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.apigw.router.plugins.module_utils.apig._auth import selected_method
from ansible_collections.apigw.router.plugins.module_utils.apig._http_client import ClientPool, HttpTransport
from ansible_collections.apigw.router.plugins.module_utils.common._retry import RetryPolicy
from ansible_collections.apigw.router.plugins.module_utils.common._validation import HTTP_SETTING_RANGES, check_range


def management_api(params, pool_size):
    """ClientPool sharing one session and one auth method (validated offline first)."""
    method = selected_method(params)
    for name, low, high in HTTP_SETTING_RANGES:
        check_range(name, params.get(name), low, high)
    transport = HttpTransport(validate_certs=params["validate_certs"], ca_path=params.get("ca_path"),
                              timeout=params["timeout"], pool_size=pool_size,
                              retry_policy=RetryPolicy(params["retries"], params["retry_delay"]))
    return ClientPool(transport, method.from_params(params, transport))
