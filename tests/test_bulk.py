"""The bulk writers and id sets planning uses: what goes in comes back out
exactly as the ORM would have stored it, on both databases, whatever the text."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone

from sqlalchemy import func, select

from bot.reminders.bulk import insert_rows
from db.idsets import in_ids
from db.models import Member, OutboxMessage, Team

NOW = datetime(2026, 12, 1, 0, 0, tzinfo=timezone.utc)
HOSTILE = "tab\there\nnewline\\backslash \\N \"quotes\" 'single' \r 日本語 🎌 \x01"


def outbox_row(key: str, **changes) -> dict:
    row = {"key": key, "run_id": None, "kind": "dm", "channel_id": None, "recipient_user_id": "u1",
           "work_date": date(2026, 11, 30), "payload": {"text": HOSTILE, "nested": [1, None, True, {"k": "\\N"}]},
           "state": "pending", "attempts": 0, "not_before": NOW, "deadline": NOW + timedelta(hours=3),
           "pending_post_id": "p" * 26, "created_at": NOW}
    return {**row, **changes}


def test_rows_come_back_exactly_as_written_whatever_their_text(database):
    rows = [outbox_row("a", channel_id=HOSTILE[:60]), outbox_row("b", recipient_user_id=None, work_date=None,
                                                                 deadline=None)]
    with database.write() as session:
        insert_rows(session, OutboxMessage, rows)
    with database.read() as session:
        stored = {m.key: m for m in session.scalars(select(OutboxMessage))}
    assert stored["a"].payload == rows[0]["payload"] and stored["a"].channel_id == HOSTILE[:60]
    assert stored["a"].not_before == NOW and stored["a"].deadline == NOW + timedelta(hours=3)
    assert stored["a"].work_date == date(2026, 11, 30) and stored["a"].state == "pending"
    assert stored["b"].recipient_user_id is None and stored["b"].work_date is None and stored["b"].deadline is None
    assert stored["a"].id and stored["b"].id  # the table's own defaults filled in


def test_a_key_that_exists_is_left_alone_unless_the_conflict_clause_says_otherwise(database):
    with database.write() as session:
        insert_rows(session, OutboxMessage, [outbox_row("a", state="dropped")])
    with database.write() as session:
        insert_rows(session, OutboxMessage, [outbox_row("a", attempts=5), outbox_row("b")])
    with database.write() as session:
        insert_rows(session, OutboxMessage, [outbox_row("a", attempts=7), outbox_row("b", attempts=9)],
                    "ON CONFLICT (key) DO UPDATE SET attempts = excluded.attempts WHERE outbox.state = 'dropped'")
    with database.read() as session:
        attempts = dict(session.execute(select(OutboxMessage.key, OutboxMessage.attempts)).all())
    assert attempts == {"a": 7, "b": 0}


def test_thousands_of_rows_in_a_constant_number_of_statements(database):
    statements = []
    from sqlalchemy import event

    listener = lambda *args, **kw: statements.append(args[2])  # noqa: E731
    event.listen(database.engine, "before_cursor_execute", listener)
    try:
        with database.write() as session:
            insert_rows(session, OutboxMessage, [outbox_row(f"k{n:05d}") for n in range(5000)])
    finally:
        event.remove(database.engine, "before_cursor_execute", listener)
    with database.read() as session:
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 5000
    assert len([s for s in statements if "outbox" in s or "nippo_bulk" in s]) <= 3


def test_text_holding_the_characters_copy_stands_in_for_separators_is_stored_as_written(database):
    # PostgreSQL's COPY text is escaped in one pass with control characters
    # standing in for its separators; a value holding them must not be split.
    tricky = "unit\x1fseparator record\x1eseparator \\N \t"
    rows = [outbox_row("a", channel_id=tricky[:60], payload={"text": tricky}), outbox_row("b", deadline=None)]
    with database.write() as session:
        insert_rows(session, OutboxMessage, rows)
    with database.read() as session:
        stored = {m.key: m for m in session.scalars(select(OutboxMessage))}
    assert stored["a"].channel_id == tricky[:60] and stored["a"].payload == {"text": tricky}
    assert stored["b"].deadline is None and stored["b"].payload == rows[1]["payload"]


def test_a_write_meeting_one_existing_key_still_writes_every_new_row_once(database):
    with database.write() as session:
        insert_rows(session, OutboxMessage, [outbox_row("k00500", state="sent")])
    with database.write() as session:  # the fast way fails on k00500; the upsert writes the rest
        insert_rows(session, OutboxMessage, [outbox_row(f"k{n:05d}") for n in range(1000)])
    with database.read() as session:
        states = dict(session.execute(select(OutboxMessage.key, OutboxMessage.state)).all())
    assert len(states) == 1000 and states["k00500"] == "sent"
    assert {state for key, state in states.items() if key != "k00500"} == {"pending"}


def test_two_writers_meeting_on_keys_the_other_has_not_committed_both_finish_and_each_key_is_written_once(database):
    """The second writer's fast insert waits on the first's keys, fails when
    they commit, and is made again as the upsert: no error, no key twice."""
    import threading

    first_inserted, second_started = threading.Event(), threading.Event()
    errors = []

    def first():
        try:
            with database.write() as session:
                insert_rows(session, OutboxMessage, [outbox_row(f"k{n:05d}") for n in range(0, 1000)])
                first_inserted.set()
                second_started.wait(timeout=10)
        except Exception as error:  # noqa: BLE001  (reported below)
            errors.append(error)

    def second():
        try:
            first_inserted.wait(timeout=10)
            second_started.set()
            with database.write() as session:
                insert_rows(session, OutboxMessage, [outbox_row(f"k{n:05d}", attempts=1) for n in range(500, 1500)])
        except Exception as error:  # noqa: BLE001
            errors.append(error)

    from sqlalchemy import event

    upserts = []
    listener = lambda *args, **kw: upserts.append(args[2]) if "ON CONFLICT" in args[2] else None  # noqa: E731
    event.listen(database.engine, "before_cursor_execute", listener)
    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        event.remove(database.engine, "before_cursor_execute", listener)
    assert errors == [] and len(upserts) == 1  # the second writer's, after its fast insert failed
    with database.read() as session:
        attempts = dict(session.execute(select(OutboxMessage.key, OutboxMessage.attempts)).all())
    assert len(attempts) == 1500
    assert {attempts[f"k{n:05d}"] for n in range(0, 1000)} == {0}  # the first writer's rows, left alone
    assert {attempts[f"k{n:05d}"] for n in range(1000, 1500)} == {1}


def test_an_id_set_larger_than_sqlites_parameter_limit_is_one_parameter(database):
    with database.write() as session:
        session.add(Team(id=1, channel_id="c1", channel_name="dev", created_at=NOW))
        session.add(Member(id=7, user_id="u7", username="alice", active=True, is_bot=False))
    wanted = set(range(1, 40_001)) | {7}
    with database.read() as session:
        found = session.scalars(select(Member.username).where(in_ids(session, Member.id, wanted, "ids"))).all()
        assert found == ["alice"]
        assert session.scalars(select(Member.id).where(in_ids(session, Member.id, {8, 9}, "ids"))).all() == []
        assert session.scalars(select(Member.id).where(in_ids(session, Member.id, set(), "ids"))).all() == []



def test_a_payload_put_together_from_an_encoded_context_is_the_json_of_the_whole():
    from bot.reminders.bulk import EncodedContext

    context = EncodedContext({"persona": "emperor", "leaders": [["u1", "boss"]], "text": HOSTILE})
    for own in ({"seed": "run1:dm", "member": {"m": 1, "n": "alice"}}, {"persona": "plain"}, {}):
        payload = context.payload(own)
        assert json.loads(payload.encoded) == payload == {**context.context, **own}


def test_a_planned_run_encodes_each_payload_as_the_dict_it_reads_as():
    """plan_run's payloads are put together from their run's encoded context:
    what it writes must be exactly the payload it stands for, in every delivery mode."""
    from datetime import timedelta
    from types import SimpleNamespace

    from bot.reminders.nudge import plan_nudge
    from bot.reminders.plan import Filed, plan_run
    from bot.reminders.snapshot import Missed, Person, Sub
    from persona import load_registry

    services = SimpleNamespace(personas=load_registry(None), settings=SimpleNamespace(persona="emperor"))

    roster = [Person(1, "u1", "boss", "boss", True), Person(2, "u2", HOSTILE[:60], "x", False),
              Person(3, "u3", "carol", None, False)]
    for delivery in ("channel", "dm", "both"):
        sub = Sub(1, 1, "c1", "dev", "09:00", "Asia/Tokyo", "0,1,2,3,4", "JP", "previous", delivery, "emperor",
                  "en", 2, True, "", None, None)
        plan = plan_run(services, 5, sub, NOW.date(), roster, Filed(set(), set(), {}), {(1, 3): Missed(4, False, 1)},
                        NOW, NOW + timedelta(hours=3), kept={2: 30}, local_date=NOW.date())
        assert len(plan.rows) >= 2
        for row in plan.rows:
            assert json.loads(row["payload"].encoded) == dict(row["payload"])
    nudge = plan_nudge(6, sub, "again 13:00", NOW.date(), roster, Filed(set(), set(), {}), {}, set(), NOW,
                       NOW + timedelta(hours=3), local_date=NOW.date())
    [step] = nudge.rows
    assert step["kind"] == "dms" and json.loads(step["payload"].encoded) == dict(step["payload"])


def test_rows_updated_by_id_read_back_as_written_and_the_others_are_left_alone(database):
    from bot.reminders.bulk import update_by_id

    rows = [outbox_row(key) for key in ("a", "b", "c")]
    with database.write() as session:
        insert_rows(session, OutboxMessage, rows)
    with database.read() as session:
        ids = dict(session.execute(select(OutboxMessage.key, OutboxMessage.id)).all())
    later = NOW + timedelta(minutes=7)
    with database.write() as session:
        update_by_id(session, OutboxMessage, [
            {"id": ids["a"], "state": "sent", "payload": {"text": HOSTILE, "list": [1, 2]}, "lease_until": later,
             "last_error": None},
            {"id": ids["c"], "state": "failed", "payload": [], "lease_until": None, "last_error": HOSTILE}])
    with database.read() as session:
        stored = {m.key: m for m in session.scalars(select(OutboxMessage))}
    assert (stored["a"].state, stored["a"].payload, stored["a"].lease_until, stored["a"].last_error) == (
        "sent", {"text": HOSTILE, "list": [1, 2]}, later, None)
    assert (stored["c"].state, stored["c"].payload, stored["c"].lease_until, stored["c"].last_error) == (
        "failed", [], None, HOSTILE)
    assert (stored["b"].state, stored["b"].payload) == ("pending", rows[1]["payload"])
    assert stored["a"].not_before == NOW  # a column not named is not touched


def test_json_is_written_exactly_as_json_dumps_writes_it_whatever_it_holds():
    import pytest

    from bot.reminders.bulk import encode_json

    every_character = "".join(chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF)
    for value in (every_character, {"k": every_character, "n": None, "t": True, "i": -5, "big": 2**63 - 1,
                                    "f": 0.1, "l": [], "d": {}}, [HOSTILE, 7], "\ud800 a lone surrogate",
                  {1: "an int key", None: "a null key"}, 2**70, {"nested": {3: [2**80]}}):
        assert encode_json(value) == json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    for refused in (date(2026, 11, 30), {"when": NOW}, {"a": {1, 2}}):
        with pytest.raises(TypeError):
            encode_json(refused)


def test_writing_the_same_instants_again_and_again_keeps_no_more_converted_values(database):
    """The converted dates and times are kept for the next write that has
    them: a serve writes thousands of times a morning, and the cache must
    not take a new entry each time."""
    from bot.reminders.bulk import _stored, update_by_id

    def write(n: int) -> None:
        with database.write() as session:
            insert_rows(session, OutboxMessage, [outbox_row(f"k{n}")])
            update_by_id(session, OutboxMessage, [{"id": n + 1, "lease_until": NOW}])

    write(0)
    kept = _stored.cache_info().currsize
    for n in range(1, 40):
        write(n)
    assert _stored.cache_info().currsize == kept


def test_an_encoded_payload_is_stored_as_the_dict_it_is(database):
    from bot.reminders.bulk import EncodedContext

    payload = EncodedContext({"text": HOSTILE}).payload({"seed": "s"})
    with database.write() as session:
        insert_rows(session, OutboxMessage, [outbox_row("a", payload=payload)])
    with database.read() as session:
        assert session.scalar(select(OutboxMessage.payload)) == {"text": HOSTILE, "seed": "s"}


def test_pending_post_ids_are_unique_in_mattermosts_alphabet_and_not_shared_with_a_forked_child():
    import os

    from bot.reminders.common import new_post_id

    ids = {new_post_id() for _ in range(10_000)}
    assert len(ids) == 10_000
    assert all(len(i) == 26 and set(i) <= set("ybndrfg8ejkmcpqxot1uwisza345h769") for i in ids)
    reader, writer = os.pipe()
    child = os.fork()
    if child == 0:  # the child's next id, to compare with the parent's
        os.write(writer, new_post_id().encode())
        os._exit(0)
    os.waitpid(child, 0)
    assert os.read(reader, 26).decode() != new_post_id()


def test_a_batch_with_one_character_copy_must_escape_in_one_field_comes_back_as_written(database):
    # COPY writes a batch unescaped when nothing in it needs escaping: one
    # such character, anywhere, must send the batch the careful way. (No NUL:
    # PostgreSQL's text cannot hold one, whatever writes it.)
    tricky = ["\\N", "back\\slash", "tab\tin", "line\nend", "carriage\rreturn", "rs\x1e", "us\x1f"]
    plain = {"persona": "emperor", "members": [{"m": 1, "u": "u1", "n": "ann", "k": None}]}
    rows = [outbox_row(f"k{n}", channel_id=value, payload=plain) for n, value in enumerate(tricky)]
    rows += [outbox_row("plain", channel_id=None, payload=plain)]
    for row in rows:
        with database.write() as session:
            insert_rows(session, OutboxMessage, [row, outbox_row(row["key"] + "-next", payload=plain)])
    with database.read() as session:
        stored = {m.key: m for m in session.scalars(select(OutboxMessage))}
    assert [stored[f"k{n}"].channel_id for n in range(len(tricky))] == tricky
    assert stored["plain"].channel_id is None and all(m.payload == plain for m in stored.values())


def test_rows_updated_through_the_json_document_come_back_exactly_as_written(database):
    from bot.reminders.bulk import update_by_id

    names = [HOSTILE[:60], "", "NULL", '"quoted"', "\\", "a,b}"]
    with database.write() as session:
        insert_rows(session, Team, [{"id": n + 1, "channel_id": f"c{n}", "channel_name": "before", "created_at": NOW}
                                    for n in range(len(names))])
    with database.write() as session:
        update_by_id(session, Team, [{"id": n + 1, "channel_name": name, "created_at": NOW + timedelta(seconds=n)}
                                     for n, name in enumerate(names)])
    with database.read() as session:
        stored = {t.id: t for t in session.scalars(select(Team))}
    assert [(stored[n + 1].channel_name, stored[n + 1].created_at) for n in range(len(names))] == [
        (name, NOW + timedelta(seconds=n)) for n, name in enumerate(names)]


def test_a_write_without_a_conflict_clause_meeting_an_existing_key_fails_and_writes_nothing(database):
    """How a tick's runs are written: a run another process has already had stops the transaction."""
    import pytest
    from sqlalchemy.exc import IntegrityError

    with database.write() as session:
        insert_rows(session, OutboxMessage, [outbox_row("a")])
    # SQLAlchemy's, or the driver's own from PostgreSQL's COPY
    with pytest.raises((IntegrityError, database.engine.dialect.dbapi.IntegrityError)):
        with database.write() as session:
            insert_rows(session, OutboxMessage, [outbox_row("b"), outbox_row("a", attempts=5)], on_conflict="")
    with database.read() as session:
        assert dict(session.execute(select(OutboxMessage.key, OutboxMessage.attempts)).all()) == {"a": 0}
