# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

# This file is private to this collection: its API may change without notice.

"""Mode etcd for one instance: lock, read, plan, write in guarded transactions, report.

``sync()`` makes ``<key_prefix>/<instance_id>/apis/`` hold exactly the desired routes
and the manifest describe them, writing only the difference. ``inspect()`` is its
read-only counterpart for the info module.

Guarantees:

- A sync first reads and plans without the lock: when there is nothing to do it writes
  nothing at all (not even the lock key). Otherwise it takes the per-instance lock
  ``<key_prefix>/<instance_id>/lock``, reads and plans again, and writes. Check mode
  never takes the lock and never writes.
- Every write is guarded (``EtcdClient.txn``): a key changed by someone else after it was
  read is a conflict, answered by reading and planning again (bounded), never by
  overwriting. Every write also requires the lock key to be still ours: a sync that lost
  its lock (paused past the lease's TTL, another sync took it) stops and writes nothing more.
- Nothing outside the instance's ``apis/`` prefix is deleted; the only other keys written
  are the manifest, in the last transaction, whenever routes are written (its mod_revision
  then proves the next no-op) or its bytes change, and the per-group manifests under
  ``groups/`` (just before it) that exist or that a ``scope`` needs.
- With a ``scope``, only the routes of its groups are planned, written and pruned; the
  manifest is still that of every route.
- Up to ``txns_in_flight`` transactions are in flight at once, but only while they all
  write routes or all delete routes (``_pipeline``): the order above holds between phases.
- The result reports only what committed transactions did, also when a later
  transaction fails: the exception then carries ``created``/``updated``/``deleted``/
  ``revision``/``changed`` of the part that was applied.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
from collections import namedtuple
from itertools import chain

from ansible_collections.apigw.router.plugins.module_utils.common._errors import (
    ApigwRouterError,
    ConflictError,
    EtcdError,
    ValidationError,
)
from ansible_collections.apigw.router.plugins.module_utils.etcd._client import ETCD_MAX_TXN_OPS
from ansible_collections.apigw.router.plugins.module_utils.etcd._pipeline import send_in_order
from ansible_collections.apigw.router.plugins.module_utils.etcd._planner import Plan
from ansible_collections.apigw.router.plugins.module_utils.etcd._planner import plan as make_plan
from ansible_collections.apigw.router.plugins.module_utils.etcd._planner import (
    as_bytes_keys,
    item_id,
    key_text,
    render_diff,
    split_by_scope,
    summary,
)
from ansible_collections.apigw.router.plugins.module_utils.sources._routes import (
    DesiredRoutes,
    api_id_of,
    canonical_json,
    manifest,
    manifest_key,
    routes_prefix,
)
from ansible_collections.apigw.router.plugins.module_utils.sources._scope import (
    entry_of_key,
    group_manifest_bytes,
    group_manifest_key,
    group_of,
    groups_prefix,
)
from ansible_collections.apigw.router.plugins.module_utils.common._validation import (
    check_identifier,
    check_key_prefix,
)

# etcd refuses requests over 1.5 MiB (--max-request-bytes): keep each transaction's keys
# and values well under it, leaving room for the guards and protobuf framing.
TXN_BYTES_BUDGET = 1024 * 1024
# Per-operation overhead estimate: the compare, the operation and the failure-branch read
# each carry the key, plus a few bytes of framing each.
_OP_OVERHEAD = 64
# A holder that dies frees the lock within this many seconds (less than lock_timeout's default).
LOCK_TTL = 15
READ_PAGE_SIZE = 1000
# Transactions in flight at once while a sync writes routes (see _pipeline): etcd commits the
# ones that arrive together in one raft round and one fsync, and the round trips of a network
# overlap. Behind a round trip of 20 ms (bench section remote), a cold sync of 10,000 routes
# took 2.27 s with one, 0.89 s with four, 0.67 s with eight and 0.58 s with sixteen. On one
# local member eight are as fast as four for one sync, and cost the fleet form (16 syncs at
# once, all on that member) about 4 %; sixteen would double the threads per sync for little more.
TXNS_IN_FLIGHT = 8


def lock_key(key_prefix, instance_id):
    return '%s/%s/lock' % (check_key_prefix(key_prefix), check_identifier('instance_id', instance_id))


def batches(ops, max_ops, budget=TXN_BYTES_BUDGET):
    """Split ``ops`` in order into lists of at most ``max_ops`` operations and ~``budget`` bytes.

    An operation larger than the budget alone goes in a transaction of its own (etcd
    will refuse it if it is over its own limit, and the error names the key). etcd's
    --max-txn-ops counts compares too: with the lock's own compare, a list holds at most
    ``max_ops - 1`` guards (a run of joined creates shares one).
    """
    out, current, size, guards = [], [], 0, 0
    most_guards = max(1, max_ops - 1)
    for op in ops:
        kind, key = op[0], op[1]
        cost = 3 * (len(key) if isinstance(key, bytes) else len(key.encode('utf-8'))) + _OP_OVERHEAD
        if kind != 'delete':  # a create or an update carries its value
            cost += len(op[2])
        guard = not (current and kind == 'create' and len(op) > 3 and op[3])
        if current and (len(current) >= max_ops or size + cost > budget or guards + guard > most_guards):
            out.append(current)
            current, size, guards, guard = [], 0, 0, True
        current.append(op)
        size += cost
        guards += guard
    if current:
        out.append(current)
    return out


def _ops_for(plan, manifest_op, current, group_ops=()):
    """Plan -> guarded operations: creates and updates first (by key), then deletes, then the
    per-group manifests (``group_ops``), the instance manifest last.

    Adding and changing routes before removing old ones means a router that reads between
    two transactions sees extra routes for a moment, never missing ones. A create that
    follows another with no key read between them is marked joined (see EtcdClient.txn).
    """
    creates, updates = plan.creates, plan.updates
    if creates:
        existing = sorted(current)
        position, previous, ops = 0, None, []
        # Keys are unique, and a key is either created or updated: sorting them sorts the writes.
        for key in sorted(chain(creates, updates)) if updates else sorted(creates):
            if key in updates:
                value, mod_revision = updates[key]
                ops.append(('update', key, value, mod_revision))
                previous = None
                continue
            while position < len(existing) and existing[position] < key:
                position += 1
            ops.append(('create', key, creates[key],
                        previous is not None and (position == 0 or existing[position - 1] < previous)))
            previous = key
    else:
        ops = [('update', key, value, mod_revision) for key, (value, mod_revision) in sorted(updates.items())]
    ops.extend(('delete', k, m) for k, m in sorted(plan.deletes.items()))
    ops.extend(group_ops)
    if manifest_op:
        ops.append(manifest_op)
    return ops


def _phase(batch, route_prefix):
    """Which batches may be in flight together (see _pipeline): 'write' when ``batch`` only
    creates or updates routes, 'delete' when it only deletes routes, None when it writes a
    manifest or mixes the two (it then goes alone, after everything before it)."""
    kinds = set('delete' if op[0] == 'delete' else 'write' for op in batch)
    if len(kinds) != 1 or not all(op[1].startswith(route_prefix) for op in batch):
        return None
    return kinds.pop()


def _manifest_op(key, new_bytes, stored, touch=False):
    """Write the manifest when its bytes change, and with ``touch`` (routes are written) also
    when they do not: its mod_revision then marks the end of the last sync that wrote, which
    lets the next one see in O(1) reads that nothing changed since."""
    if stored is None:
        return ('create', key, new_bytes)
    if stored[0] != new_bytes or touch:
        return ('update', key, new_bytes, stored[1])
    return None


def _decode_manifest(stored):
    if stored is None:
        return None
    try:
        value = json.loads(stored[0].decode('utf-8'))
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _quiet_since(client, prefix, mkey, count, manifest_ok, since=None):
    """The revision now, when the prefix holds ``count`` keys, the stored manifest passes
    ``manifest_ok((value, mod_revision) or None)``, and no key under the prefix was written
    after revision ``since`` (by default: the manifest's mod_revision); else None. Three
    small reads at one revision; None also when etcd compacted it between them."""
    try:
        now_count, now = client.count(prefix)
        if now_count != count:
            return None
        stored = client.get(mkey, revision=now)
        if not manifest_ok(stored):
            return None
        newer, _rev = client.count(prefix, min_mod_revision=(stored[1] if since is None else since) + 1,
                                   revision=now)
    except EtcdError as exc:
        if getattr(exc, 'grpc_code', None) == 'OUT_OF_RANGE':  # compacted between the reads
            return None
        raise
    return now if newer == 0 else None


def _unchanged_since_manifest(client, prefix, mkey, expected_manifest):
    """The revision at which etcd provably holds the routes of ``expected_manifest`` and
    that manifest, read in O(1) messages without a value; None when that cannot be shown
    (then values are compared).

    Every sync writes the manifest last, describing what the prefix then holds. So when the
    stored manifest is the expected one, no key under the prefix was created,
    edited or re-created after it (no mod_revision above the manifest's) and none was
    deleted (the count is the manifest's), the prefix still holds what the manifest
    describes. A manifest edited by hand moves its mod_revision and, unless it is byte for
    byte the expected one, fails the comparison.
    """
    expected = canonical_json(expected_manifest)
    return _quiet_since(client, prefix, mkey, expected_manifest['count'],
                        lambda stored: stored is not None and stored[0] == expected)


def _unchanged_since(client, prefix, mkey, found):
    """Whether the prefix still holds the keys ``found`` read, none of them written since its
    revision, and the manifest is still the one it read."""
    return _quiet_since(client, prefix, mkey, len(found.current), lambda stored: stored == found.stored,
                        since=found.revision) is not None


class _Progress:
    """What committed transactions did, across conflict retries."""

    def __init__(self, prefix):
        self.prefix = prefix  # route keys (bytes); the others written are manifests
        self.created, self.updated, self.deleted = set(), set(), set()
        self.manifest_written = False
        self.revision = None

    def record(self, ops, revision, mkey):
        for op in ops:
            if op[1] == mkey or not op[1].startswith(self.prefix):
                self.manifest_written = True
                continue
            api_id = item_id(op[1])
            if op[0] == 'create':
                self.created.add(api_id)
                self.deleted.discard(api_id)
            elif op[0] == 'update':
                if api_id not in self.created:
                    self.updated.add(api_id)
            else:
                self.deleted.add(api_id)
                self.created.discard(api_id)
                self.updated.discard(api_id)
        # Transactions of one phase may commit in any order: the last is the highest.
        self.revision = revision if self.revision is None else max(self.revision, revision)

    @property
    def changed(self):
        return bool(self.created or self.updated or self.deleted or self.manifest_written)

    def report(self):
        return {'changed': self.changed, 'created': sorted(self.created), 'updated': sorted(self.updated),
                'deleted': sorted(self.deleted), 'revision': self.revision}


class Found(namedtuple('Found', ['revision', 'current', 'stored', 'plan', 'manifest', 'manifest_op', 'ops'])):
    """What one read and plan of a sync found: the ``revision`` read, the ``current`` routes
    ({key bytes: (value, mod_revision)}), the ``stored`` manifest ((value, mod_revision) or
    None), the ``plan``, the ``manifest`` of the routes left once it is applied, the
    ``manifest_op`` that writes it (None: unchanged), and the guarded ``ops`` of it all."""

    __slots__ = ()


def _read_and_plan(client, prefix, mkey, desired, expected, prune, page_size, touch, scope=None, gprefix=None,
                   vouch=None):
    """Read what etcd holds under ``prefix`` and the manifest at ``mkey``, and plan turning
    them into ``desired`` ({key bytes: value}, whose manifest is ``expected``): a Found.
    ``touch``: the manifest op also rewrites the manifest whenever routes are written
    (see _manifest_op), as a sync does; inspecting only asks whether its bytes differ.

    With a ``scope`` the plan covers only the routes it holds (split_by_scope refuses a
    source id held by another group); the manifest still covers every route, the others as
    read. ``gprefix`` (a writing sync): the per-group manifests under it are kept right too.
    ``vouch`` (see sync()) is shown the routes the plan would delete.
    """
    revision, current = client.read_prefix(prefix, page_size)
    stored = client.get(mkey)
    inside, outside = current, None
    if scope is not None:
        inside, outside, groups = split_by_scope(current, desired, scope)
    plan = make_plan(desired, inside, prune, prefix=prefix)
    if vouch is not None and scope is not None and plan.deletes:
        vouch(_deleted_apis(plan, groups))
    after = routes_after(desired, inside, plan)
    if outside:
        after = dict(after)
        after.update((key, held[0]) for key, held in outside.items())
    new_manifest = expected if after is desired else manifest(after)
    new_bytes = canonical_json(new_manifest)
    group_ops = []
    # A whole-instance sync keeps the per-group manifests right only when it writes anyway:
    # without a scope, a sync with nothing to do stays a no-op.
    if gprefix is not None and (scope is not None or plan.changed or stored is None or stored[0] != new_bytes):
        group_ops = _group_manifest_ops(client, gprefix, after, scope, new_manifest['sha256'])
    # Written with the per-group manifests too: its new mod_revision tells a sync waiting for the
    # lock that they changed (it re-reads them).
    manifest_op = _manifest_op(mkey.encode('utf-8'), new_bytes, stored,
                               touch=touch and (plan.changed or bool(group_ops)))
    return Found(revision, current, stored, plan, new_manifest, manifest_op,
                 _ops_for(plan, manifest_op, current, group_ops))


def _deleted_apis(plan, groups):
    """{API id: (group_id, group_name) of its route in etcd} of the routes ``plan`` deletes; a stray
    key that holds no API id is no API's route and is left out."""
    deleted = {}
    for key in plan.deletes:
        try:
            deleted[api_id_of(key)] = groups[key]
        except ValueError:  # includes UnicodeDecodeError
            continue
    return deleted


def _group_manifest_ops(client, gprefix, after, scope, instance_sha256):
    """Guarded writes that make every per-group manifest under ``gprefix`` (those there, and one
    per group of ``scope``) describe the routes ``after`` the sync. Each one records the new
    instance manifest's digest: it proves its group's routes only while that digest is the
    instance's, so a writer that does not keep it (0.2.0, a hand edit) voids it, never fools it."""
    dummy, held = client.read_prefix(gprefix)
    entries = {}
    for key, value in held.items():
        entry = entry_of_key(key, gprefix)
        if entry is not None:
            entries[entry] = (key, value)
    for entry in (scope.groups if scope is not None else ()):
        entries.setdefault(entry, (group_manifest_key(gprefix, entry).encode('utf-8'), None))
    if not entries:
        return []
    groups = dict((key, group_of(value)) for key, value in after.items())
    ops = []
    for entry in sorted(entries):
        key, stored = entries[entry]
        value = group_manifest_bytes(after, groups, entry, instance_sha256)
        if stored is None:
            ops.append(('create', key, value))
        elif stored[0] != value:
            ops.append(('update', key, value, stored[1]))
    return ops


def _scope_unchanged(client, prefix, mkey, gprefix, desired, scope):
    """``(revision, instance manifest)`` when etcd provably holds ``desired`` ({key bytes: value})
    as the routes of ``scope``, read in a few small messages; None when that cannot be shown.

    The prefix is quiet since the instance manifest was written (as for a whole-instance no-op:
    its count, nothing newer), so it holds the routes that manifest's digest describes; each
    group of the scope has a manifest computed from those same routes (its instance_sha256 is
    that digest), and equal to the one of the desired routes of that group.
    """
    try:
        now_count, now = client.count(prefix)
        stored = client.get(mkey, revision=now)
        instance = _decode_manifest(stored)
        if instance is None or instance.get('count') != now_count or not isinstance(instance.get('sha256'), str):
            return None
        newer, dummy = client.count(prefix, min_mod_revision=stored[1] + 1, revision=now)
        if newer:
            return None
        groups = dict((key, group_of(value)) for key, value in desired.items())
        for entry in scope.groups:
            held = client.get(group_manifest_key(gprefix, entry), revision=now)
            if held is None or held[0] != group_manifest_bytes(desired, groups, entry, instance['sha256']):
                return None
    except EtcdError as exc:
        if getattr(exc, 'grpc_code', None) == 'OUT_OF_RANGE':  # compacted between the reads
            return None
        raise
    return now, instance


def sync(client, instance_id, desired, key_prefix='/apig/router', prune=True, allow_empty=False,
         max_txn_ops=ETCD_MAX_TXN_OPS, lock_timeout=30, check_mode=False, diff=False,
         max_conflict_retries=5, lock_ttl=LOCK_TTL, page_size=READ_PAGE_SIZE, scope=None, backup=None,
         vouch=None, txns_in_flight=TXNS_IN_FLIGHT):
    """Make etcd hold exactly ``desired`` ({route key: canonical bytes}, or a DesiredRoutes
    whose routes are built only when the manifest alone cannot show a no-op) for one instance.

    Returns the module's etcd-mode result: ``changed``, ``created``, ``updated``,
    ``deleted`` (sorted API ids), ``unchanged`` (int), ``revision``, ``manifest`` (the
    manifest of the routes left in etcd), ``msg``, and ``diff`` ({before, after}) when ``diff``.
    ``revision`` is that of the last committed transaction (the lock's release, one more
    revision, follows it), or the revision read when nothing was written.
    Raises ValidationError (an empty source that would delete routes, without
    ``allow_empty``), ConflictError (still conflicting after ``max_conflict_retries``
    re-plans) or EtcdError; those carry the applied part in their ``details``.

    ``scope`` (a sources._scope.Scope): only the routes of its groups are planned, written and
    pruned (the caller has checked that ``desired`` is all in it); the instance manifest still
    covers every route, and per-group manifests prove the next no-op of the scope.
    ``backup`` (a callable {key bytes: value bytes} -> path, and with ``path=`` to write that file
    again): called with the routes (of the scope) as they are, under the lock, before the first
    write that changes routes, and again after a re-plan; its path is ``backup_file``.
    ``vouch`` (with a scope; a callable {API id: (group_id, group_name) held in etcd} -> None): shown
    the routes each plan would delete before anything is written; it raises to refuse them
    (a listed source that finds such an API still alive, see sources._api_source.DeleteCheck).
    ``txns_in_flight``: route transactions sent before the earlier ones answered (1: one by one).
    """
    prefix = routes_prefix(key_prefix, instance_id)
    mkey = manifest_key(key_prefix, instance_id)
    gprefix = groups_prefix(key_prefix, instance_id)
    if not isinstance(max_txn_ops, int) or max_txn_ops < 1:
        raise ValidationError('max_txn_ops must be a positive integer, got %r' % (max_txn_ops,))
    desired = DesiredRoutes.of(desired)

    if scope is None:
        # Nothing changed since the last sync wrote the manifest: done in three small reads.
        expected = desired.manifest
        revision = _unchanged_since_manifest(client, prefix, mkey, expected)
    else:
        # The scope's routes are those its groups' manifests describe: a few more small reads.
        proven = _scope_unchanged(client, prefix, mkey, gprefix, as_bytes_keys(desired.routes()), scope)
        revision, expected = proven if proven is not None else (None, None)
    if revision is not None:
        counts = {'created': [], 'updated': [], 'deleted': [], 'unchanged': len(desired.routes()) if scope
                  else expected['count']}
        return _result(instance_id, counts, changed=False, revision=revision, new_manifest=expected,
                       check_mode=check_mode, diff={'before': {}, 'after': {}} if diff else None)

    # From here on the routes themselves (the planner refuses any key outside the prefix),
    # and their own manifest, not one a source remembered.
    run = _Sync(client, instance_id, prefix, mkey, desired, prune, allow_empty, page_size, scope, gprefix, vouch)
    # A first look without the lock: a sync with nothing to do (the common case) then
    # writes nothing at all, not even the lock key, and leaves the revision as it was.
    found = run.read_and_plan()
    if check_mode or not found.ops:
        result = _result(instance_id, summary(found.plan), changed=bool(found.ops), revision=found.revision,
                         new_manifest=found.manifest, check_mode=check_mode,
                         manifest_written=found.manifest_op is not None, diff=run.diff_of(found) if diff else None)
        if check_mode and found.plan.changed and backup is not None:
            result['msg'] += '; a backup of the %s would be written to %s' % (
                'scope\'s routes' if scope else 'routes', getattr(backup, 'where', 'the backup directory'))
        return result
    with client.lock(lock_key(key_prefix, instance_id), lock_ttl, lock_timeout) as lock:
        run.write(lock, max_txn_ops, max_conflict_retries, backup, txns_in_flight)
    return run.result(diff)


class _Sync:
    """The steps of one sync past its first check (see ``sync``): read and plan, write under
    the lock (re-planning on conflicts), report. ``found`` is the latest Found; ``progress``
    what committed transactions did; ``before`` the values they replaced."""

    def __init__(self, client, instance_id, prefix, mkey, desired, prune, allow_empty, page_size, scope=None,
                 gprefix=None, vouch=None):
        self.client, self.instance_id, self.prefix, self.mkey = client, instance_id, prefix, mkey
        self.scope, self.gprefix, self.vouch = scope, gprefix, vouch
        self.backup_file = None
        self.expected = desired.computed_manifest()
        self.desired = as_bytes_keys(desired.routes())  # keys as etcd has them: bytes
        self.prune, self.allow_empty, self.page_size = prune, allow_empty, page_size
        self.bmkey = mkey.encode('utf-8')
        self.found = None
        self.progress = _Progress(prefix.encode('utf-8'))
        self.before = {}  # key -> (value, mod_revision) as read before the write that committed
        self.created_keys = set()  # route keys this sync created (no value before it)
        self.backed_up = None  # the routes in backup_file

    def read_and_plan(self):
        found = _read_and_plan(self.client, self.prefix, self.mkey, self.desired, self.expected, self.prune,
                               self.page_size, touch=True, scope=self.scope, gprefix=self.gprefix, vouch=self.vouch)
        deletes = found.plan.deletes
        if not self.desired and deletes and not self.allow_empty:
            raise ValidationError(
                'the source has no routable (published) API for instance %s%s: the sync would delete '
                'all %d route(s) %s; set allow_empty to allow it'
                % (self.instance_id, ' in its scope' if self.scope else '', len(deletes),
                   'of the scope (groups: %s)' % ', '.join(self.scope.groups) if self.scope else 'in etcd'),
                would_delete=len(deletes))
        self.found = found
        return found

    def write(self, lock, max_txn_ops, max_conflict_retries, backup=None, txns_in_flight=TXNS_IN_FLIGHT):
        """Carry out the plan in guarded transactions under ``lock``; read and plan again on a
        conflict, at most ``max_conflict_retries`` times. An error carries what was applied.
        ``backup``: see sync() and _back_up()."""
        try:
            # The first look may predate another sync. Read every value again only when
            # something under the prefix or the manifest changed since (three small reads).
            if not _unchanged_since(self.client, self.prefix, self.mkey, self.found):
                self.read_and_plan()
            retries = 0
            while True:
                if backup is not None:
                    self._back_up(backup)
                try:
                    return self._commit(lock, max_txn_ops, txns_in_flight)
                except ConflictError as exc:
                    retries += 1
                    if retries > max_conflict_retries:
                        raise ConflictError(
                            'instance %s: etcd keys kept changing concurrently; gave up after %d re-plans '
                            '(max_conflict_retries). Last conflicting keys: %s'
                            % (self.instance_id, max_conflict_retries, ', '.join(exc.keys[:10])), exc.keys)
                self.read_and_plan()
        except ApigwRouterError as exc:  # an etcd error, or a re-plan refused (see vouch): what was applied
            if self.backup_file is not None:
                exc.details['backup_file'] = self.backup_file
            if self.progress.revision is not None and not isinstance(exc, EtcdError):
                # A refusal says what it kept from being written; an earlier plan's writes stand.
                exc.msg = exc.msg.replace('Nothing was written', 'This plan was not carried out').replace(
                    'nothing was written', 'this plan was not carried out')
                exc.msg += ('. An earlier plan of this sync had already been applied (created %d, updated %d, '
                            'deleted %d route(s); see created, updated and deleted)'
                            % (len(self.progress.created), len(self.progress.updated), len(self.progress.deleted)))
            if self.progress.revision is not None:
                exc.details.update(self.progress.report())
                exc.details['manifest'] = (self.found.manifest if self.progress.manifest_written else
                                           _decode_manifest(self.found.stored))
            raise

    def _back_up(self, backup):
        """Writes the routes as they were before this sync, before a plan that changes routes is
        carried out (rewriting the per-group manifests alone changes no route). After a conflict,
        the re-read routes hold what this sync committed and what another writer changed: the
        backup is written again, with the values this sync replaced put back and the routes it
        created left out, so that it still restores the instance to just before this sync."""
        if self.backup_file is None and not self.found.plan.changed:
            return
        routes = self.routes_in_scope(self.found.current)
        for key in self.created_keys:
            routes.pop(key, None)
        routes.update((key, held[0]) for key, held in self.before.items())
        if self.backup_file is None:
            self.backup_file = backup(routes)
        elif routes != self.backed_up:
            backup(routes, path=self.backup_file)
        self.backed_up = routes

    def _commit(self, lock, max_txn_ops, txns_in_flight):
        def send(batch):
            if lock.lost:  # seen by the keep-alive: spare the refused transaction
                raise lock.lost_error()
            # Conditional on the lock too: a sync paused past its lease writes nothing more.
            return self.client.txn(batch, lock=lock)

        route_prefix = self.progress.prefix
        send_in_order(batches(self.found.ops, max_txn_ops), send, lambda batch: _phase(batch, route_prefix),
                      self._committed, txns_in_flight)

    def _committed(self, batch, revision):
        """Records what a committed transaction did (in batch order, in the sync's thread)."""
        current = self.found.current
        for op in batch:
            if op[1] in self.created_keys:  # created by an earlier plan: it had no value before
                continue
            if op[1] in current:
                self.before.setdefault(op[1], current[op[1]])
            elif op[1].startswith(self.progress.prefix) and op[1] not in self.before:
                self.created_keys.add(op[1])
        self.progress.record(batch, revision, self.bmkey)

    def routes_in_scope(self, current):
        """{key: value} of the ``current`` routes that the sync owns (all of them without a scope)."""
        return dict((key, held[0]) for key, held in current.items()
                    if self.scope is None or self.scope.holds(group_of(held[0])))

    def diff_of(self, found):
        """The diff of ``found``'s plan, not applied (check mode, or nothing to write)."""
        return _diff(found.plan, found.current, self.desired, self.mkey, found.manifest_op is not None,
                     found.stored, found.manifest)

    def result(self, diff):
        """The result of the committed writes."""
        progress, found, desired = self.progress, self.found, self.desired
        counts = progress.report()
        counts['unchanged'] = len(desired) - len(progress.created) - len(progress.updated)
        done = None
        if diff:
            # The plan that the committed writes carried out, against the values they replaced.
            done = _diff(
                Plan(dict((k, desired[k]) for k in desired if item_id(k) in progress.created),
                     dict((k, (desired[k], 0)) for k in desired if item_id(k) in progress.updated),
                     dict((k, 0) for k in self.before if k != self.bmkey and item_id(k) in progress.deleted),
                     counts['unchanged']),
                self.before, desired, self.mkey, progress.manifest_written, found.stored, found.manifest)
        result = _result(self.instance_id, counts, changed=progress.changed,
                         revision=progress.revision if progress.revision is not None else found.revision,
                         new_manifest=found.manifest, manifest_written=progress.manifest_written, diff=done)
        if self.backup_file is not None:
            result['backup_file'] = self.backup_file
            result['msg'] += '; backup in %s' % self.backup_file
        return result


def routes_after(desired, current, plan):
    """The routes the prefix holds once ``plan`` is applied: ``desired`` plus, without prune,
    the routes the source lacks. The manifest describes these, since the router checks
    what it reads against it."""
    kept = dict((k, v[0]) for k, v in current.items() if k not in desired and k not in plan.deletes)
    if not kept:
        return desired
    kept.update(desired)
    return kept


def _diff(plan, current, desired, mkey, manifest_changed, stored_manifest, new_manifest):
    """render_diff() of the routes, plus the manifest under its key when it changes."""
    out = render_diff(plan, current, desired)
    if manifest_changed and (stored_manifest is None or stored_manifest[0] != canonical_json(new_manifest)):
        if stored_manifest is not None:
            out['before'][mkey] = _decode_manifest(stored_manifest) or stored_manifest[0].decode('utf-8', 'replace')
        out['after'][mkey] = new_manifest
    return out


def _result(instance_id, counts, *, changed, revision, new_manifest, check_mode=False, manifest_written=False,
            diff=None):
    """The module's result: ``counts`` (created, updated, deleted, unchanged), the rest as named."""
    result = {
        'changed': changed,
        'created': counts['created'],
        'updated': counts['updated'],
        'deleted': counts['deleted'],
        'unchanged': counts['unchanged'],
        'revision': revision,
        'manifest': new_manifest,
    }
    verb = 'would be ' if check_mode else ''
    text = 'instance %s: %s' % (instance_id, ', '.join(
        '%d %s%s' % (len(result[k]), verb, k) for k in ('created', 'updated', 'deleted')))
    text += ', %d unchanged' % result['unchanged']
    if manifest_written and not (result['created'] or result['updated'] or result['deleted']):
        text += ', manifest %srewritten' % verb
    result['msg'] = '%s%s (etcd revision %d)' % ('check mode: ' if check_mode else '', text, revision)
    if diff is not None:
        result['diff'] = diff
    return result


def inspect(client, instance_id, key_prefix='/apig/router', desired=None, prune=True, records=False,
            page_size=READ_PAGE_SIZE, scope=None, export=None, vouch=None):
    """What etcd holds for one instance (read-only).

    Returns ``count``, ``manifest`` (the stored one, decoded; None when absent or not JSON),
    ``revision``; ``routes`` (decoded records, by key) when ``records``; and with
    ``desired``: ``in_sync`` and ``drift`` ({create, update, delete}: API ids, what a sync
    with ``prune`` would do; ``in_sync`` also requires the stored manifest to match).

    With ``scope``, ``count``, ``routes`` and ``drift`` are those of the scope's routes only
    (``manifest`` is still the instance's). ``export`` (a callable {key bytes: value bytes} ->
    path) is given the routes read (of the scope), and its path is returned as ``dest``.
    ``vouch``: as in sync(); a drift that a sync would refuse to prune fails the same way.
    """
    prefix = routes_prefix(key_prefix, instance_id)
    mkey = manifest_key(key_prefix, instance_id)
    found = None  # the plan of a sync to ``desired``
    if desired is not None:
        desired = DesiredRoutes.of(desired)
        if not records and scope is None and export is None:
            expected = desired.manifest
            revision = _unchanged_since_manifest(client, prefix, mkey, expected)
            if revision is not None:
                return {'count': expected['count'], 'manifest': expected, 'revision': revision,
                        'drift': {'create': [], 'update': [], 'delete': []}, 'in_sync': True,
                        'manifest_in_sync': True}
        expected = desired.computed_manifest()  # the routes' own (the source's cache learns it too)
        found = _read_and_plan(client, prefix, mkey, as_bytes_keys(desired.routes()), expected, prune, page_size,
                               touch=False, scope=scope, vouch=vouch)
        revision, current, stored = found.revision, found.current, found.stored
    else:
        revision, current = client.read_prefix(prefix, page_size)
        stored = client.get(mkey)
    if scope is not None:
        current = dict((key, held) for key, held in current.items() if scope.holds(group_of(held[0])))
    result = {'count': len(current), 'manifest': _decode_manifest(stored), 'revision': revision}
    if export is not None:
        result['dest'] = export(dict((key, held[0]) for key, held in current.items()))
    if records:
        routes = []
        for key in sorted(current):
            try:
                routes.append(json.loads(current[key][0].decode('utf-8')))
            except ValueError:
                routes.append({'key': key_text(key), 'invalid': True,
                               'value': current[key][0][:256].decode('utf-8', 'replace')})
        result['routes'] = routes
    if found is not None:
        s = summary(found.plan)
        result['drift'] = {'create': s['created'], 'update': s['updated'], 'delete': s['deleted']}
        manifest_ok = found.manifest_op is None
        result['in_sync'] = not found.plan.changed and manifest_ok
        result['manifest_in_sync'] = manifest_ok
    return result
