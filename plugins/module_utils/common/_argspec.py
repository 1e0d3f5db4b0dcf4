# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

# This file is private to this collection: its API may change without notice.

"""Option groups shared by the modules.

Each group mirrors a doc fragment of the same name in plugins/doc_fragments/, and the
environment fallbacks live here (not in code) so that ansible-doc and behaviour agree.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible.module_utils.basic import env_fallback

from ansible_collections.apigw.router.plugins.module_utils.common._validation import REFRESH_RESOURCES


def _env(*names):
    return (env_fallback, list(names))


# Target: one instance or a fleet.
TARGET = dict(
    instance_id=dict(type='str'),
    instances=dict(
        type='list', elements='dict',
        options=dict(
            instance_id=dict(type='str', required=True),
            project_id=dict(type='str'),
            endpoint=dict(type='str'),
            region=dict(type='str'),
            cloud=dict(type='str'),
            # The etcd connection of this instance's gateway (dedicated instances have their own).
            etcd_endpoints=dict(type='list', elements='str'),
            etcd_ca_cert=dict(type='path'),
            etcd_client_cert=dict(type='path'),
            etcd_client_key=dict(type='path', no_log=False),
            etcd_user=dict(type='str'),
            etcd_password=dict(type='str', no_log=True),
            key_prefix=dict(type='str', no_log=False),
            # The API groups this instance's sync owns (etcd mode); overrides the module's scope.
            scope=dict(type='dict', options=dict(groups=dict(type='list', elements='str', required=True))),
        ),
    ),
    project_id=dict(type='str', fallback=_env('HUAWEICLOUD_SDK_PROJECT_ID')),
    concurrency=dict(type='int', default=16),
)

TARGET_MUTUALLY_EXCLUSIVE = [('instance_id', 'instances')]
TARGET_REQUIRED_ONE_OF = [('instance_id', 'instances')]

# APIG management API: where, how to authenticate, how patient to be.
APIG_CONNECTION = dict(
    endpoint=dict(type='str', fallback=_env('HUAWEICLOUD_APIG_ENDPOINT')),
    region=dict(type='str', fallback=_env('HUAWEICLOUD_SDK_REGION')),
    # No static default: it depends on the region (eu-west-101 is under myhuaweicloud.eu).
    cloud=dict(type='str'),
    auth_token=dict(type='str', no_log=True, fallback=_env('HUAWEICLOUD_AUTH_TOKEN')),
    # The access key identifies, the secret key authenticates: only the latter is secret.
    access_key=dict(type='str', no_log=False, fallback=_env('HUAWEICLOUD_SDK_AK')),
    secret_key=dict(type='str', no_log=True, fallback=_env('HUAWEICLOUD_SDK_SK')),
    security_token=dict(type='str', no_log=True, fallback=_env('HUAWEICLOUD_SDK_SECURITY_TOKEN')),
    iam_endpoint=dict(type='str', fallback=_env('ANSIBLE_HWC_IDENTITY_ENDPOINT')),
    iam_user=dict(type='str', fallback=_env('ANSIBLE_HWC_USER')),
    iam_password=dict(type='str', no_log=True, fallback=_env('ANSIBLE_HWC_PASSWORD')),
    iam_domain=dict(type='str', fallback=_env('ANSIBLE_HWC_DOMAIN')),
    validate_certs=dict(type='bool', default=True),
    ca_path=dict(type='path'),
    timeout=dict(type='float', default=30.0),
    retries=dict(type='int', default=3),
    retry_delay=dict(type='float', default=1.0),
)

# etcd cluster of the gateway's router.
ETCD_CONNECTION = dict(
    # No default and no env_fallback: ETCDCTL_ENDPOINTS and the default are resolved in
    # common/_etcd_endpoints.py, so that results can say which one a run used.
    etcd_endpoints=dict(type='list', elements='str'),
    etcd_ca_cert=dict(type='path', fallback=_env('ETCDCTL_CACERT')),
    etcd_client_cert=dict(type='path', fallback=_env('ETCDCTL_CERT')),
    etcd_client_key=dict(type='path', no_log=False, fallback=_env('ETCDCTL_KEY')),
    etcd_user=dict(type='str', fallback=_env('ETCDCTL_USER')),
    etcd_password=dict(type='str', no_log=True, fallback=_env('ETCDCTL_PASSWORD')),
    etcd_timeout=dict(type='float', default=10.0),
    etcd_library=dict(type='str', default='auto', choices=['auto', 'pyetcd', 'etcd3'],
                      fallback=_env('APIGW_ROUTER_ETCD_LIBRARY')),
    key_prefix=dict(type='str', default='/apig/router', no_log=False),
)

# Where the API resources of an etcd-mode sync (or a drift check) come from.
SOURCE = dict(
    apis=dict(type='list', elements='raw'),
    src=dict(type='path'),
    source_cache=dict(type='bool', default=True),
    source_cache_dir=dict(type='path', fallback=_env('APIGW_ROUTER_SOURCE_CACHE_DIR')),
)

SOURCE_MUTUALLY_EXCLUSIVE = [('apis', 'src')]

# mode: api.
API_REFRESH = dict(
    resources=dict(type='list', elements='str', default=['apis'], choices=list(REFRESH_RESOURCES)),
    wait=dict(type='bool', default=False),
    wait_timeout=dict(type='int', default=300),
    wait_sleep=dict(type='int', default=2),
)

# etcd mode and the info module: the API groups a run owns on a shared instance (its values
# are checked further in sources/_scope.py, as an instances item's are).
SCOPE = dict(
    scope=dict(type='dict', options=dict(groups=dict(type='list', elements='str', required=True))),
)

# mode: etcd.
ETCD_SYNC = dict(
    backup=dict(type='bool', default=False),
    backup_dir=dict(type='path'),
    prune=dict(type='bool', default=True),
    allow_empty=dict(type='bool', default=False),
    max_txn_ops=dict(type='int', default=128),
    lock_timeout=dict(type='float', default=30.0),
)


def merged(*groups):
    """One argument_spec out of several option groups (later groups win)."""
    spec = {}
    for group in groups:
        spec.update(group)
    return spec


# The options the docs advise writing once in module_defaults for the action group
# apigw.router.apigw: connection and authentication. Ansible hands a group's defaults to
# every module of the group, and a module refuses an option it does not know, so every
# module accepts all of them (as the amazon.aws modules share one connection argspec); a
# module with no use for one accepts and ignores it, and its docs say so.
GROUP = merged(APIG_CONNECTION, dict(project_id=TARGET['project_id']), ETCD_CONNECTION)


def ignored(*names):
    """The GROUP options ``names`` as a module that ignores them takes them: the same type, a
    secret still no_log, but no default, environment fallback or choices (nothing reads them)."""
    spec = {}
    for name in names:
        option = GROUP[name]
        spec[name] = dict((key, option[key]) for key in ('type', 'elements', 'no_log') if key in option)
    return spec


# apigw_router_refresh's options and their constraints, in one place for its module and for its
# action plugin, which runs the fleet_refresh role's batches in the controller's process
# (plugin_utils/_in_process.py) and checks the arguments as the module would.
REFRESH_OPTIONS = (TARGET, APIG_CONNECTION, ETCD_CONNECTION, SOURCE, API_REFRESH, ETCD_SYNC, SCOPE,
                   dict(mode=dict(type='str', default='api', choices=['api', 'etcd'])))
REFRESH_CONSTRAINTS = dict(mutually_exclusive=TARGET_MUTUALLY_EXCLUSIVE + SOURCE_MUTUALLY_EXCLUSIVE,
                           required_one_of=TARGET_REQUIRED_ONE_OF)
