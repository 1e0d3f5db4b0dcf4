# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Deterministic API resources in the shape of ListApisV2's ``apis`` items, for the benchmark.

Every API is published (so N APIs give N routes), a tenth of them in two environments;
about one in six has an HTTP backend with ``backend_api``, the rest are MOCK or FUNCTION
backends. Ids are 32 hex digits as APIG's are. The items carry the volatile and extra
fields the gateway sends (times, version, remark, ``req_params``, ...), which the module
drops; the resulting route records average a little over 300 bytes of canonical JSON.
"""

from __future__ import absolute_import, division, print_function

import random

RELEASE = ('DEFAULT_ENVIRONMENT_RELEASE_ID', 'RELEASE')


def _hex(rng):
    return '%032x' % rng.getrandbits(128)


def _time(rng):
    return '2024-%02d-%02dT%02d:%02d:%02dZ' % (rng.randint(1, 12), rng.randint(1, 28), rng.randint(0, 23),
                                               rng.randint(0, 59), rng.randint(0, 59))


def generate(count, seed=1):
    """``count`` published API resources, the same for the same ``count`` and ``seed``."""
    rng = random.Random('apigw.router bench %s' % seed)
    groups = [(_hex(rng), 'group_%02d' % g) for g in range(max(1, min(20, count // 500 + 1)))]
    test_env = (_hex(rng), 'TEST')
    apis = []
    for index in range(count):
        group_id, group_name = groups[index % len(groups)]
        method = rng.choice(('GET', 'GET', 'GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'ANY'))
        envs = [RELEASE] + ([test_env] if rng.random() < 0.1 else [])
        publish_ids = [_hex(rng) for _env in envs]
        backend = rng.random() < 1 / 6.0
        api = {
            'id': _hex(rng),
            'name': 'api_%06d' % index,
            'type': rng.choice((1, 1, 1, 2)),
            'version': 'V1.0.%d' % rng.randint(0, 9),
            'req_protocol': rng.choice(('HTTPS', 'HTTPS', 'HTTP', 'BOTH')),
            'req_method': method,
            'req_uri': '/%s/v1/r%06d%s' % (group_name.replace('_', '-'), index, rng.choice(('', '', '/{id}'))),
            'match_mode': rng.choice(('NORMAL', 'NORMAL', 'NORMAL', 'SWA')),
            'auth_type': rng.choice(('IAM', 'APP', 'APP', 'NONE')),
            'auth_opt': {'app_code_auth_type': 'DISABLE'},
            'cors': rng.random() < 0.2,
            'backend_type': 'HTTP' if backend else rng.choice(('MOCK', 'MOCK', 'FUNCTION')),
            'group_id': group_id,
            'group_name': group_name,
            'group_version': 'V1',
            'status': 1,
            'register_time': _time(rng),
            'update_time': _time(rng),
            'authorizer_id': '',
            'tags': [],
            'remark': 'benchmark API %d' % index,
            'content_type': 'application/json' if method in ('POST', 'PUT', 'PATCH') else '',
            'response_id': '',
            'req_params': [],
            'run_env_id': '|'.join(e[0] for e in envs),
            'run_env_name': '|'.join(e[1] for e in envs),
            'publish_id': '|'.join(publish_ids),
            'publish_time': '|'.join(_time(rng) for _env in envs),
        }
        if backend:
            api['backend_api'] = {
                'id': _hex(rng),
                'req_protocol': 'HTTP',
                'req_method': method,
                'req_uri': '/r%06d' % index,
                'url_domain': '10.%d.%d.%d:80' % (rng.randint(0, 255), rng.randint(0, 255), rng.randint(1, 254)),
                'timeout': 5000,
                'retry_count': '-1',
                'vpc_channel_status': 2,
                'status': 1,
                'register_time': api['register_time'],
                'update_time': api['update_time'],
            }
        apis.append(api)
    return apis


def page(apis):
    """A ListApisV2 answer holding ``apis`` (what ``src`` accepts as well as a bare list)."""
    return {'total': len(apis), 'size': len(apis), 'apis': apis}
