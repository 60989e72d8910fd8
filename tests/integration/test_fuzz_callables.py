"""Bad input, generated: about 300 payloads per callable through the real views.

Wrong types, huge strings, deep nesting, Unicode edge cases (lone surrogates, NUL, bidi
controls, combining marks, astral characters), other users' ids and cursors, malformed bodies.
Every hand-picked edge value, huge size and malformed body is sent in every run as an explicit
example (in each field of the request, and as the whole of `data`); generated payloads mix them
with the rest. The generation is derandomized, so every run sends the same payloads and a
failure found once is found again.
Every call runs in-process (Flask test client on the functions server app) against the emulator
stack, with a fresh uid per example. Never `INTERNAL`; a rejected call writes nothing: no billed
write in its metering, and at the end no document anywhere that is not owned by a uid whose call
was accepted (or by the victim account seeded first, which must stay exactly as it was).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import flask
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from devstack.functions_server import create_app
from devstack.stack import Stack
from shared.accounts.deletion import ACCOUNT_DELETIONS, uid_hash
from shared.devices.models import token_id
from shared.metering import metered
from shared.privacy.export import encode_cursor
from tests.support.auth import unsigned_token

pytestmark = pytest.mark.stack

# Generated payloads per callable, on top of the 69 explicit ones (`_corners`). Each costs a call
# with a Firestore read or more (0.1-0.2 s on two busy cores): 1,000 random ones took 90-150 s
# per callable, the largest part of `make test`. Since the explicit examples send every
# hand-picked value in every field, the generated ones only have to cover the mixes: structured
# requests with wrong, missing and extra fields, nested JSON and generated raw bodies (a quarter
# of them raw; the counts of both kinds are checked below). Derandomized, they are the same 250
# in every run, so a planted fault in a mix (a wrong-typed optional field that wrote before its
# refusal) was found by them alone, and is found again by every run.
EXAMPLES = 250
VICTIM = "victim-uid"
VICTIM_DEVICE = "victim-device"
VICTIM_TOKEN = "victim-fcm-token"

# -- value strategies --------------------------------------------------------------------------

EDGE_TEXT = [
    "",
    " ",
    "\x00",
    "\ud800",  # lone surrogates: valid JSON escapes, not valid Unicode text
    "\udfff",
    "a\ud83d",
    "\u202eevil",
    "\ufeff",
    "e\u0301" * 50,
    "😀" * 64,
    "\uffff",
    "/",
    "a/b",
    ".",
    "..",
    "__name__",
    "__x__",
    "users/victim-uid",
    "'; DROP TABLE users; --",
    "${jndi:ldap://x}",
    "%s%n",
]
HUGE_TEXT = ["x" * 129, "y" * 4097, "z" * 70_000, "w" * 1_100_000]

edge_text = st.sampled_from(EDGE_TEXT)
huge_text = st.sampled_from(HUGE_TEXT)
any_text = st.text(st.characters(codec=None, exclude_categories=()), max_size=80)
ids_of_others = st.sampled_from([VICTIM, VICTIM_DEVICE, "s1", "mornings", "phone"])


def _nested(depth: int, leaf: Any) -> Any:
    value = leaf
    for i in range(depth):
        value = [value] if i % 2 else {"k": value}
    return value


json_scalar = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | any_text
    | edge_text
)
json_value = st.recursive(
    json_scalar,
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(any_text | edge_text, children, max_size=5)
    ),
    max_leaves=12,
)
wrong_types = json_value | st.integers(1, 200).map(lambda d: _nested(d, "x")) | huge_text


def field(valid: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """A field's value: valid, or anything a broken or hostile client could send instead."""
    return st.one_of(valid, valid, edge_text, huge_text, any_text, wrong_types, ids_of_others)


def payload(
    required: dict[str, st.SearchStrategy[Any]], optional: dict[str, st.SearchStrategy[Any]]
) -> st.SearchStrategy[Any]:
    structured = st.fixed_dictionaries(
        {k: field(v) for k, v in required.items()},
        optional={k: field(v) for k, v in optional.items()},
    )
    with_extra = st.builds(
        lambda base, extra: {**base, **extra},
        structured,
        st.dictionaries(any_text | edge_text, json_value, min_size=1, max_size=3),
    )
    missing_some = st.fixed_dictionaries(
        {}, optional={k: field(v) for k, v in {**required, **optional}.items()}
    )
    valid = st.fixed_dictionaries(required, optional=optional)  # the accepted paths too
    return st.one_of(
        valid, structured, structured, structured, with_extra, missing_some, json_value
    )


valid_zone = st.sampled_from(["UTC", "Europe/Paris", "America/Argentina/Buenos_Aires"])
valid_device_id = st.sampled_from(["phone-1", "📱 de Zoé", "a" * 128, VICTIM_DEVICE])
valid_token = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1)

PAYLOADS: dict[str, st.SearchStrategy[Any]] = {
    "bootstrapAccount": payload(
        {"timezone": valid_zone}, {"locale": st.sampled_from(["fr-FR", "en", None])}
    ),
    "registerDevice": payload(
        {
            "deviceId": valid_device_id,
            "platform": st.sampled_from(["ios", "android"]),
            "fcmToken": valid_token,
        },
        {"appVersion": st.sampled_from(["1.0", None, "2.3.4 (567)"])},
    ),
    "unregisterDevice": payload({"deviceId": valid_device_id}, {}),
    "exportAccount": payload(
        {},
        {
            "cursor": st.sampled_from(
                [None, encode_cursor("s1"), encode_cursor(None), encode_cursor("~__odd__")]
            )
        },
    ),
    "deleteAccount": payload({"confirm": st.just(True)}, {}),
}

# Bodies that are not `{"data": <json>}`; sent raw.
RAW_SAMPLES = [
    b"",
    b"null",
    b"[]",
    b'"data"',
    b'{"data": NaN}',
    b'{"data": Infinity}',
    b'{"data": {"timezone": "UTC"}, "data": 1}',
    b'{"data": {}, "extra": 1}',
    b"\xff\xfe\x00",
    b'{"data": "\\ud800"}',
    b'{"data": {"deviceId": "\\udc00", "platform": "ios", "fcmToken": "t"}}',
    b'{"data": {"confirm": true',
]
RAW_BODIES = st.one_of(
    st.integers(1, 5000).map(lambda d: b'{"data": ' + b"[" * d + b"]" * d + b"}"),
    st.integers(1, 3000).map(lambda d: b'{"data": ' + b'{"a":' * d + b"1" + b"}" * d + b"}"),
    st.sampled_from(RAW_SAMPLES),
    st.binary(max_size=64),
)
# Each callable's fields, for the explicit examples.
FIELDS = {
    "bootstrapAccount": ["timezone", "locale"],
    "registerDevice": ["deviceId", "platform", "fcmToken", "appVersion"],
    "unregisterDevice": ["deviceId"],
    "exportAccount": ["cursor"],
    "deleteAccount": ["confirm"],
}


def _corners(name: str) -> list[tuple[Any, bytes | None]]:
    """(data, raw) sent in every run: each edge value and huge size in every field at once and
    as the whole of `data`, the deepest nestings, and each malformed body."""
    values = [*EDGE_TEXT, *HUGE_TEXT]
    structured = [{field: v for field in FIELDS[name]} for v in values]
    whole = [*values, _nested(200, "x"), [], {}, None, 2**70, 1.5]
    raw = [*RAW_SAMPLES, b'{"data": ' + b"[" * 5000 + b"]" * 5000 + b"}"]
    return [(d, None) for d in structured + whole] + [(None, r) for r in raw]


# -- the harness -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def harness(
    stack: Stack, monkeypatch_module: pytest.MonkeyPatch
) -> Callable[[str, Any, bytes | None], tuple[str, int, dict[str, Any], int]]:
    """`call(name, data, raw)` -> (uid, HTTP status, body, billed writes), a fresh uid each."""
    from shared.settings import get_settings

    # Limits high enough that only validation decides (fresh uids would not hit them anyway).
    monkeypatch_module.setenv("FOCUS_RATE_LIMIT_PER_MINUTE", "1000000")
    get_settings.cache_clear()
    client = create_app(stack.config.project_id, stack.config.region).test_client()
    base = f"/{stack.config.project_id}/{stack.config.region}"

    def call(name: str, data: Any, raw: bytes | None) -> tuple[str, int, dict[str, Any], int]:
        uid = f"fz-{uuid.uuid4().hex}"
        headers = {"Authorization": f"Bearer {unsigned_token(uid, stack.config.project_id)}"}
        with metered() as ops:
            if raw is not None:
                response = _post_raw(client, f"{base}/{name}", raw, headers)
            else:
                encoded = json.dumps({"data": data}).encode()
                response = _post_raw(client, f"{base}/{name}", encoded, headers)
        answer: dict[str, Any] = response.get_json(silent=True) or {}
        return uid, response.status_code, answer, ops.billed_writes

    return call


def _post_raw(
    client: flask.testing.FlaskClient, path: str, body: bytes, headers: dict[str, str]
) -> Any:
    return client.post(path, data=body, headers={**headers, "Content-Type": "application/json"})


@pytest.fixture(scope="module")
def monkeypatch_module() -> Any:
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()
    from shared.settings import get_settings

    get_settings.cache_clear()


def _seed_victim(db: Any) -> dict[str, Any]:
    from datetime import UTC, datetime

    now = datetime(2026, 1, 1, tzinfo=UTC)
    user = db.collection("users").document(VICTIM)
    user.set({"uid": VICTIM, "timezone": "UTC", "locale": None, "createdAt": now, "updatedAt": now})
    user.collection("devices").document(VICTIM_DEVICE).set(
        {
            "deviceId": VICTIM_DEVICE,
            "platform": "ios",
            "appVersion": None,
            "registeredAt": now,
            "fcmToken": VICTIM_TOKEN,
            "tokenUpdatedAt": now,
        }
    )
    db.collection("fcmTokens").document(token_id(VICTIM_TOKEN)).set(
        {"uid": VICTIM, "deviceId": VICTIM_DEVICE, "token": VICTIM_TOKEN}
    )
    return _snapshot(db)


def _snapshot(db: Any) -> dict[str, Any]:
    """Every document in the database: path -> data."""
    return {
        snap.reference.path: snap.to_dict()
        for collection in db.collections()
        for snap in collection.recursive().stream()
    }


def _owner(path: str, data: dict[str, Any]) -> str:
    parts = path.split("/")
    if parts[0] == "users":
        return parts[1]
    if parts[0] == "fcmTokens":
        return str(data.get("uid"))
    if parts[0] == ACCOUNT_DELETIONS:
        return "marker:" + parts[1]
    return "unknown:" + path


@pytest.mark.parametrize("name", sorted(PAYLOADS))
def test_generated_payloads_never_fail_internally_nor_write_when_refused(
    db: Any, harness: Any, name: str
) -> None:
    victim_before = _seed_victim(db)
    accepted: set[str] = set()
    sent = {"structured": 0, "raw": 0}

    def check(status: int, body: dict[str, Any], writes: int, shown: Any) -> None:
        error = body.get("error")
        code = error.get("status") if isinstance(error, dict) else None
        assert status != 500 and code != "INTERNAL", f"{name} {shown!r:.300} -> {status} {body}"
        if status == 200:
            assert "result" in body
        else:
            assert error is not None and code in {"INVALID_ARGUMENT", "UNAUTHENTICATED"}, body
            assert writes == 0, f"{name} {shown!r:.300} was refused but wrote {writes}"

    # derandomize: the same payloads in every run (no database, nothing read from earlier runs).
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(data=PAYLOADS[name], raw=st.none() | st.none() | st.none() | RAW_BODIES)
    def run(data: Any, raw: bytes | None) -> None:
        uid, status, body, writes = harness(name, data, raw)
        sent["raw" if raw is not None else "structured"] += 1
        check(status, body, writes, raw if raw is not None else data)
        if status == 200:
            accepted.add(uid)

    corners = _corners(name)
    for data, raw in corners:
        run = example(data=data, raw=raw)(run)
    run()
    assert sent["structured"] + sent["raw"] >= EXAMPLES + len(corners)
    # Both kinds among the generated payloads, not only among the corners. Hypothesis draws the
    # raw bodies more often than their nominal quarter (143 and 161 of the 250, with two
    # versions of it), so the floor is a fifth of them for each kind rather than a count close
    # to one version's draw.
    corner_raw = sum(1 for _, raw in corners if raw is not None)
    generated_raw = sent["raw"] - corner_raw
    generated_structured = sent["structured"] - (len(corners) - corner_raw)
    assert min(generated_raw, generated_structured) >= EXAMPLES // 5, sent
    assert len(accepted) >= 5  # the valid paths are exercised too, not only the refusals

    # Nothing outside the space of accepted calls; the victim exactly as it was (the
    # generators use its ids, never its FCM token, which alone could move).
    after = _snapshot(db)
    markers = {"marker:" + uid_hash(uid) for uid in accepted}
    for path, data in after.items():
        if path in victim_before:
            continue
        owner = _owner(path, data)
        assert owner in accepted or owner in markers, f"{path} written by a refused call"
    assert {p: d for p, d in after.items() if p in victim_before} == victim_before
