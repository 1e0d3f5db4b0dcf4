# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

# This file is private to this collection: its API may change without notice.

"""When to retry a management API call, and how long to wait first."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import math
import random
import time

# Throttling, APIG.3500 (etcd sync failed), APIG.9008 (too many requests), 9999 and the
# gateway/proxy statuses are transient; 4xx other than 429 will not get better by asking again.
RETRYABLE_STATUSES = frozenset((429, 500, 502, 503, 504))

# No HTTP answer at all (connection refused or reset, timeout).
NO_ANSWER = -1

MAX_BACKOFF = 30.0
# A server may ask for a longer pause than our own cap; we honour it, up to this bound.
MAX_RETRY_AFTER = 300.0


def is_retryable(status, error_code=None):
    """True when a request that ended with ``status`` may be sent again.

    ``error_code`` is accepted so that a code-specific exception can be added in one
    place; today the documented codes of a status all share its verdict.
    """
    return status == NO_ANSWER or status in RETRYABLE_STATUSES


def parse_retry_after(value, now=None):
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP date), or None."""
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        import email.utils  # here, not at the top: only an HTTP-date Retry-After needs it
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when is None:
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if math.isnan(seconds):
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


class RetryPolicy(object):
    """Exponential backoff with jitter, capped, and honouring Retry-After.

    The n-th retry waits between half and all of ``delay * 2**(n-1)`` (capped at 30 s), so
    that many clients retrying together spread out instead of hammering in lockstep.
    """

    def __init__(self, retries=3, delay=1.0, max_backoff=MAX_BACKOFF, sleep=time.sleep, rand=random.random):
        self.retries = max(0, int(retries))
        self.delay = max(0.0, float(delay))
        self.max_backoff = max_backoff
        self.sleep = sleep
        self.rand = rand

    def backoff(self, retry_number, retry_after=None):
        """Seconds to wait before retry number ``retry_number`` (1-based)."""
        if retry_after is not None:
            return retry_after
        base = min(self.delay * (2 ** (retry_number - 1)), self.max_backoff)
        return base * (0.5 + self.rand() / 2.0)

    def should_retry(self, retries_done, status, error_code=None):
        return retries_done < self.retries and is_retryable(status, error_code)

    def wait(self, retry_number, retry_after=None):
        delay = self.backoff(retry_number, retry_after)
        if delay > 0:
            self.sleep(delay)
        return delay
