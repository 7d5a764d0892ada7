"""redis-py (the Python client most Redis users have) against a running `distributed` cluster.

Driven by `crates/distributed/tests/redis_py.rs`, which installs a pinned redis-py into a venv
under target/, starts a 3-node cluster and runs:

    python check.py --leader 127.0.0.1:P1 --follower 127.0.0.1:P2

Every case below runs, every time. A case named in EXPECTED_TO_FAIL is a feature the server
does not have yet (issue 14): it still runs, and the script reports whether it still fails
("xfail") or now passes ("XPASS ... remove it from EXPECTED_TO_FAIL"). Turning a feature on
is deleting its line there. Only a failure of a case *outside* the list is a test failure:

    ok     a case outside the list passed
    FAIL   a case outside the list failed               -> exit status 1
    xfail  a listed case failed, as expected today
    XPASS  a listed case passed: delete its line from EXPECTED_TO_FAIL

`--reference` ignores the list (every case must pass): run it against a redis-server to check
that the cases themselves are right, e.g. `python check.py --leader 127.0.0.1:6379
--follower 127.0.0.1:6379 --reference`.

Every client has a socket timeout, so a server that never answers fails a case instead of
hanging the run. Keys are prefixed with the case's name and a per-run nonce: a rerun against the same cluster
must not read an earlier run's keys.
"""

import argparse
import os
import sys
import time
import traceback

import redis

# The features the server does not have yet, each with why. Delete a line when its case passes.
EXPECTED_TO_FAIL = {
}

# Seconds a client waits for any one reply before the case fails (no case may hang the run).
SOCKET_TIMEOUT_S = 10

CASES = []


def case(fn):
    """Register a case; it runs in the order of this file."""
    CASES.append(fn)
    return fn


class Ctx:
    """What a case gets: clients to the leader and a follower, and its own key prefix."""

    def __init__(self, leader, follower, nonce, name, reference=False):
        self.leader = leader
        self.follower = follower
        self.reference = reference
        self.prefix = f"redis-py:{nonce}:{name}:"

    def key(self, suffix):
        return self.prefix + suffix

    def client(self, addr=None, **kwargs):
        host, port = (addr or self.leader).rsplit(":", 1)
        kwargs.setdefault("protocol", 2)
        return redis.Redis(
            host=host,
            port=int(port),
            socket_timeout=SOCKET_TIMEOUT_S,
            socket_connect_timeout=SOCKET_TIMEOUT_S,
            **kwargs,
        )


def expect(actual, wanted, what):
    if actual != wanted:
        raise AssertionError(f"{what}: got {actual!r}, wanted {wanted!r}")


# ---- what works today: plain strings over RESP2 ---------------------------------------------


@case
def strings(ctx):
    r = ctx.client()
    a, b, n = ctx.key("a"), ctx.key("b"), ctx.key("n")
    expect(r.ping(), True, "PING")
    expect(r.set(a, "1"), True, "SET")
    expect(r.get(a), b"1", "GET")
    expect(r.set(a, "2", nx=True), None, "SET NX on a present key")
    expect(r.set(b, "x", xx=True), None, "SET XX on an absent key")
    expect(r.set(b, "x", nx=True), True, "SET NX on an absent key")
    expect(r.append(b, "yz"), 3, "APPEND")
    expect(r.mset({a: "10", b: "20"}), True, "MSET")
    expect(r.mget(a, b, ctx.key("absent")), [b"10", b"20", None], "MGET")
    expect(r.exists(a, b, ctx.key("absent")), 2, "EXISTS")
    expect(r.incr(n), 1, "INCR")
    expect(r.incrby(n, 41), 42, "INCRBY")
    expect(r.decr(n), 41, "DECR")
    expect(r.decrby(n, 40), 1, "DECRBY")
    expect(r.delete(a, b, ctx.key("absent")), 2, "DEL")
    expect(r.get(a), None, "GET after DEL")


@case
def binary_and_large_values(ctx):
    r = ctx.client()
    raw = bytes(range(256)) * 4
    big = os.urandom(512 * 1024)
    expect(r.set(ctx.key("raw"), raw), True, "SET binary")
    expect(r.get(ctx.key("raw")), raw, "GET binary")
    expect(r.set(ctx.key("big"), big), True, "SET 512 KiB")
    expect(r.get(ctx.key("big")) == big, True, "GET 512 KiB equals what was set")


@case
def decoded_responses(ctx):
    r = ctx.client(decode_responses=True)
    expect(r.set(ctx.key("s"), "héllo"), True, "SET utf-8")
    expect(r.get(ctx.key("s")), "héllo", "GET decoded")


@case
def follower_forwards_writes_and_reads_are_linearizable(ctx):
    f, l = ctx.client(ctx.follower), ctx.client(ctx.leader)
    k = ctx.key("k")
    expect(f.set(k, "through-follower"), True, "SET on a follower")
    expect(l.get(k), b"through-follower", "GET on the leader")
    expect(l.incr(ctx.key("n")), 1, "INCR on the leader")
    expect(f.get(ctx.key("n")), b"1", "GET on the follower")


@case
def pipeline_without_transaction(ctx):
    p = ctx.client().pipeline(transaction=False)
    p.set(ctx.key("a"), "1").incr(ctx.key("n")).get(ctx.key("a")).incrby(ctx.key("n"), 2)
    expect(p.execute(), [True, 1, b"1", 3], "pipeline(transaction=False).execute()")


# ---- the cases: listed in EXPECTED_TO_FAIL until the server has them ----------------


@case
def pipeline_transaction(ctx):
    p = ctx.client().pipeline()  # transaction=True: MULTI ... EXEC
    p.set(ctx.key("a"), "1").incr(ctx.key("n")).get(ctx.key("a"))
    expect(p.execute(), [True, 1, b"1"], "pipeline().execute() (MULTI/EXEC)")


@case
def exec_abort_applies_no_queued_write(ctx):
    # A command that cannot be queued makes EXEC fail (EXECABORT): nothing queued may apply.
    r, k = ctx.client(), ctx.key("k")
    r.set(k, "before")
    p = r.pipeline()
    p.set(k, "queued")
    p.execute_command("NO-SUCH-COMMAND")
    try:
        p.execute()
    except redis.exceptions.ResponseError:
        pass
    else:
        raise AssertionError("EXEC of a transaction with an unknown command did not fail")
    expect(r.get(k), b"before", "the key after a failed EXEC (a queued SET was applied)")


@case
def watch_conflict_applies_no_queued_write(ctx):
    # A watched key changed by another client before EXEC: EXEC answers nil, nothing applies.
    r, other = ctx.client(), ctx.client()
    watched, target = ctx.key("watched"), ctx.key("target")
    r.set(watched, "0")
    p = r.pipeline()
    p.watch(watched)
    other.set(watched, "changed")
    p.multi()
    p.set(target, "queued")
    try:
        p.execute()
    except redis.exceptions.WatchError:
        pass
    else:
        raise AssertionError("EXEC after a WATCHed key changed did not fail")
    expect(r.get(target), None, "the target after a conflicting EXEC (a queued SET was applied)")


@case
def transaction_retries_after_watch_conflict(ctx):
    r, other, k = ctx.client(), ctx.client(), ctx.key("counter")
    r.set(k, "10")
    attempts = []

    def add_one(pipe):
        value = int(pipe.get(k))
        if not attempts:
            other.incrby(k, 5)  # a concurrent write between WATCH and EXEC: must force a retry
        attempts.append(value)
        pipe.multi()
        pipe.set(k, value + 1)

    r.transaction(add_one, k)
    expect(attempts, [10, 15], "values seen by each attempt")
    expect(r.get(k), b"16", "the counter after the retried transaction")


@case
def set_with_expiry(ctx):
    r, k = ctx.client(), ctx.key("k")
    expect(r.set(k, "v", ex=100), True, "SET EX")
    ttl = r.ttl(k)
    expect(0 < ttl <= 100, True, f"TTL after SET EX 100 ({ttl})")
    expect(r.set(k, "w", px=50_000), True, "SET PX")
    expect(0 < r.pttl(k) <= 50_000, True, "PTTL after SET PX")


@case
def expire_and_ttl(ctx):
    r, k = ctx.client(), ctx.key("k")
    r.set(k, "v")
    expect(r.ttl(k), -1, "TTL of a key without expiry")
    expect(r.ttl(ctx.key("absent")), -2, "TTL of an absent key")
    expect(r.expire(k, 100), True, "EXPIRE")
    expect(0 < r.ttl(k) <= 100, True, "TTL after EXPIRE 100")
    expect(r.persist(k), True, "PERSIST")
    expect(r.ttl(k), -1, "TTL after PERSIST")
    expect(r.pexpire(k, 1), True, "PEXPIRE 1 ms")
    for _ in range(500):  # bounded (5 s in all), far above the 1 ms the key has left
        if r.exists(k) == 0:
            break
        time.sleep(0.01)
    else:
        raise AssertionError("a key with a 1 ms expiry still exists after 500 checks")


@case
def hashes(ctx):
    r, h = ctx.client(), ctx.key("h")
    expect(r.hset(h, mapping={"a": "1", "b": "2"}), 2, "HSET mapping")
    expect(r.hget(h, "a"), b"1", "HGET")
    expect(r.hgetall(h), {b"a": b"1", b"b": b"2"}, "HGETALL")
    expect(r.hincrby(h, "a", 9), 10, "HINCRBY")
    expect(r.hdel(h, "b"), 1, "HDEL")
    expect(r.hlen(h), 1, "HLEN")


@case
def lists(ctx):
    r, k = ctx.client(), ctx.key("l")
    expect(r.rpush(k, "b", "c"), 2, "RPUSH")
    expect(r.lpush(k, "a"), 3, "LPUSH")
    expect(r.lrange(k, 0, -1), [b"a", b"b", b"c"], "LRANGE")
    expect(r.lpop(k), b"a", "LPOP")
    expect(r.rpop(k), b"c", "RPOP")
    expect(r.llen(k), 1, "LLEN")


@case
def sets(ctx):
    r, k = ctx.client(), ctx.key("s")
    expect(r.sadd(k, "a", "b", "a"), 2, "SADD")
    expect(r.smembers(k), {b"a", b"b"}, "SMEMBERS")
    expect(r.sismember(k, "a"), True, "SISMEMBER")
    expect(r.srem(k, "a"), 1, "SREM")
    expect(r.scard(k), 1, "SCARD")


@case
def sorted_sets(ctx):
    r, k = ctx.client(), ctx.key("z")
    expect(r.zadd(k, {"a": 1, "b": 2, "c": 3}), 3, "ZADD")
    expect(r.zrange(k, 0, -1, withscores=True), [(b"a", 1.0), (b"b", 2.0), (b"c", 3.0)], "ZRANGE")
    expect(r.zscore(k, "b"), 2.0, "ZSCORE")
    expect(r.zincrby(k, 5, "a"), 6.0, "ZINCRBY")
    expect(r.zrangebyscore(k, 2, 3), [b"b", b"c"], "ZRANGEBYSCORE")
    expect(r.zrem(k, "c"), 1, "ZREM")


@case
def pubsub(ctx):
    r, channel = ctx.client(), ctx.key("ch")
    p = ctx.client().pubsub()
    p.subscribe(channel)
    first = p.get_message(timeout=SOCKET_TIMEOUT_S)
    expect(first and first["type"], "subscribe", "the first pubsub message")
    expect(r.publish(channel, "hi"), 1, "PUBLISH: receivers")
    message = p.get_message(ignore_subscribe_messages=True, timeout=SOCKET_TIMEOUT_S)
    expect(message and message["data"], b"hi", "the published message")
    p.close()


@case
def pubsub_across_nodes_with_patterns(ctx):
    # Subscribed on a follower, published on the leader: the message reaches it through the log.
    channel = ctx.key("news")
    p = ctx.client(ctx.follower).pubsub(ignore_subscribe_messages=True)
    p.subscribe(channel)
    p.psubscribe(ctx.prefix + "n*")
    for _ in range(2):
        p.get_message(timeout=SOCKET_TIMEOUT_S)  # the two confirmations
    numsub = ctx.client(ctx.follower).pubsub_numsub(channel)
    expect(numsub, [(channel.encode(), 1)], "PUBSUB NUMSUB on the subscriber's node")
    expect(ctx.client(ctx.follower).pubsub_numpat() >= 1, True, "PUBSUB NUMPAT")
    ctx.client(ctx.leader).publish(channel, "one")
    ctx.client(ctx.follower).publish(channel, "two")
    got = []
    for _ in range(4):
        m = p.get_message(timeout=SOCKET_TIMEOUT_S)
        got.append(m and (m["type"], m["data"]))
    expect(
        sorted(got),
        sorted([("message", b"one"), ("pmessage", b"one"), ("message", b"two"), ("pmessage", b"two")]),
        "messages and pmessages from both nodes",
    )
    p.close()


@case
def pubsub_over_resp3(ctx):
    channel = ctx.key("ch")
    p = ctx.client(protocol=3).pubsub(ignore_subscribe_messages=True)
    p.subscribe(channel)
    p.get_message(timeout=SOCKET_TIMEOUT_S)
    ctx.client(ctx.follower).publish(channel, "pushed")  # its count is the follower's own
    message = p.get_message(timeout=SOCKET_TIMEOUT_S)
    expect(message and message["data"], b"pushed", "a push frame as a message")
    p.close()


@case
def pipeline_transaction_reports_errors_in_place(ctx):
    r, s = ctx.client(), ctx.key("s")
    r.set(s, "abc")
    p = r.pipeline()
    p.incr(s).set(ctx.key("t"), "1").get(ctx.key("t"))
    results = p.execute(raise_on_error=False)
    expect(isinstance(results[0], redis.exceptions.ResponseError), True, f"INCR error {results[0]!r}")
    expect(results[1:], [True, b"1"], "the commands after the error ran")


@case
def scripting_is_refused_clearly(ctx):
    if ctx.reference:
        return  # redis-server runs Lua; refusing it is this server's choice
    try:
        ctx.client().eval("return 1", 0)
    except redis.exceptions.ResponseError as e:
        expect("not supported" in str(e), True, f"EVAL's error says why ({e})")
    else:
        raise AssertionError("EVAL was not refused")


@case
def client_config_and_command_introspection(ctx):
    r = ctx.client()
    expect(r.client_setname("probe"), True, "CLIENT SETNAME")
    expect(r.client_getname(), "probe", "CLIENT GETNAME")
    me = r.client_id()
    listed = [c for c in r.client_list() if int(c["id"]) == me]
    expect(len(listed), 1, "CLIENT LIST shows this connection")
    expect(listed[0]["name"], "probe", "its name in CLIENT LIST")
    expect(int(r.client_info()["id"]), me, "CLIENT INFO")
    expect(r.config_get("proto-max-bulk-len"), {"proto-max-bulk-len": "536870912"}, "CONFIG GET")
    expect(r.command_count() > 100, True, "COMMAND COUNT")
    commands = r.command()  # COMMAND, parsed by redis-py into {name: info}
    expect("get" in commands and "multi" in commands, True, "COMMAND has kv's and the connection's")
    expect(commands["get"]["arity"], 2, "GET's arity in COMMAND")
    expect(r.command_getkeys("MSET", "a", "1", "b", "2"), ["a", "b"], "COMMAND GETKEYS")


@case
def resp3(ctx):
    r, h = ctx.client(protocol=3), ctx.key("h")
    expect(r.ping(), True, "PING over RESP3 (HELLO 3 on connect)")
    expect(r.set(ctx.key("k"), "v"), True, "SET over RESP3")
    expect(r.get(ctx.key("k")), b"v", "GET over RESP3")
    expect(r.get(ctx.key("absent")), None, "a null over RESP3")
    r.hset(h, mapping={"a": "1"})
    expect(r.hgetall(h), {b"a": b"1"}, "HGETALL over RESP3 (a map reply)")
    r.sadd(ctx.key("s"), "x", "y")
    expect(r.smembers(ctx.key("s")), {b"x", b"y"}, "SMEMBERS over RESP3 (a set reply)")
    r.zadd(ctx.key("z"), {"a": 1.5})
    expect(r.zscore(ctx.key("z"), "a"), 1.5, "ZSCORE over RESP3 (a double)")
    expect(
        r.zrange(ctx.key("z"), 0, -1, withscores=True), [[b"a", 1.5]], "ZRANGE WITHSCORES over RESP3"
    )
    p = r.pipeline()
    p.set(ctx.key("t"), "1").incr(ctx.key("n")).hgetall(h)
    expect(p.execute(), [True, 1, {b"a": b"1"}], "MULTI/EXEC over RESP3")


# ---- the runner -----------------------------------------------------------------------------


def run_case(fn, args, nonce):
    """None if the case passed, else a one-line reason."""
    ctx = Ctx(args.leader, args.follower, nonce, fn.__name__, args.reference)
    try:
        fn(ctx)
        return None
    except AssertionError as e:
        return str(e)
    except Exception as e:  # every other exception is the case failing, with its type named
        if args.verbose:
            traceback.print_exc()
        return f"{type(e).__name__}: {e}".replace("\n", " ")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--leader", required=True, help="host:port of the leader")
    parser.add_argument("--follower", required=True, help="host:port of a follower")
    parser.add_argument("--reference", action="store_true", help="every case must pass")
    parser.add_argument("--only", action="append", help="run only this case (repeatable)")
    parser.add_argument("--verbose", action="store_true", help="tracebacks of failures")
    args = parser.parse_args()
    names = [fn.__name__ for fn in CASES]
    unknown = sorted(set(EXPECTED_TO_FAIL) - set(names)) + sorted(set(args.only or []) - set(names))
    if unknown:
        print(f"error: no case named {', '.join(unknown)}", file=sys.stderr)
        return 2
    expected = {} if args.reference else EXPECTED_TO_FAIL
    nonce = os.urandom(4).hex()
    counts = {"ok": 0, "FAIL": 0, "xfail": 0, "XPASS": 0}
    for fn in CASES:
        if args.only and fn.__name__ not in args.only:
            continue
        reason = run_case(fn, args, nonce)
        listed = fn.__name__ in expected
        if reason is None:
            verdict = "XPASS" if listed else "ok"
            note = ": now passes: remove it from EXPECTED_TO_FAIL in check.py" if listed else ""
        else:
            verdict = "xfail" if listed else "FAIL"
            note = f": {reason}" + (f" (expected today: {expected[fn.__name__]})" if listed else "")
        counts[verdict] += 1
        print(f"{verdict:<6} {fn.__name__}{note}", flush=True)
    print(
        f"redis-py {redis.__version__} against {args.leader}: {counts['ok']} ok, "
        f"{counts['FAIL']} unexpected failures, {counts['xfail']} expected to fail today, "
        f"{counts['XPASS']} now passing (remove from the list)"
    )
    return 1 if counts["FAIL"] else 0


if __name__ == "__main__":
    sys.exit(main())
