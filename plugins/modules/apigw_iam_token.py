#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: apigw_iam_token
short_description: Log in to Huawei Cloud IAM once and return a project-scoped token
version_added: 0.2.0
description:
  - Obtains one project-scoped IAM token with an IAM user name and password (C(POST /v3/auth/tokens)) and returns it
    with its expiry, as C(openstack.cloud.auth) does for OpenStack.
  - A play that refreshes many instances, one inventory host each, logs in once with this module (C(run_once)) and
    passes the token to every host as O(apigw.router.apigw_router_refresh#module:auth_token). Without it, the IAM
    password method logs in once per host, and IAM throttles a thousand logins.
  - The returned RV(token) is a secret. Set C(no_log) to V(true) on the task, and on the tasks that use the token
    too. The module never logs the password or the token itself; only C(no_log) keeps Ansible from showing the
    result.
author:
  - apigw.router maintainers (@apigw-router)
extends_documentation_fragment:
  - apigw.router.apig_connection
  - apigw.router.attributes
attributes:
  check_mode:
    description: Can run in C(check_mode) and return changed status prediction without modifying target.
    support: full
    details: The module changes nothing. It logs in in check mode too, so that later tasks have a token.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in C(check_mode)), when in diff mode.
    support: none
requirements:
  - requests
options:
  project_id:
    description:
      - The project (of O(region)) the token is scoped to.
      - If not set, the environment variable E(HUAWEICLOUD_SDK_PROJECT_ID) is used, else the project named after
        O(region) is looked up with IAM C(GET /v3/projects?name=<region>), with a domain-scoped token (a second login).
    type: str
  region:
    description:
      - Region of the project; gives the default O(iam_endpoint), C(https://iam.<region>.<cloud>) (see O(cloud)).
      - If not set, the environment variable E(HUAWEICLOUD_SDK_REGION) is used.
    type: str
  endpoint:
    description:
      - Ignored, see the notes. Accepted so that C(module_defaults) for C(group/apigw.router.apigw) apply.
    type: str
  auth_token:
    description:
      - Ignored, see the notes. Accepted so that C(module_defaults) for C(group/apigw.router.apigw) apply.
    type: str
  access_key:
    description:
      - Ignored, see the notes. Accepted so that C(module_defaults) for C(group/apigw.router.apigw) apply.
    type: str
  secret_key:
    description:
      - Ignored, see the notes. Accepted so that C(module_defaults) for C(group/apigw.router.apigw) apply.
    type: str
  security_token:
    description:
      - Ignored, see the notes. Accepted so that C(module_defaults) for C(group/apigw.router.apigw) apply.
    type: str
  etcd_endpoints:
    description:
      - Ignored, see the notes. Accepted so that C(module_defaults) for C(group/apigw.router.apigw) apply.
    type: list
    elements: str
  etcd_ca_cert:
    description:
      - Ignored, see the notes. Accepted so that C(module_defaults) for C(group/apigw.router.apigw) apply.
    type: path
  etcd_client_cert:
    description:
      - Ignored, see the notes. Accepted so that C(module_defaults) for C(group/apigw.router.apigw) apply.
    type: path
  etcd_client_key:
    description:
      - Ignored, see the notes. Accepted so that C(module_defaults) for C(group/apigw.router.apigw) apply.
    type: path
  etcd_user:
    description:
      - Ignored, see the notes. Accepted so that C(module_defaults) for C(group/apigw.router.apigw) apply.
    type: str
  etcd_password:
    description:
      - Ignored, see the notes. Accepted so that C(module_defaults) for C(group/apigw.router.apigw) apply.
    type: str
  etcd_timeout:
    description:
      - Ignored, see the notes. Accepted so that C(module_defaults) for C(group/apigw.router.apigw) apply.
    type: float
  etcd_library:
    description:
      - Ignored, see the notes. Accepted so that C(module_defaults) for C(group/apigw.router.apigw) apply.
    type: str
  key_prefix:
    description:
      - Ignored, see the notes. Accepted so that C(module_defaults) for C(group/apigw.router.apigw) apply.
    type: str
notes:
  - Every module of the collection accepts the connection and authentication options that C(module_defaults) for
    C(group/apigw.router.apigw) may carry. This module uses only the IAM ones (O(region), O(cloud), O(project_id),
    O(iam_endpoint), O(iam_user), O(iam_password), O(iam_domain), O(validate_certs), O(ca_path), O(timeout),
    O(retries), O(retry_delay)) and ignores the others (O(endpoint), O(auth_token), O(access_key), O(secret_key),
    O(security_token) and the etcd options), reading neither them nor their environment variables. So a group that
    carries an AK/SK pair or a token still lets a task of this module log in with a password.
  - Secrets (O(iam_password), and the ignored O(auth_token), O(secret_key), O(security_token), O(etcd_password)) never
    appear in the module's messages or logs; the token it returns is the one
    value it hands out on purpose, so keep C(no_log) on the task.
  - The token is valid for the project it is scoped to, until RV(expires_at) (IAM issues tokens for 24 hours).
    A play that runs longer logs in again with this module.
  - Proxies from the environment (E(HTTPS_PROXY), E(HTTP_PROXY), E(NO_PROXY)) and a CA bundle from
    E(REQUESTS_CA_BUNDLE) apply, as with every module of this collection.
seealso:
  - module: apigw.router.apigw_router_refresh
'''

EXAMPLES = r'''
- name: Refresh every discovered instance with one IAM login
  hosts: apig_instances
  gather_facts: false
  tasks:
    - name: Log in once for the whole play
      apigw.router.apigw_iam_token:
        region: cn-north-4
        project_id: "{{ apig_project_id }}"
        iam_user: "{{ iam_user }}"
        iam_password: "{{ vault_iam_password }}"
        iam_domain: "{{ iam_domain }}"
      run_once: true
      no_log: true
      register: iam

    - name: Refresh each instance with the token
      apigw.router.apigw_router_refresh:
        instance_id: "{{ apigw_instance_id }}"
        project_id: "{{ apig_project_id }}"
        region: cn-north-4
        auth_token: "{{ iam.token }}"
      no_log: true
'''

RETURN = r'''
token:
  description:
    - The project-scoped IAM token (IAM's C(X-Subject-Token)), to pass as C(auth_token). A secret; use C(no_log).
  returned: success
  type: str
expires_at:
  description: When the token expires, in ISO 8601 as IAM gives it; null if IAM's answer does not say.
  returned: success
  type: str
  sample: "2026-11-30T05:30:00.000000Z"
project_id:
  description: The project the token is scoped to.
  returned: success
  type: str
  sample: 0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e
msg:
  description: What happened, in one line (without the token).
  returned: always
  type: str
status:
  description: The HTTP status of IAM's last answer; -1 when no answer came.
  returned: failure
  type: int
  sample: 401
error_code:
  description: The error code of IAM's answer, when it gave one.
  returned: failure
  type: str
error_msg:
  description: The error message of IAM's answer, when it gave one.
  returned: failure
  type: str
request_id:
  description: The request id of IAM's answer, when it gave one.
  returned: failure
  type: str
attempts:
  description: HTTP attempts made for the failing request (retries included).
  returned: failure
  type: int
'''

from ansible_collections.apigw.router.plugins.module_utils.common._argspec import APIG_CONNECTION, GROUP, TARGET, ignored
from ansible_collections.apigw.router.plugins.module_utils.runs._iam_token import run_iam_token
from ansible_collections.apigw.router.plugins.module_utils.common._module import ApigwRouterModule

IAM_OPTIONS = ('region', 'cloud', 'iam_endpoint', 'iam_user', 'iam_password', 'iam_domain', 'validate_certs', 'ca_path',
               'timeout', 'retries', 'retry_delay')


def argument_spec():
    spec = dict((name, APIG_CONNECTION[name]) for name in IAM_OPTIONS)
    spec.update(project_id=TARGET['project_id'])
    # The rest of the action group's connection options, accepted and ignored.
    spec.update(ignored(*(name for name in GROUP if name not in spec)))
    return spec


def main():
    ApigwRouterModule(argument_spec()).execute(run_iam_token)


if __name__ == '__main__':
    main()
