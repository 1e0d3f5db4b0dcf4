# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

# This file is private to this collection: its API may change without notice.

"""Default endpoints of Huawei Cloud services from a region and a cloud (domain suffix).

Huawei's SDKs build ``https://<service>.<region>.<domain>``; the one region outside
``myhuaweicloud.com`` is eu-west-101 (``myhuaweicloud.eu``). Private clouds and other
sovereign regions give ``cloud`` (or a whole endpoint) instead.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re

from ansible_collections.apigw.router.plugins.module_utils.common._errors import ValidationError
from ansible_collections.apigw.router.plugins.module_utils.common._secrets import redact_endpoint

DEFAULT_CLOUD = "myhuaweicloud.com"
# Regions whose endpoints live under another domain when ``cloud`` is not given.
REGION_CLOUDS = {"eu-west-101": "myhuaweicloud.eu"}

REGION_RE = re.compile(r"^[a-z][a-z0-9-]{1,62}\Z")
# A DNS domain of at least two labels, letters, digits and inner hyphens only.
CLOUD_RE = re.compile(r"^(?=.{3,253}\Z)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]\Z")


def check_region(region):
    """``region`` if it looks like a region id (cn-north-4), else ValidationError naming it."""
    if not isinstance(region, str) or not REGION_RE.match(region):
        # A URL given by mistake may carry a password: never echoed.
        raise ValidationError("region %r is not a valid region name (e.g. cn-north-4)" % (redact_endpoint(region),))
    return region


def cloud_of(region, cloud=None):
    """The domain suffix for ``region``: ``cloud`` when given, else the region's own default."""
    if cloud:
        if not isinstance(cloud, str) or not CLOUD_RE.match(cloud.lower()):
            raise ValidationError("cloud %r is not a domain suffix like %s" % (redact_endpoint(cloud), DEFAULT_CLOUD))
        return cloud.lower()
    return REGION_CLOUDS.get(region, DEFAULT_CLOUD)


def service_endpoint(service, region, cloud=None):
    check_region(region)
    return "https://%s.%s.%s" % (service, region, cloud_of(region, cloud))


def apig_endpoint(region, cloud=None):
    """The APIG management endpoint of ``region``, e.g. https://apig.cn-north-4.myhuaweicloud.com."""
    return service_endpoint("apig", region, cloud)


def iam_endpoint(region, cloud=None):
    """The regional IAM endpoint of ``region``, e.g. https://iam.cn-north-4.myhuaweicloud.com."""
    return service_endpoint("iam", region, cloud)
