# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

# This file is private to this collection: its API may change without notice.

"""Which etcd endpoints a run uses, and where they came from (results show how: runs/_etcd_clients.py).

``etcd_endpoints`` has no ``env_fallback`` in the argspec on purpose: an env fallback gives
the module the same value whether the user wrote it or a forgotten ``ETCDCTL_ENDPOINTS`` in
the controller's environment supplied it, and a sync into the wrong cluster is the quiet
trap. The fallback is resolved here instead, so that results can say which one applied.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os

DEFAULT_ENDPOINTS = ("http://127.0.0.1:2379",)
ENV_VAR = "ETCDCTL_ENDPOINTS"


def resolve(value, environ=None):
    """(endpoints, origin): ``value`` when set (``option``), else ``ETCDCTL_ENDPOINTS``
    (comma-separated, ``env``), else the default (``default``)."""
    if value is not None:
        return list(value), "option"
    environ = os.environ if environ is None else environ
    from_env = [part.strip() for part in (environ.get(ENV_VAR) or "").split(",") if part.strip()]
    if from_env:
        return from_env, "env"
    return list(DEFAULT_ENDPOINTS), "default"


# Each origin (etcd_endpoints_from) in the words of a diff header.
ORIGIN_NAMES = {"option": "etcd_endpoints", "env": ENV_VAR, "default": "the default"}
