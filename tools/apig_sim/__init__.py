# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

"""apig_sim: a local simulator of the Huawei Cloud APIG management plane.

It serves the router refresh family, the refresh state, ListApisV2 and IAM password
auth with the real paths, shapes and error codes, so the collection's modules and
tests can run against something that speaks the gateway's wire format, with faults
injected on demand and every request recorded for out-of-band checks.

Not shipped with the collection (galaxy.yml's build_ignore lists ``tools``).
Run it with ``python -m apig_sim --config FILE --port N``; see README.md.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

__version__ = "0.1.0"
