# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Write the demo's simulator config to stdout, and to build/demo/ the extra vars (fleet.json) and the
apig_instances inventory config through which the demo discovers its fleet.

Usage: demo_config.py SIMULATOR_URL (the inventory config needs the simulator's address, known only
once it listens; the simulator config is written first, so the URL is given on a second call with
--inventory).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import sys

import yaml

PROJECT = "0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e"
TOKEN = "MIIdemo-only-token-not-a-secret"
REGION = "demo-region-1"
DEMO = os.path.join("build", "demo")

if sys.argv[1:2] == ["--inventory"]:
    # The fleet comes from ListInstancesV2 (Running instances only); compose turns each
    # host into an item of the role's fleet_refresh_instances.
    inventory = {
        "plugin": "apigw.router.apig_instances",
        "regions": [{"name": REGION, "endpoint": sys.argv[2], "iam_endpoint": sys.argv[2]}],
        "auth_token": TOKEN,
        "retry_delay": 0.2,
        "compose": {"demo_item": "{'instance_id': apigw_instance_id, 'project_id': apigw_project_id, "
                                 "'endpoint': apigw_endpoint}"},
    }
    with open(os.path.join(DEMO, "demo.apig_instances.yml"), "w") as handle:
        yaml.safe_dump(inventory, handle, sort_keys=False)
    sys.exit(0)

instances = []
for n in range(40):
    instance = {"id": "demo-%02d" % n, "generate": {"count": 25 + n, "seed": n, "published_ratio": 0.8,
                                                    "multi_env_ratio": 0.2}, "latency_ms": 20}
    if n in (7, 23, 31):      # broken: the gateway cannot write its etcd
        instance["faults"] = {"always": {"status": 500, "error_code": "APIG.3500", "method": "PUT"}}
    elif n in (11, 29):       # flaky: throttled once, then fine
        instance["faults"] = {"sequence": [{"status": 429, "retry_after": 1, "method": "PUT"}]}
    instances.append(instance)
# Not Running: discovered, and left out by the plugin's default statuses: [Running].
instances += [{"id": "demo-frozen", "status": "Frozen"}, {"id": "demo-creating", "status": "Creating"},
              {"id": "demo-unhealthy", "status": "Unhealthy"}]

config = {
    "projects": [{"id": PROJECT, "name": REGION, "instances": instances}],
    "credentials": {"tokens": [{"name": "demo", "token": TOKEN, "roles": ["op_svc_apig"]}]},
}
fleet = {"demo_token": TOKEN}
with open(os.path.join(DEMO, "fleet.json"), "w") as handle:
    json.dump(fleet, handle)
yaml.safe_dump(config, sys.stdout, sort_keys=False)
