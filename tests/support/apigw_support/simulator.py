# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Run tools/apig_sim as a real subprocess for a test, and always stop it.

    with Simulator(config_dict_or_path, workdir=tmp_path) as sim:
        requests.get(sim.url + "/v2/...")
        sim.requests(); sim.stats(); sim.set_faults("inst-a", [{"status": 500}])

The process listens on 127.0.0.1 on a port it picks itself (``--port 0``) and
reports through ``--port-file``, so parallel test runs never race for a port.
Every wait is bounded; stop() terminates, then kills, and runs on exit from the
``with`` block whether the test passed or not (and at interpreter exit as a last resort).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import atexit
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from urllib.error import HTTPError, URLError
from urllib.request import ProxyHandler, Request, build_opener

import yaml

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
TOOLS_DIR = os.path.join(REPO_ROOT, "tools")
DEV_COLLECTIONS = os.path.join(REPO_ROOT, "build", "dev")

# Never send loopback traffic through an HTTP proxy from the environment.
_OPENER = build_opener(ProxyHandler({}))


class SimulatorError(RuntimeError):
    """The simulator did not start, died, or an admin call failed."""


class Simulator:
    def __init__(self, config, workdir=None, startup_timeout=20.0, admin_timeout=10.0,
                 stop_timeout=5.0, verbose=False, python=None, etcd_endpoints=None,
                 etcd_key_prefix=None):
        self._config = config
        self.etcd_endpoints = list(etcd_endpoints or [])
        self.etcd_key_prefix = etcd_key_prefix
        self._own_workdir = workdir is None
        self.workdir = str(workdir) if workdir is not None else None
        self.startup_timeout = startup_timeout
        self.admin_timeout = admin_timeout
        self.stop_timeout = stop_timeout
        self.verbose = verbose
        self.python = python or sys.executable
        self.proc = None
        self.port = None
        self.url = None
        self.config_path = None
        self.log_path = None
        self._stdout = self._stderr = None

    # ---- lifecycle --------------------------------------------------------------------

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc_info):
        self.stop()
        return False

    def start(self):
        if self.proc is not None:
            raise SimulatorError("already started")
        if self.workdir is None:
            self.workdir = tempfile.mkdtemp(prefix="apig_sim_")
        os.makedirs(self.workdir, exist_ok=True)
        if isinstance(self._config, dict):
            self.config_path = os.path.join(self.workdir, "apig_sim.yml")
            with open(self.config_path, "w") as handle:
                yaml.safe_dump(self._config, handle, sort_keys=False)
        else:
            self.config_path = str(self._config)
        self.log_path = os.path.join(self.workdir, "apig_sim.requests.jsonl")
        port_file = os.path.join(self.workdir, "apig_sim.port")
        if os.path.exists(port_file):
            os.unlink(port_file)
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            [TOOLS_DIR, DEV_COLLECTIONS] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
        env["PYTHONUNBUFFERED"] = "1"
        cmd = [self.python, "-m", "apig_sim", "--config", self.config_path,
               "--host", "127.0.0.1", "--port", "0", "--port-file", port_file,
               "--log", self.log_path]
        if self.verbose:
            cmd.append("--verbose")
        if self.etcd_endpoints:
            cmd += ["--etcd-endpoints", ",".join(self.etcd_endpoints)]
        if self.etcd_key_prefix:
            cmd += ["--etcd-key-prefix", self.etcd_key_prefix]
        self._stdout = open(os.path.join(self.workdir, "apig_sim.stdout"), "wb")
        self._stderr = open(os.path.join(self.workdir, "apig_sim.stderr"), "wb")
        self.proc = subprocess.Popen(cmd, cwd=REPO_ROOT, env=env, stdin=subprocess.DEVNULL,
                                     stdout=self._stdout, stderr=self._stderr)
        atexit.register(self.stop)
        try:
            self._wait_ready(port_file)
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self, port_file):
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SimulatorError("apig_sim exited with %s during start-up: %s"
                                     % (self.proc.returncode, self.stderr_text()[-2000:]))
            if self.port is None and os.path.exists(port_file):
                with open(port_file) as handle:
                    text = handle.read().strip()
                if text.isdigit():
                    self.port = int(text)
                    self.url = "http://127.0.0.1:%d" % self.port
            if self.port is not None:
                try:
                    if self._admin("GET", "/_sim/health", timeout=1.0).get("ok"):
                        return
                except (SimulatorError, OSError):
                    pass
            time.sleep(0.05)
        raise SimulatorError("apig_sim did not answer within %.0f s: %s"
                             % (self.startup_timeout, self.stderr_text()[-2000:]))

    def stop(self):
        """Terminate (then kill) the process; safe to call more than once."""
        proc, self.proc = self.proc, None
        if proc is not None:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=self.stop_timeout)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=self.stop_timeout)
            try:
                atexit.unregister(self.stop)
            except Exception:      # pylint: disable=broad-except
                pass
        for handle in (self._stdout, self._stderr):
            if handle is not None:
                handle.close()
        self._stdout = self._stderr = None

    def cleanup(self):
        """Stop, and remove the work directory if this object created it."""
        self.stop()
        if self._own_workdir and self.workdir and os.path.isdir(self.workdir):
            shutil.rmtree(self.workdir, ignore_errors=True)

    @property
    def running(self):
        return self.proc is not None and self.proc.poll() is None

    # ---- out-of-band views ------------------------------------------------------------

    def _admin(self, method, path, payload=None, timeout=None):
        if self.url is None:
            raise SimulatorError("not started")
        body = json.dumps(payload).encode("utf-8") if payload is not None else None
        request = Request(self.url + path, data=body, method=method,
                          headers={"Content-Type": "application/json"})
        try:
            with _OPENER.open(request, timeout=timeout or self.admin_timeout) as answer:
                return json.loads(answer.read().decode("utf-8"))
        except HTTPError as exc:
            raise SimulatorError("%s %s -> %s: %s" % (method, path, exc.code,
                                                      exc.read().decode("utf-8", "replace")))
        except URLError as exc:
            raise SimulatorError("%s %s failed: %s" % (method, path, exc.reason))

    def requests(self, since=0):
        """Logged requests with a sequence number above ``since`` (dicts, oldest first)."""
        return self._admin("GET", "/_sim/requests?since=%d" % since)["requests"]

    def last_seq(self):
        """The sequence number of the last logged request (a ``since`` for later)."""
        return self._admin("GET", "/_sim/requests?since=%d" % (2 ** 62))["last_seq"]

    def stats(self):
        return self._admin("GET", "/_sim/stats")

    def refreshes(self):
        return self._admin("GET", "/_sim/refreshes")["refreshes"]

    def faults(self):
        return self._admin("GET", "/_sim/faults")["faults"]

    def set_faults(self, instance_id, sequence=None, always=None, latency_ms=None, append=False):
        """Set an instance's faults (``@iam`` for the token endpoint); see faults.py."""
        payload = {"instance_id": instance_id, "sequence": sequence or [], "append": append}
        if always is not None:
            payload["always"] = always
        if latency_ms is not None:
            payload["latency_ms"] = latency_ms
        return self._admin("POST", "/_sim/faults", payload)

    def reset(self, faults="keep", apis="keep"):
        """Clear log, counters and refreshes; faults/apis: keep, or back to the config
        ("config"); faults may also be "clear"."""
        return self._admin("POST", "/_sim/reset", {"faults": faults, "apis": apis})

    def set_apis(self, instance_id, apis=None, generate=None):
        """Replace an instance's APIs, as in the config (explicit list and/or generator)."""
        payload = {"instance_id": instance_id}
        if apis is not None:
            payload["apis"] = apis
        if generate is not None:
            payload["generate"] = generate
        return self._admin("POST", "/_sim/apis", payload)

    def log_text(self):
        """The request log file as written (to grep for secrets)."""
        with open(self.log_path, "r", encoding="utf-8") as handle:
            return handle.read()

    def log_entries(self):
        return [json.loads(line) for line in self.log_text().splitlines() if line.strip()]

    def stderr_text(self):
        path = os.path.join(self.workdir or "", "apig_sim.stderr")
        if not os.path.exists(path):
            return ""
        with open(path, "r", encoding="utf-8", errors="replace") as handle:
            return handle.read()
