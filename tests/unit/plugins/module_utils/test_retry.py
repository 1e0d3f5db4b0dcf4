# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.apigw.router.plugins.module_utils.common._retry import (
    MAX_RETRY_AFTER, RetryPolicy, is_retryable, parse_retry_after)


@pytest.mark.parametrize("status, error_code, retry", [
    (200, None, False),
    (400, "APIG.2012", False),
    (401, "APIG.1000", False),
    (401, "APIG.1002", False),
    (403, "APIG.1005", False),
    (403, "APIG.1136", False),
    (404, "APIG.3030", False),
    (404, "APIG.3024", False),
    (429, "APIG.0308", True),
    (429, "APIGW.0308", True),
    (500, "APIG.3500", True),
    (500, "APIG.9008", True),
    (500, "APIG.9999", True),
    (500, "APIG.9004", True),
    (502, None, True),
    (503, None, True),
    (504, None, True),
    (-1, None, True),
    (501, None, False),
])
def test_classifier(status, error_code, retry):
    assert is_retryable(status, error_code) is retry


@pytest.mark.parametrize("header, seconds", [
    (None, None),
    ("3", 3.0),
    (" 0 ", 0.0),
    ("-4", 0.0),
    ("1.5", 1.5),
    ("100000", MAX_RETRY_AFTER),
    ("soon", None),
    ("nan", None),
    ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),  # in the past
])
def test_parse_retry_after(header, seconds):
    assert parse_retry_after(header) == seconds


def test_http_date_in_the_future():
    import email.utils
    now = 1700000000.0
    assert parse_retry_after(email.utils.formatdate(now + 7, usegmt=True), now=now) == pytest.approx(7, abs=1)


@pytest.mark.parametrize("rand, retry_number, expected", [
    (0.0, 1, 0.5), (1.0, 1, 1.0), (0.0, 2, 1.0), (1.0, 3, 4.0), (1.0, 10, 30.0), (0.0, 10, 15.0),
])
def test_backoff_is_exponential_jittered_and_capped(rand, retry_number, expected):
    policy = RetryPolicy(retries=20, delay=1.0, rand=lambda: rand)
    assert policy.backoff(retry_number) == pytest.approx(expected)


def test_retry_after_wins_over_backoff():
    policy = RetryPolicy(retries=3, delay=10.0, rand=lambda: 1.0)
    assert policy.backoff(1, retry_after=0.25) == 0.25


def test_retries_are_bounded():
    policy = RetryPolicy(retries=2)
    assert [policy.should_retry(done, 503) for done in range(4)] == [True, True, False, False]
    assert not RetryPolicy(retries=0).should_retry(0, 503)


def test_wait_sleeps_the_backoff():
    slept = []
    RetryPolicy(retries=1, delay=2.0, sleep=slept.append, rand=lambda: 1.0).wait(1)
    assert slept == [2.0]
