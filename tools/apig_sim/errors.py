# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The error answers the simulator gives, with the gateway's own codes and wording.

Codes and messages come from Huawei's error-code table
(reference/apig-docs/apig_error_codes.tsv); the few that table lacks (throttling,
unknown route) are the codes the cloud's front gateway is known to answer with.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

# code -> (HTTP status, documented message)
CATALOGUE = {
    "APIG.1000": (401, "The token is missing."),
    "APIG.1001": (401, "The token has expired."),
    "APIG.1002": (401, "Incorrect token or token resolution failed."),
    "APIG.1003": (401, "The token does not contain project information."),
    # The table files APIG.1005 under 401; the simulator answers 403 by default
    # (settings.forbidden_status) because the refresh pages document 403 for a caller
    # without op_svc_apig. Either way the code is the same.
    "APIG.1005": (403, "No permissions to request this method."),
    "APIG.1136": (403, "no authority to operate instance"),
    "APIG.2012": (400, "Invalid parameter value."),
    "APIG.3030": (404, "The instance does not exist"),
    "APIG.0308": (429, "The throttling threshold has been reached."),
    "APIG.3500": (500, "Failed to synchronize data to etcd."),
    "APIG.9008": (500, "Too many requests."),
    "APIG.9999": (500, "System error."),
    # Not in APIG's table: what the cloud's front gateway answers for a path or
    # method that no API matches.
    "APIGW.0101": (404, "The API does not exist or has not been published in the environment"),
}

# The code an injected fault uses when it gives only a status.
DEFAULT_CODE_FOR_STATUS = {
    400: "APIG.2012",
    401: "APIG.1002",
    403: "APIG.1005",
    404: "APIG.3030",
    429: "APIG.0308",
}


class ApigError(Exception):
    """An error answer: ``{"error_code", "error_msg", "request_id"}`` with a status.

    ``headers`` are extra response headers (Retry-After for throttling).
    """

    def __init__(self, code, msg=None, status=None, headers=None):
        known_status, known_msg = CATALOGUE.get(code, (500, "System error."))
        super(ApigError, self).__init__(msg or known_msg)
        self.code = code
        self.msg = msg or known_msg
        self.status = int(status or known_status)
        self.headers = dict(headers or {})


def invalid_parameter(name):
    """APIG.2012 naming the parameter, in the gateway's usual wording."""
    return ApigError("APIG.2012", "Invalid parameter value,parameterName:%s. "
                     "Please refer to the support documentation" % name)


def code_for_status(status):
    if status in DEFAULT_CODE_FOR_STATUS:
        return DEFAULT_CODE_FOR_STATUS[status]
    return "APIG.9999" if status >= 500 else "APIG.2012"


class IamError(Exception):
    """An answer of the IAM token endpoint, in IAM's own shape
    ``{"error": {"code", "message", "title"}}``."""

    TITLES = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found"}

    def __init__(self, status, message):
        super(IamError, self).__init__(message)
        self.status = status
        self.message = message

    def body(self):
        return {"error": {"code": self.status, "message": self.message,
                          "title": self.TITLES.get(self.status, "Error")}}
