# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The collection in an execution environment (AWX / Ansible Automation Platform), with the real
``ansible-builder``.

An EE definition that installs the built collection tarball goes through ``ansible-builder
create``, which writes the build context (building the image needs podman or docker, which
these machines lack). ``ansible-builder introspect`` on the installed collection is the step
the image build runs to collect each collection's requirements from its
meta/execution-environment.yml: it must find all of requirements.txt and bindep.txt.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import glob
import os
import re
import subprocess
import sys
from importlib import metadata

import yaml

from apigw_support.ansible import INSTALLED_COLLECTIONS, REPO_ROOT

BUILDER = os.path.join(os.path.dirname(sys.executable), 'ansible-builder')


def requirement_lines(path):
    with open(path, encoding='utf-8') as handle:
        return [line.split('#', 1)[0].strip() for line in handle if line.split('#', 1)[0].strip()]


def requirement_name(line):
    return re.split(r'[<>=!~;\[ ]', line, maxsplit=1)[0].lower().replace('_', '-')


def builder(*args, cwd=None):
    done = subprocess.run([BUILDER] + list(args), cwd=cwd, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, 'ansible-builder %s failed:\n%s\n%s' % (args[0], done.stdout, done.stderr)
    return done.stdout


def test_create_writes_a_build_context_that_installs_the_collection(installed_collection, tmp_path):
    tarball = sorted(glob.glob(str(REPO_ROOT / 'build' / 'dist' / 'apigw-router-*.tar.gz')))[-1]
    with open(REPO_ROOT / 'galaxy.yml', encoding='utf-8') as handle:
        version = yaml.safe_load(handle)['version']
    assert os.path.basename(tarball) == 'apigw-router-%s.tar.gz' % version
    (tmp_path / 'requirements.yml').write_text(yaml.safe_dump({'collections': [
        {'name': '/build/collections/' + os.path.basename(tarball), 'type': 'file'}]}))
    definition = {
        'version': 3,
        'images': {'base_image': {'name': 'quay.io/fedora/fedora:40'}},
        'dependencies': {
            'ansible_core': {'package_pip': 'ansible-core>=2.16,<2.20'},
            'ansible_runner': {'package_pip': 'ansible-runner'},
            'python_interpreter': {'package_system': 'python3', 'python_path': '/usr/bin/python3'},
            'galaxy': 'requirements.yml',
        },
        # the local tarball goes into the context's _build/, which the galaxy stage copies to /build
        'additional_build_files': [{'src': tarball, 'dest': 'collections'}],
    }
    (tmp_path / 'execution-environment.yml').write_text(yaml.safe_dump(definition, sort_keys=False))
    context = tmp_path / 'context'

    builder('create', '-f', 'execution-environment.yml', '--context', str(context),
            '--output-filename', 'Containerfile', cwd=str(tmp_path))

    containerfile = (context / 'Containerfile').read_text()
    assert 'ARG EE_BASE_IMAGE="quay.io/fedora/fedora:40"' in containerfile
    assert 'ansible-galaxy collection install' in containerfile
    assert 'COPY _build /build' in containerfile
    # the image build collects the collections' requirements (introspect) and installs them
    assert 'introspect' in containerfile and 'assemble' in containerfile
    with open(context / '_build' / 'requirements.yml', encoding='utf-8') as handle:
        assert yaml.safe_load(handle)['collections'][0]['name'].endswith(os.path.basename(tarball))
    with open(tarball, 'rb') as original, open(context / '_build' / 'collections' / os.path.basename(tarball), 'rb') as copied:
        assert copied.read() == original.read()


def test_introspect_finds_the_collections_requirements(installed_collection):
    """What the image build runs: every requirement of requirements.txt and bindep.txt, taken from
    the installed collection's meta/execution-environment.yml."""
    found = yaml.safe_load(builder('introspect', str(INSTALLED_COLLECTIONS)))
    mark = '  # from collection apigw.router'
    assert all(line.endswith(mark) for line in found['python'] + found['system'])
    python = [line[:-len(mark)] for line in found['python']]
    system = [line[:-len(mark)] for line in found['system']]

    # ansible-builder leaves out what ansible-core already brings (PyYAML): compare without it
    core = {requirement_name(r) for r in metadata.requires('ansible-core') or []}
    shipped = [r for r in requirement_lines(installed_collection / 'requirements.txt') if requirement_name(r) not in core]
    assert python == shipped
    assert {'requests', 'etcd-sdk-python', 'protobuf', 'grpcio'} <= {requirement_name(r) for r in python}
    assert system == requirement_lines(installed_collection / 'bindep.txt')
    assert requirement_lines(installed_collection / 'requirements.txt') == requirement_lines(REPO_ROOT / 'requirements.txt')
