# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Inputs of the route-record golden corpus, generated deterministically.

``valid_cases()`` and ``malformed_cases()`` always give the same API resources (a fixed
seed, no hash-ordered containers). What 0.1.0's ``_routes`` made of them (record bytes,
manifests, error messages) is frozen in ``expected.json.gz`` beside this file; the test
compares today's code with that file, never with itself. Each frozen case carries a
digest of its input, so a changed generator is noticed instead of silently re-pairing
inputs with other outputs.

``python corpus.py --freeze OUT`` writes the expected file from the ``_routes`` importable
now. It was run once, on the code before the single record builder; run it again only
when the record contract itself changes (and every deployed route with it).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import collections
import gzip
import hashlib
import json
import random
import sys

SEED = "apigw.router golden corpus 1"
METHODS = ("GET", "POST", "PUT", "DELETE", "HEAD", "PATCH", "OPTIONS", "ANY")
ID_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
ID_TAIL = ID_CHARS + "_-"
MAX_FIELD_BYTES = 64 * 1024
MAX_URI_BYTES = 8 * 1024
INT_MAX = 2 ** 63 - 1
INT_MIN = -(2 ** 63)

# (key_prefix, instance_id) pairs the manifests are computed under.
PLACES = (("/apig/router", "inst-1"), ("/apig/router/", "i"), ("/a", "0"), ("/x/y.z", "I_" + "9" * 62))


class MyInt(int):
    """An int subclass: accepted as an int today."""


class MyStr(str):
    """A str subclass: accepted as a string today."""


class MyDict(dict):
    """A dict subclass: accepted as a resource or a backend today."""


UNICODE_NAMES = (
    u"用户列表", u"é", u"naïve café", u"Ελληνικά", u"Русский", u"العربية", u"עברית", u"हिन्दी",
    u"\U0001F600 smile", u"\U0001F468\u200D\U0001F469\u200D\U0001F467", u"e\u0301", u"\u2028\u2029",
    u"\x85 next line", u"\ufeffbom", u"\uffff", u"\U0010FFFF", u"tab\there", u"new\nline", u"nul\x00",
    u"del\x7f", u'quote"back\\slash', u"/slash", u"</script>", u"a|b", u"  spaced  ", u"", u"0",
    u"\u00a0nbsp", u"\u3000ideographic space", u"mixed 中文 and English",
)
URIS = (
    u"/", u"/users/{id}", u"/a/b/{c+}", u"/用户/{id}", u"/%E4%B8%AD", u"/a b", u"/\x85", u"/\u2028",
    u"/\U0001F600/x", u"/v1/items?sort=asc", u"/a//b", u"/../x", u"/ä/ö/ü", u"/{proxy+}", u"/#frag",
    u"/'quote'", u'/"dq"', u"/back\\slash", u"/\u00a0", u"/e\u0301",
)
INT_VALUES = (0, 1, 2, -1, INT_MAX, INT_MIN, "0", "+0", "-0", "1", "+1", "-1", " 2 ", "\t5\n", "0007",
              "9223372036854775807", "-9223372036854775808", "+9223372036854775807", 2.0, -0.0, 1e18,
              MyInt(3), u"\u2003 12 \u2003", 10 ** 18, -(10 ** 18))
PROTOCOLS = ("HTTP", "HTTPS", "BOTH", "GRPCS", "", u"ＨＴＴＰ")
MATCH_MODES = ("NORMAL", "SWA", "", "exotic")
AUTH_TYPES = ("NONE", "APP", "IAM", "AUTHORIZER", "")
BACKEND_TYPES = ("HTTP", "FUNCTION", "MOCK", "GRPC", "")
DOMAINS = (u"10.0.0.8:8080", u"backend.example.com", u"ünï.example:443", u"[::1]:80", u"", u"a" * 200)


class Gen(object):
    def __init__(self, seed=SEED):
        self.rng = random.Random(seed)
        self.used = set()

    def ident(self, unique=True):
        rng = self.rng
        while True:
            shape = rng.random()
            if shape < 0.5:
                value = "%032x" % rng.getrandbits(128)
            elif shape < 0.55:
                value = rng.choice(ID_CHARS)
            elif shape < 0.6:
                value = rng.choice(ID_CHARS) + "".join(rng.choice(ID_TAIL) for dummy in range(63))
            else:
                value = rng.choice(ID_CHARS) + "".join(rng.choice(ID_TAIL) for dummy in range(rng.randint(0, 30)))
            if not unique or value not in self.used:
                self.used.add(value)
                return value

    def env_id(self):
        return self.ident(unique=False)

    def text(self):
        rng = self.rng
        r = rng.random()
        if r < 0.4:
            return rng.choice(UNICODE_NAMES)
        if r < 0.8:
            return "api_%d" % rng.randint(0, 10 ** 6)
        return u"".join(rng.choice(u"abcXYZ_-. 中é\U0001F600\n\"\\") for dummy in range(rng.randint(0, 12)))

    def uri(self):
        rng = self.rng
        if rng.random() < 0.5:
            return rng.choice(URIS)
        return u"/" + u"/".join(rng.choice((u"v1", u"users", u"{id}", u"中", u"a-b", u"x_y", u"é"))
                                for dummy in range(rng.randint(0, 5)))

    def maybe_str(self, value):
        return MyStr(value) if self.rng.random() < 0.03 else value

    def envs(self, api):
        rng = self.rng
        count = rng.choice((1, 1, 1, 2, 2, 3, 4))
        ids = []
        while len(ids) < count:
            candidate = self.env_id() if rng.random() < 0.7 else rng.choice(
                ("DEFAULT_ENVIRONMENT_RELEASE_ID", "e1", "e2", "Z", "a", "0", "TEST_ENV"))
            if candidate not in ids:
                ids.append(candidate)
        api["run_env_id"] = self.maybe_str("|".join(ids))
        for field, part in (("run_env_name", self.env_name), ("publish_id", lambda: "%032x" % rng.getrandbits(128))):
            r = rng.random()
            if r < 0.1:
                continue  # absent
            if r < 0.15:
                api[field] = None
            elif r < 0.2:
                api[field] = ""
            else:
                parts = [part() for dummy in ids]
                if rng.random() < 0.1:
                    parts[rng.randrange(len(parts))] = ""
                api[field] = "|".join(parts)

    def env_name(self):
        return self.rng.choice((u"RELEASE", u"TEST", u"生产", u"pré-prod", u"\U0001F680", u"x y", u"", u"DEV"))

    def backend(self):
        rng = self.rng
        r = rng.random()
        if r < 0.05:
            return {}
        if r < 0.1:
            return {"vpc_channel_status": 1, "enable_client_ssl": False}
        fields = {
            "req_protocol": lambda: rng.choice(PROTOCOLS),
            "req_method": lambda: rng.choice(METHODS),
            "req_uri": self.uri,
            "url_domain": lambda: rng.choice(DOMAINS),
            "timeout": lambda: rng.choice(INT_VALUES + (5000, "5000", 60000)),
            "retry_count": lambda: rng.choice(("-1", "0", "3", "+2", " 10 ", -1, 0, 3, 2.0)),
        }
        out = MyDict() if rng.random() < 0.03 else {}
        for name in sorted(fields) if rng.random() < 0.5 else list(reversed(sorted(fields))):
            r = rng.random()
            if r < 0.7:
                out[name] = fields[name]()
            elif r < 0.8:
                out[name] = None
        out["vpc_channel_status"] = rng.choice((1, 2))
        return out

    def api(self, published=True):
        rng = self.rng
        item = {"id": self.maybe_str(self.ident())}
        optional = [
            ("name", self.text),
            ("type", lambda: rng.choice(INT_VALUES)),
            ("version", lambda: "V0.0.%d" % rng.randint(0, 9)),
            ("req_protocol", lambda: rng.choice(PROTOCOLS)),
            ("req_method", lambda: rng.choice(METHODS)),
            ("req_uri", self.uri),
            ("match_mode", lambda: rng.choice(MATCH_MODES)),
            ("auth_type", lambda: rng.choice(AUTH_TYPES)),
            ("cors", lambda: rng.random() < 0.5),
            ("backend_type", lambda: rng.choice(BACKEND_TYPES)),
            ("group_id", lambda: "%032x" % rng.getrandbits(128)),
            ("group_name", self.text),
            ("status", lambda: 1),
            ("register_time", lambda: "2020-08-03T12:30:00Z"),
            ("tags", lambda: ["a", u"中"]),
            ("req_params", lambda: [{"name": "id", "location": "PATH"}]),
            ("backend_api", self.backend),
        ]
        rng.shuffle(optional)
        for name, make in optional:
            r = rng.random()
            required = published and name in ("req_method", "req_uri")
            if r < 0.8 or required:
                item[name] = make()
                if isinstance(item[name], str) and name in ("name", "group_name", "req_protocol"):
                    item[name] = self.maybe_str(item[name])
            elif r < 0.9:
                item[name] = None
        if published:
            self.envs(item)
        else:
            r = rng.random()
            if r < 0.3:
                item["run_env_id"] = ""
            elif r < 0.6:
                item["run_env_id"] = None
            # unpublished: the other publication fields are not looked at
            if rng.random() < 0.5:
                item["run_env_name"] = rng.choice((5, u"RELEASE|TEST", ["x"], "", None))
            if rng.random() < 0.5:
                item["publish_id"] = rng.choice((7, u"p1|p2|p3", {"a": 1}, ""))
        if rng.random() < 0.03:
            item = MyDict(item)
        elif rng.random() < 0.03:
            item = collections.OrderedDict(sorted(item.items()))
        return item


def base_api(api_id):
    """The realistic ListApisV2 item of the unit tests, under another id."""
    return {
        "id": api_id, "name": "list_users", "type": 1, "version": "V0.0.1", "req_protocol": "HTTPS",
        "req_method": "GET", "req_uri": "/users/{id}", "match_mode": "NORMAL", "auth_type": "APP",
        "cors": False, "backend_type": "HTTP", "group_id": "c77f5e81d9cb4424bf704ef2b0ac7600",
        "group_name": "users", "status": 1, "register_time": "2020-08-03T12:30:00Z",
        "run_env_id": "DEFAULT_ENVIRONMENT_RELEASE_ID", "run_env_name": "RELEASE",
        "publish_id": "9a5d2cbfe2b84c3d9b6ea0b2e8f0a1aa", "tags": ["a"],
        "backend_api": {"req_protocol": "HTTP", "req_method": "GET", "req_uri": "/v1/users/{id}",
                        "url_domain": "10.0.0.8:8080", "timeout": 5000, "retry_count": "-1",
                        "vpc_channel_status": 2},
    }


OPTIONAL_FIELDS = ("name", "type", "req_protocol", "match_mode", "auth_type", "cors", "backend_type",
                   "group_id", "group_name", "run_env_name", "publish_id", "backend_api")
BACKEND_FIELDS = ("req_protocol", "req_method", "req_uri", "url_domain", "timeout", "retry_count")


def handmade_valid(gen):
    """Every optional field absent (and null) in turn, limits, and exotic-but-valid values."""
    items = []
    for field in OPTIONAL_FIELDS:
        for how in ("absent", "null"):
            item = base_api(gen.ident())
            if how == "absent":
                del item[field]
            else:
                item[field] = None
            items.append(item)
    for field in BACKEND_FIELDS:
        for how in ("absent", "null"):
            item = base_api(gen.ident())
            if how == "absent":
                del item["backend_api"][field]
            else:
                item["backend_api"][field] = None
            items.append(item)
    # every optional field absent at once; the bare minimum of a published API
    minimal = {"id": gen.ident(), "req_method": "GET", "req_uri": "/", "run_env_id": "e1"}
    items.append(minimal)
    # unpublished APIs need neither method nor uri, and their publication fields are not read
    items.append({"id": gen.ident()})
    items.append({"id": gen.ident(), "run_env_id": ""})
    items.append({"id": gen.ident(), "run_env_id": None, "run_env_name": 5, "publish_id": [1]})
    items.append({"id": gen.ident(), "run_env_id": "", "req_method": "ANY", "req_uri": "/x",
                  "backend_api": {"timeout": "7"}})
    # edge integers
    for value in INT_VALUES:
        items.append(dict(base_api(gen.ident()), type=value))
        item = base_api(gen.ident())
        item["backend_api"]["timeout"] = value
        item["backend_api"]["retry_count"] = value
        items.append(item)
    # limits, inclusive
    items.append(dict(base_api(gen.ident()), req_uri="/" + "u" * (MAX_URI_BYTES - 1)))
    items.append(dict(base_api(gen.ident()), name=u"é" * (MAX_FIELD_BYTES // 2)))
    items.append(dict(base_api(gen.ident()), group_name="g" * MAX_FIELD_BYTES))
    item = base_api(gen.ident())
    item["backend_api"]["req_uri"] = u"/" + u"中" * ((MAX_URI_BYTES - 1) // 3)
    items.append(item)
    items.append(dict(base_api(gen.ident()), run_env_id="e|" + "x" * 64, run_env_name="A|B", publish_id="|"))
    # every method, unicode everywhere, many environments, unsorted environments
    for method in METHODS:
        item = base_api(gen.ident())
        item["req_method"] = method
        item["backend_api"]["req_method"] = method
        items.append(item)
    for text in UNICODE_NAMES:
        items.append(dict(base_api(gen.ident()), name=text, group_name=text, auth_type=text))
    for uri in URIS:
        item = dict(base_api(gen.ident()), req_uri=uri)
        item["backend_api"] = dict(item["backend_api"], req_uri=uri)
        items.append(item)
    envs = ["z%d" % i for i in range(30, 0, -1)]
    items.append(dict(base_api(gen.ident()), run_env_id="|".join(envs),
                      run_env_name="|".join(u"名%d" % i for i in range(30)),
                      publish_id="|".join("p%d" % i for i in range(30))))
    items.append(dict(base_api(gen.ident()), run_env_id="b|A|a|B|0|x_", run_env_name="|||||",
                      publish_id=None))
    items.append(dict(base_api(gen.ident()), cors=True))
    items.append(dict(base_api(gen.ident()), backend_api={}))
    items.append(dict(base_api(gen.ident()), backend_api=MyDict(url_domain="d")))
    items.append(collections.OrderedDict(reversed(list(base_api(gen.ident()).items()))))
    items.append(MyDict(base_api(MyStr(gen.ident()))))
    items.append(dict(base_api(gen.ident()), name=MyStr(u"sub"), run_env_id=MyStr("e1|e2"),
                      run_env_name=MyStr("A|B"), publish_id=MyStr("1|2"), req_method=MyStr("PUT"),
                      req_uri=MyStr("/sub")))
    return items


def valid_cases():
    """[(name, apis)]: every item valid; at least 2,000 items with distinct ids in all."""
    gen = Gen()
    items = handmade_valid(gen)
    for index in range(2000):
        items.append(gen.api(published=gen.rng.random() < 0.85))
    cases = []
    start = 0
    number = 0
    while start < len(items):
        size = gen.rng.choice((1, 1, 2, 3, 5, 8, 13, 21, 34, 55))
        batch = items[start:start + size]
        cases.append(("batch-%03d" % number, tuple(batch) if number % 7 == 3 else batch))
        start += size
        number += 1
    cases.append(("empty", []))
    cases.append(("everything", items))
    return cases


def bad_values():
    """[(field, bad value)] for one field of a published API resource."""
    long_text = "n" * (MAX_FIELD_BYTES + 1)
    long_uri = "/" + "u" * MAX_URI_BYTES
    return [
        ("id", None), ("id", ""), ("id", "a/b"), ("id", "../x"), ("id", "-a"), ("id", "_a"), ("id", "a" * 65),
        ("id", "a\n"), ("id", "a b"), ("id", u"é"), ("id", 12), ("id", ["a"]), ("id", {"a": 1}), ("id", True),
        ("id", 1.5), ("id", "x" * 100), ("id", u"\ud800"),
        ("name", long_text), ("name", u"\ud800"), ("name", u"ok\udfff"), ("name", 5), ("name", True),
        ("name", b"bytes"), ("name", ["a"]), ("name", 2 ** 200), ("name", 1e300),
        ("name", u"é" * (MAX_FIELD_BYTES // 2) + u"x"),
        ("group_id", {"a": 1}), ("group_name", 0), ("req_protocol", []), ("match_mode", True),
        ("auth_type", 3.5), ("backend_type", ()),
        ("req_method", "get"), ("req_method", "CONNECT"), ("req_method", ""), ("req_method", 1),
        ("req_method", u"GET\u200b"), ("req_method", " GET"), ("req_method", ["GET"]), ("req_method", u"\ud800"),
        ("req_uri", "users"), ("req_uri", ""), ("req_uri", ["/a"]), ("req_uri", "/a\x00b"), ("req_uri", "/a\nb"),
        ("req_uri", "/a\x7f"), ("req_uri", "/a\tb"), ("req_uri", long_uri), ("req_uri", u"/\ud800"),
        ("req_uri", "x" * 50), ("req_uri", 7), ("req_uri", u"/" + u"é" * (MAX_URI_BYTES // 2)),
        ("type", "public"), ("type", True), ("type", False), ("type", 1.5), ("type", 2 ** 63), ("type", 2 ** 64),
        ("type", -(2 ** 63) - 1), ("type", float("inf")), ("type", float("nan")), ("type", "0x10"),
        ("type", "1.0"), ("type", "1 2"), ("type", "99999999999999999999"), ("type", "9223372036854775808"),
        ("type", u"١٢"), ("type", ""), ("type", []), ("type", 1e19), ("type", "++1"),
        ("cors", "true"), ("cors", 1), ("cors", 0), ("cors", "false"), ("cors", []),
        ("run_env_id", 5), ("run_env_id", True), ("run_env_id", ["e1"]), ("run_env_id", "e 1"),
        ("run_env_id", "|"), ("run_env_id", "e1|"), ("run_env_id", u"\ud800"), ("run_env_id", "x" * 65),
        ("run_env_id", "e1|e1"), ("run_env_id", "a/b"),
        ("run_env_name", ["RELEASE"]), ("run_env_name", "A|B"), ("run_env_name", 5), ("run_env_name", long_text),
        ("publish_id", 7), ("publish_id", "p|q|r"), ("publish_id", u"\ud800"),
        ("backend_api", "http://x"), ("backend_api", []), ("backend_api", 0), ("backend_api", True),
        ("backend_api", {"req_method": "FETCH"}), ("backend_api", {"req_method": None, "req_uri": "v1"}),
        ("backend_api", {"req_uri": "/" + "u" * MAX_URI_BYTES}), ("backend_api", {"url_domain": 8080}),
        ("backend_api", {"timeout": "soon"}), ("backend_api", {"retry_count": [1]}),
        ("backend_api", {"timeout": True}), ("backend_api", {"retry_count": 2 ** 70}),
        ("backend_api", {"req_protocol": 1, "req_method": 2, "req_uri": 3, "url_domain": 4, "timeout": "a",
                         "retry_count": "b"}),
        ("backend_api", {"req_uri": "/a\x01"}), ("backend_api", {"url_domain": long_text}),
        ("backend_api", {"req_protocol": u"\ud800"}),
    ]


def malformed_cases():
    """[(name, apis)]: each refused today with a ValidationError."""
    gen = Gen(SEED + " malformed")
    rng = gen.rng
    cases = []
    # one bad field of a realistic item, alone in the list
    for number, (field, value) in enumerate(bad_values()):
        item = base_api("a%d" % number if field != "id" else "x")
        if value is None:
            del item[field]
        else:
            item[field] = value
        cases.append(("field-%03d-%s" % (number, field), [item]))
    # problems in several fields at once, in one or several items
    for number in range(150):
        items = []
        for dummy in range(rng.choice((1, 1, 2, 3, 7))):
            item = gen.api(published=rng.random() < 0.8)
            # Subclasses too become plain dicts here: the exact type is the point.
            if type(item) is not dict:  # pylint: disable=unidiomatic-typecheck
                item = dict(item)
            for field, value in rng.sample(bad_values(), rng.choice((1, 2, 3))):
                if value is None:
                    item.pop(field, None)
                else:
                    item[field] = value
            items.append(item)
        # the odd valid item among bad ones
        if rng.random() < 0.3:
            items.insert(rng.randrange(len(items) + 1), gen.api())
        cases.append(("mixed-%03d" % number, items))
    # non-dict items and lists that are not lists
    for number, item in enumerate(("abc", None, [{"id": "a"}], 5, 1.5, True, (), b"x", collections.OrderedDict)):
        cases.append(("not-a-dict-%02d" % number, [base_api("ok"), item]))
        cases.append(("not-a-dict-alone-%02d" % number, [item]))
    for number, apis in enumerate((None, "abc", {"apis": []}, 5, {"id": "a"}, set(), b"[]", 2 ** 100,
                                   "x" * 100, frozenset(), iter([]))):
        if number == 10:
            continue  # an iterator's repr holds its address
        cases.append(("not-a-list-%02d" % number, apis))
    # duplicates
    cases.append(("duplicate-2", [base_api("a1"), base_api("b2"), dict(base_api("a1"), run_env_id="")]))
    cases.append(("duplicate-3", [base_api("a1"), base_api("a1"), base_api("a1")]))
    cases.append(("duplicate-bad-item", [dict(base_api("a1"), req_uri="x"), dict(base_api("a1"), type="t")]))
    cases.append(("duplicate-after-bad-id", [base_api("a1"), dict(base_api("a1/")), base_api("a1")]))
    cases.append(("duplicate-unpublished", [{"id": "u"}, {"id": "u", "run_env_id": None}]))
    cases.append(("duplicate-substr", [base_api("d"), MyDict(base_api(MyStr("d")))]))
    # counts: exactly 5, 6, more than 50 problems
    cases.append(("five-problems", [dict(base_api("i%d" % i), req_uri="bad") for i in range(5)]))
    cases.append(("six-problems", [dict(base_api("i%d" % i), req_uri="bad") for i in range(6)]))
    cases.append(("many-problems", [dict(base_api("i%d" % i), req_uri="bad", type="t") for i in range(40)]))
    cases.append(("one-bad-among-good", [base_api("a%d" % i) for i in range(100)]
                  + [dict(base_api("bad"), req_method="FETCH")]))
    return cases


def digest(apis):
    """A digest of an input case, to notice a changed generator."""
    return hashlib.sha256(repr(apis).encode("utf-8", "backslashreplace")).hexdigest()


def freeze(out):
    """Write what the importable ``_routes`` makes of the corpus to ``out`` (gzip'd JSON lines)."""
    from ansible_collections.apigw.router.plugins.module_utils.sources import _routes
    from ansible_collections.apigw.router.plugins.module_utils.common._errors import ValidationError
    from apigw_support.routes import desired_routes, route_record

    lines = []
    total = 0
    for name, apis in valid_cases():
        records = _routes.build_records(apis)
        total += len(apis)
        manifests = []
        for key_prefix, instance_id in PLACES:
            routes = desired_routes(apis, key_prefix, instance_id)
            manifests.append(_routes.canonical_json(_routes.manifest(routes)).decode("ascii"))
        # route_record(item): None when unpublished, else the same bytes as the item's record
        single = []
        for item in apis:
            record = route_record(item)
            single.append(record is not None)
            assert record is None or _routes.canonical_json(record) == records[item["id"]]
        if name == "everything":
            # the union of the batches' records, which are frozen already: not stored twice
            union = {}
            for line in lines:
                union.update(line["records"])
            assert dict((k, v.decode("utf-8")) for k, v in records.items()) == union
            records = None
        else:
            records = dict((k, v.decode("utf-8")) for k, v in records.items())
        lines.append({"kind": "valid", "name": name, "input": digest(apis), "records": records,
                      "manifests": manifests, "route_record": single})
    bad = 0
    for name, apis in malformed_cases():
        error = None
        try:
            _routes.build_records(apis)
        except ValidationError as e:
            error = {"msg": e.msg, "details": e.details}
        else:
            raise AssertionError("%s was accepted" % name)
        single = None
        if isinstance(apis, list) and len(apis) == 1:
            try:
                route_record(apis[0])
            except ValidationError as e:
                single = {"msg": e.msg, "details": e.details}
        bad += len(apis) if isinstance(apis, list) else 1
        lines.append({"kind": "malformed", "name": name, "input": digest(apis), "error": error,
                      "route_record": single})
    data = "".join(json.dumps(line, sort_keys=True, ensure_ascii=True) + "\n" for line in lines)
    with open(out, "wb") as f:
        # mtime 0: the same corpus gives the same file
        with gzip.GzipFile(filename="", mode="wb", fileobj=f, mtime=0) as z:
            z.write(data.encode("ascii"))
    print("%d valid items, %d malformed cases (%d items), %s" % (
        total // 2, sum(1 for line in lines if line["kind"] == "malformed"), bad, out))


def load(path):
    with gzip.open(path, "rb") as f:
        return [json.loads(line) for line in f.read().decode("ascii").splitlines()]


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] != "--freeze":
        sys.exit("usage: corpus.py --freeze OUT")
    freeze(sys.argv[2])
