# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type


class ModuleDocFragment(object):
    # Connection and authentication options for the APIG management API and IAM, written once
    # for every module and plugin. Ansible merges fragments option by option, so a variant adds
    # keys to the options of DOCUMENTATION rather than repeating them:
    #   apigw.router.apig_connection          every module and plugin that calls the APIs
    #   apigw.router.apig_connection.modules  the modules that address one instance's management API
    #   apigw.router.apig_connection.plugins  the env: keys that plugins (not modules) read themselves
    # Modules read the environment variables through the argspec's env_fallback, so for them the
    # description says so; ansible-doc shows a plugin's env: keys as well.
    DOCUMENTATION = r'''
options:
  cloud:
    description:
      - Domain suffix of the Huawei Cloud endpoints derived from a region, C(https://<service>.<region>.<cloud>), for
        example C(myhuaweicloud.com) or the suffix of a sovereign or private cloud.
      - If not set, C(myhuaweicloud.com), except for the region C(eu-west-101), which uses C(myhuaweicloud.eu).
    type: str
  auth_token:
    description:
      - An IAM token, sent as C(X-Auth-Token).
      - If not set, the environment variable E(HUAWEICLOUD_AUTH_TOKEN) is used.
      - Exactly one authentication method must be given; a token, an AK/SK pair (O(access_key), O(secret_key)), or an
        IAM password (O(iam_user), O(iam_password), O(iam_domain)).
    type: str
  access_key:
    description:
      - Access key (AK) for request signing with C(SDK-HMAC-SHA256). It identifies the key and is not secret.
      - If not set, the environment variable E(HUAWEICLOUD_SDK_AK) is used.
    type: str
  secret_key:
    description:
      - Secret key (SK) that signs the requests. Never sent, never logged.
      - If not set, the environment variable E(HUAWEICLOUD_SDK_SK) is used.
    type: str
  security_token:
    description:
      - Security token of temporary AK/SK credentials, sent as C(X-Security-Token).
      - If not set, the environment variable E(HUAWEICLOUD_SDK_SECURITY_TOKEN) is used.
    type: str
  iam_endpoint:
    description:
      - IAM endpoint that issues a project-scoped token for the IAM password method and looks up project IDs from
        regions, for example C(https://iam.cn-north-4.myhuaweicloud.com).
      - A URL with credentials (C(https://user:password@host)) is refused, showing it as C(https://***@host). With the
        IAM password method, a plain C(http://) URL to a host other than loopback (C(localhost), C(127.0.0.0/8),
        C(::1)) gives a warning, since O(iam_password) would travel unencrypted.
      - If not set, the environment variable E(ANSIBLE_HWC_IDENTITY_ENDPOINT) is used, else C(https://iam.<region>.<cloud>)
        derived from O(region).
    type: str
  iam_user:
    description:
      - Name of the IAM user for the IAM password method.
      - If not set, the environment variable E(ANSIBLE_HWC_USER) is used.
    type: str
  iam_password:
    description:
      - IAM password for the IAM password method. Never logged and never returned.
      - If not set, the environment variable E(ANSIBLE_HWC_PASSWORD) is used.
    type: str
  iam_domain:
    description:
      - IAM domain (account) name of O(iam_user).
      - If not set, the environment variable E(ANSIBLE_HWC_DOMAIN) is used.
    type: str
  validate_certs:
    description:
      - Verify the TLS certificates of the endpoints called (the management API, IAM).
      - Set to V(false) only for a test endpoint; prefer O(ca_path) for a private CA.
      - With V(false), urllib3's warnings about unverified requests are silenced for the hosts of these endpoints
        only; the rest of the process keeps its warnings.
    type: bool
    default: true
  ca_path:
    description:
      - CA bundle that verifies the certificates of the endpoints called.
    type: path
  timeout:
    description:
      - Seconds to wait for each HTTP request.
    type: float
    default: 30
  retries:
    description:
      - How many times a retryable failure is retried (HTTP 429, 500, 502, 503, 504, a connection error or a timeout).
      - HTTP 400, 401, 403 and 404 are never retried.
    type: int
    default: 3
  retry_delay:
    description:
      - Seconds before the first retry. Each further retry waits twice as long, with jitter, capped at 30 seconds.
      - A C(Retry-After) header in the answer takes precedence, up to 300 seconds.
    type: float
    default: 1.0
'''

    # Where a module finds the management API of an instance.
    MODULES = r'''
options:
  endpoint:
    description:
      - Base URL of the APIG management API, for example C(https://apig.cn-north-4.myhuaweicloud.com).
      - A URL with credentials (C(https://user:password@host)) is refused, showing it as C(https://***@host); use the
        authentication options instead.
      - If not set, the environment variable E(HUAWEICLOUD_APIG_ENDPOINT) is used, else it is derived from O(region).
    type: str
  region:
    description:
      - Region of the instances; used when O(endpoint) is not set, as C(https://apig.<region>.<cloud>) (see
        O(cloud)), and for the default O(iam_endpoint).
      - When O(project_id) is not given, the project ID is looked up from the region with IAM
        C(GET /v3/projects?name=<region>), once per region per task; exactly one project must match. The credentials
        need the permission to list projects (C(iam:projects:list)).
      - If not set, the environment variable E(HUAWEICLOUD_SDK_REGION) is used.
    type: str
'''

    # Plugins read their options through Ansible's config system, which takes env: keys.
    PLUGINS = r'''
options:
  auth_token:
    env:
      - name: HUAWEICLOUD_AUTH_TOKEN
  access_key:
    env:
      - name: HUAWEICLOUD_SDK_AK
  secret_key:
    env:
      - name: HUAWEICLOUD_SDK_SK
  security_token:
    env:
      - name: HUAWEICLOUD_SDK_SECURITY_TOKEN
  iam_endpoint:
    env:
      - name: ANSIBLE_HWC_IDENTITY_ENDPOINT
  iam_user:
    env:
      - name: ANSIBLE_HWC_USER
  iam_password:
    env:
      - name: ANSIBLE_HWC_PASSWORD
  iam_domain:
    env:
      - name: ANSIBLE_HWC_DOMAIN
'''
