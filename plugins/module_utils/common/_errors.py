# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

# This file is private to this collection: its API may change without notice.

"""The collection's exceptions, and ``failure()``: the one way any exception becomes a result.

Everything below module entry points raises one of these. ``failure()`` is called where an
exception must stop: at the entry point (common/_module.py) and for one instance of a
fleet (common/_fleet.py). Messages never contain secrets.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import sys
import traceback


class ApigwRouterError(Exception):
    """Base class. ``details`` are extra result keys reported with the failure."""

    def __init__(self, msg, **details):
        super(ApigwRouterError, self).__init__(msg)
        self.msg = msg
        self.details = details


class ValidationError(ApigwRouterError):
    """Bad input, refused before any request or write."""


class MissingLibraryError(ApigwRouterError):
    """A required Python library is missing or cannot be imported."""

    def __init__(self, library, exception_text=None, reason=None):
        msg = "the Python library %s is required%s" % (library, " (%s)" % reason if reason else "")
        super(MissingLibraryError, self).__init__(msg)
        self.library = library
        self.exception_text = exception_text
        self.reason = reason


class ApiError(ApigwRouterError):
    """The APIG management API answered with an error, or not at all (status -1)."""

    def __init__(self, msg, status=-1, error_code=None, error_msg=None, request_id=None, attempts=0):
        super(ApiError, self).__init__(
            msg, status=status, error_code=error_code, error_msg=error_msg,
            request_id=request_id, attempts=attempts)
        self.status = status
        self.error_code = error_code
        self.error_msg = error_msg
        self.request_id = request_id
        self.attempts = attempts


class AuthError(ApiError):
    """Authentication could not be set up or was refused (IAM or the gateway)."""


class EtcdError(ApigwRouterError):
    """etcd could not be reached or refused an operation."""


class ConflictError(EtcdError):
    """Guarded writes kept failing because someone else changed the same keys."""

    def __init__(self, msg, keys=None):
        # As text: etcd keys are bytes, and one that is not UTF-8 is shown escaped (backslashreplace).
        keys = sorted(k.decode('utf-8', 'backslashreplace') if isinstance(k, bytes) else k for k in keys or [])
        super(ConflictError, self).__init__(msg, conflict_keys=keys)
        self.keys = list(keys)


class IncompleteListingError(ApigwRouterError):
    """ListApisV2's pages did not add up to one complete listing, however often it was taken.

    ``listings`` (a result key) describes each listing taken: the ``total`` of each page,
    how many ids were collected, how many of them were unique, and the duplicated ids.
    A scope's listings that disagree with each other report their ids instead (``details``:
    ``missed``, ``listed_twice``).
    """

    def __init__(self, msg, listings=None, **details):
        if listings is not None:
            details["listings"] = listings
        super(IncompleteListingError, self).__init__(msg, **details)
        self.listings = listings


def failure(exc_info=None):
    """The failed result of the exception being handled (or of ``exc_info``).

    The collection's own exceptions give their message and details. Any other is a bug:
    its result holds the traceback with its frames and the exception's type but not its
    text, because a library's exception text may quote a request header, i.e. a
    credential that is not an option (an IAM token obtained with a password), so no
    scrubbing of option values would catch it.
    """
    exc_type, exc, tb = exc_info or sys.exc_info()
    if isinstance(exc, ApigwRouterError):
        return dict(exc.details, failed=True, msg=exc.msg)
    frames = traceback.extract_tb(tb)
    where = ""
    if frames:
        last = frames[-1]
        where = " at %s line %d (%s)" % (last.filename.rsplit("/", 1)[-1], last.lineno, last.name)
    text = "Traceback (most recent call last):\n%s%s (message withheld: it may quote a credential)\n" % (
        "".join(traceback.format_list(frames)), exc_type.__name__)
    return dict(changed=False, failed=True,
                msg="unexpected %s%s: a bug in apigw.router or a library it uses; please report it with "
                    "the exception text of this result" % (exc_type.__name__, where),
                exception=text)
