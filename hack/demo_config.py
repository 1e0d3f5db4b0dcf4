# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Write the demo's simulator config to stdout and the fleet (as Ansible extra vars) to build/demo/fleet.json."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import sys

import yaml

PROJECT = "0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e"
TOKEN = "MIIdemo-only-token-not-a-secret"

instances = []
for n in range(40):
    instance = {"id": "demo-%02d" % n, "generate": {"count": 25 + n, "seed": n, "published_ratio": 0.8,
                                                    "multi_env_ratio": 0.2}, "latency_ms": 20}
    if n in (7, 23, 31):      # broken: the gateway cannot write its etcd
        instance["faults"] = {"always": {"status": 500, "error_code": "APIG.3500", "method": "PUT"}}
    elif n in (11, 29):       # flaky: throttled once, then fine
        instance["faults"] = {"sequence": [{"status": 429, "retry_after": 1, "method": "PUT"}]}
    instances.append(instance)

config = {
    "projects": [{"id": PROJECT, "name": "demo-region-1", "instances": instances}],
    "credentials": {"tokens": [{"name": "demo", "token": TOKEN, "roles": ["op_svc_apig"]}]},
}
fleet = {
    "demo_project_id": PROJECT,
    "demo_token": TOKEN,
    # demo-99 does not exist: the gateway answers 404 APIG.3030.
    "demo_fleet": [{"instance_id": i["id"]} for i in instances] + [{"instance_id": "demo-99"}],
}
with open(os.path.join("build", "demo", "fleet.json"), "w") as handle:
    json.dump(fleet, handle)
yaml.safe_dump(config, sys.stdout, sort_keys=False)
