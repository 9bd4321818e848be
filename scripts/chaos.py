#!/usr/bin/env python3
"""A chaos run: orders keep coming while accounts and orders are killed, and no cent goes astray.

    just chaos [seconds] [--trust-mode e2e|exchange] [--postgres URL]

It starts the platform `just up` runs (the real binaries, detached), with a state directory,
a data directory and ports of its own (18090 to 18095, the gateway on 18443), so it runs beside a
platform `just up` started; then for `seconds`:

- a few customers' clients place orders, each with an `Idempotency-Key`, and retry a request that
  got no final answer (a dropped connection, a 5xx, a 202 still pending) with the same key; some
  requests are sent twice at once with one key, as a client that timed out and retried would;
- carol, an admin, refunds some of the paid orders, and deposits money into the customers'
  accounts (each deposit under a reference of its own), retrying the same way;
- every few seconds, accounts or orders is killed with SIGKILL at whatever moment it is in, and
  started again (`scripts/up.sh --restart`).

Then the killing stops, the reconciler is given time to settle whatever was left `pending`, and
the books are checked, from the databases themselves:

- no order is still `pending`;
- one idempotency key stands for at most one order that was paid;
- every paid order has exactly one debit for its total, every refunded one that debit and one
  refund credit, and a failed one no money at all;
- every debit and refund in the ledger belongs to an order that says it was paid or refunded;
- every deposit in the ledger is one carol sent, to that account, once, and every deposit she
  was told was made is there;
- every customer's balance is the opening balance, plus the deposits, less the orders still
  paid, to the cent.

It prints the figures and exits non-zero if anything is off. The platform runs with the
reconciler settling orders pending for more than three seconds (production waits five minutes),
and with the order and rate limits lifted, so that the stream is judged on its money, not turned
away at the door. Only loopback is ever dialled.
"""

import argparse
import json
import os
import random
import shutil
import signal
import sqlite3
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The chaos platform's ports: `just up`'s plus 10 000, so that the two can run side by side.
PORTS = {"sts": 18090, "users": 18091, "accounts": 18092, "orders": 18093, "supplier": 18095}
GATEWAY_PORT = 18443
GATEWAY = f"https://127.0.0.1:{GATEWAY_PORT}"
# Where the chaos platform keeps its certificates, logs and pid files (set in `main`).
STATE_DIR = ""
CUSTOMERS = ("alice", "bob")
ADMIN = "carol"
# What the stream orders, from the demo catalogue.
SKUS = ("BATON-STICKERS", "BATON-MUG", "BATON-TSHIRT")
# How often a request is retried with its key before the client gives up on it (it is then left
# to the reconciler, as a client that went away would leave it).
RETRIES = 6
# What carol deposits each time, in minor units.
DEPOSIT_MINOR = 5000
RECONCILE_AFTER_MS = 3000
RECONCILE_EVERY_MS = 1000
COMPONENTS = ("sts", "users", "accounts", "orders")


class Tally:
    """What the run did, counted from every thread."""

    def __init__(self):
        self.lock = threading.Lock()
        self.counts = {}

    def add(self, name, n=1):
        with self.lock:
            self.counts[name] = self.counts.get(name, 0) + n

    def __getitem__(self, name):
        with self.lock:
            return self.counts.get(name, 0)


class Api:
    """The gateway, over TLS verified with the development CA."""

    def __init__(self):
        self.tls = ssl.create_default_context(cafile=os.path.join(STATE_DIR, "certs/bundle.pem"))

    def call(self, method, path, token, body=None, key=None, timeout=20):
        """(status, JSON body); status 0 when no answer came (the connection dropped)."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(GATEWAY + path, data=data, method=method)
        request.add_header("Authorization", f"Bearer {token}")
        request.add_header("Connection", "close")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if key is not None:
            request.add_header("Idempotency-Key", key)
        try:
            with urllib.request.urlopen(request, context=self.tls, timeout=timeout) as answer:
                return answer.status, json.loads(answer.read() or b"null")
        except urllib.error.HTTPError as refused:
            try:
                return refused.code, json.loads(refused.read() or b"null")
            except ValueError:
                return refused.code, None
        except (OSError, ValueError):
            return 0, None


def final(status, body):
    """Whether an answer settles a request, so that a client stops retrying it: a 2xx whose order
    is no longer pending, or a refusal. No answer, a 5xx, the gateway's 408 (it stopped waiting,
    the request may go on), a 202 (still pending) and a 409 for a request with the same key still
    in progress are worth another try with the key."""
    if status in (0, 408) or status >= 500:
        return False
    if 200 <= status < 300:
        return not (isinstance(body, dict) and body.get("status") == "pending")
    in_progress = (
        isinstance(body, dict) and body.get("type") == "urn:baton:problem:request-in-progress"
    )
    return not (status == 409 and in_progress)


def with_retries(tally, what, send, seen=None, retries=RETRIES):
    """Sends until an answer settles it or the retries run out; the last answer. The id of every
    order an answer names is added to `seen`."""
    status, body = 0, None
    for attempt in range(retries):
        if attempt:
            tally.add(f"{what} retries")
            time.sleep(0.3 + random.random() * 0.7)
        status, body = send()
        if seen is not None and isinstance(body, dict) and "id" in body:
            seen.add(body["id"])
        if status >= 500:
            tally.add(f"{what} answered {status}")
        if final(status, body):
            return status, body
    tally.add(f"{what} given up")
    return status, body


def customer(api, tally, token, account, deadline, paid_orders, by_key):
    while time.monotonic() < deadline:
        sku = random.choice(SKUS)
        order = {"account_id": account, "items": [{"sku": sku, "quantity": random.randint(1, 2)}]}
        key = str(uuid.uuid4())
        seen = by_key.setdefault(key, set())
        tally.add("orders tried")

        def send():
            return api.call("POST", "/v1/orders", token, order, key)

        if random.random() < 0.3:
            # A client that gave up waiting and sent the same request again at once.
            tally.add("orders sent twice at once")
            twin = threading.Thread(target=with_retries, args=(tally, "order", send, seen))
            twin.start()
            status, body = with_retries(tally, "order", send, seen)
            twin.join()
        else:
            status, body = with_retries(tally, "order", send, seen)
        if status in (200, 201) and isinstance(body, dict) and body.get("status") == "paid":
            paid_orders.append(body["id"])
        time.sleep(random.random() * 0.2)


def refunder(api, tally, token, deadline, paid_orders):
    while time.monotonic() < deadline:
        time.sleep(0.5 + random.random())
        if not paid_orders:
            continue
        order_id = paid_orders.pop(random.randrange(len(paid_orders)))
        tally.add("refunds tried")
        # A refund left half way (credited, the order not yet marked) when carol gives up is the
        # reconciler's to finish.
        send = lambda: api.call("POST", f"/v1/orders/{order_id}/refund", token)  # noqa: E731
        with_retries(tally, "refund", send)


def depositor(api, tally, token, accounts, deadline, deposits):
    """Deposits into a random customer's account now and then; `deposits` maps each reference
    sent to (account, whether it was answered as made)."""
    while time.monotonic() < deadline:
        time.sleep(0.5 + random.random())
        account = random.choice(list(accounts.values()))
        reference = uuid.uuid4().hex
        body = {"amount_minor": DEPOSIT_MINOR, "currency": "EUR", "reference": reference}
        tally.add("deposits tried")
        status, _ = with_retries(
            tally,
            "deposit",
            lambda: api.call("POST", f"/v1/accounts/{account}/deposits", token, body),
        )
        deposits[reference] = (account, status == 201)


def pid_of(name):
    with open(os.path.join(STATE_DIR, "pids", f"{name}.pid")) as pid_file:
        return int(pid_file.read().strip())


def killer(tally, env, deadline, failures):
    """Kills accounts or orders every few seconds until the deadline, and starts it again; a
    component that does not come back ends the killing, with the reason in `failures`."""
    while time.monotonic() < deadline:
        time.sleep(1.5 + random.random() * 2.5)
        victim = random.choice(("accounts", "orders"))
        try:
            os.kill(pid_of(victim), signal.SIGKILL)
        except (OSError, ValueError):
            continue
        tally.add(f"{victim} killed")
        time.sleep(random.random())
        restart = subprocess.run(
            [os.path.join(ROOT, "scripts/up.sh"), "--restart", victim],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        if restart.returncode != 0:
            failures.append(f"{victim} did not come back:\n{restart.stdout}{restart.stderr}")
            return


class Books:
    """The accounts and orders databases, read directly: SQLite files or PostgreSQL."""

    def __init__(self, data_dir, postgres):
        self.data_dir, self.postgres = data_dir, postgres

    def rows(self, component, sql):
        if self.postgres:
            out = subprocess.run(
                ["psql", self.postgres[component], "-AtX", "-F", "\t", "-c", sql],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            return [tuple(line.split("\t")) for line in out.splitlines() if line]
        with sqlite3.connect(f"file:{self.data_dir}/{component}.db?mode=ro", uri=True) as db:
            return [tuple(str(v) for v in row) for row in db.execute(sql)]


def check(api, books, tokens, accounts, opening, deposits, by_key):
    """The books, after the reconciler: a list of what is off (empty when nothing is)."""
    off = []
    deposited = {}
    orders = {
        oid: (status, int(total), account)
        for oid, status, total, account in books.rows(
            "orders", "SELECT id, status, total_minor, account_id FROM orders"
        )
    }
    ledger = books.rows("accounts", "SELECT account_id, reference, amount_minor, kind FROM ledger")
    pending = [oid for oid, (status, _, _) in orders.items() if status == "pending"]
    if pending:
        off.append(f"{len(pending)} orders still pending: {pending[:5]}")
    moves = {}
    for account_id, reference, amount, kind in ledger:
        if reference == "demo-opening-balance":
            continue
        if reference.startswith("deposit:"):
            sent = deposits.get(reference.removeprefix("deposit:"))
            if sent is None or sent[0] != account_id or int(amount) != DEPOSIT_MINOR:
                off.append(f"a deposit nobody sent: {reference} of {amount} to {account_id}")
            deposited[account_id] = deposited.get(account_id, 0) + int(amount)
            continue
        order_id = reference.removeprefix("refund:")
        moves.setdefault(order_id, []).append((kind, int(amount), account_id))
    for oid, (status, total, account) in orders.items():
        found = sorted(moves.get(oid, []))
        expected = {
            "paid": [("debit", -total, account)],
            "refunded": sorted([("credit", total, account), ("debit", -total, account)]),
            "failed": [],
            "pending": found,
        }[status]
        # A failed order may have its reference voided (a row of no money).
        found_money = [move for move in found if move[0] != "void"]
        if found_money != expected:
            off.append(f"order {oid} is {status} but the ledger holds {found}")
    for key, ids in by_key.items():
        charged = [oid for oid in ids if orders.get(oid, ("",))[0] in ("paid", "refunded")]
        if len(charged) > 1:
            off.append(f"key {key} was charged {len(charged)} times: {charged}")
    in_ledger = {reference.removeprefix("deposit:") for _, reference, _, _ in ledger}
    for reference, (account, made) in deposits.items():
        if made and reference not in in_ledger:
            off.append(
                f"deposit {reference} to {account} was answered 201 and is not in the ledger"
            )
    for oid in moves:
        if oid not in orders:
            off.append(f"the ledger moved money for {oid}, which is no order")
    for user in CUSTOMERS:
        status, body = api.call("GET", f"/v1/accounts/{accounts[user]}", tokens[user])
        if status != 200:
            off.append(f"{user}'s account could not be read: {status}")
            continue
        still_paid = sum(
            total
            for status_, total, account in orders.values()
            if account == accounts[user] and status_ == "paid"
        )
        expected = opening[user] + deposited.get(accounts[user], 0) - still_paid
        if body["balance_minor"] != expected:
            off.append(
                f"{user}: balance {body['balance_minor']}, expected {expected} "
                f"({body['balance_minor'] - expected:+} cents off)"
            )
    return off, orders


def login(user, env):
    binary = os.path.join(
        os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")), "debug/baton-login"
    )
    return subprocess.run(
        [binary, user, "--gateway", GATEWAY], env=env, check=True, capture_output=True, text=True
    ).stdout.strip()


def fresh_postgres(url):
    """A fresh database per component on the PostgreSQL server `url` names (loopback only)."""
    host = url.split("@")[-1].split("/")[0].split(":")[0]
    if host not in ("127.0.0.1", "localhost", "[::1]"):
        raise SystemExit(f"chaos: --postgres must name a loopback server, not {host}")
    base = url.rsplit("/", 1)[0]
    urls = {}
    for component in COMPONENTS:
        name = f"baton_chaos_{component}"
        subprocess.run(
            ["psql", url, "-qX", "-c", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"], check=True
        )
        subprocess.run(["psql", url, "-qX", "-c", f"CREATE DATABASE {name}"], check=True)
        urls[component] = f"{base}/{name}"
    return urls


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("seconds", nargs="?", type=int, default=60)
    parser.add_argument("--trust-mode", choices=("e2e", "exchange"), default="e2e")
    parser.add_argument("--postgres", metavar="URL", help="run every component on PostgreSQL")
    args = parser.parse_args()

    global STATE_DIR
    run_dir = tempfile.mkdtemp(prefix="baton-chaos-")
    data_dir, STATE_DIR = os.path.join(run_dir, "data"), os.path.join(run_dir, "state")
    env = {k: v for k, v in os.environ.items() if not k.endswith("DATABASE_URL")}
    env.update({f"{name.upper()}_LISTEN": f"127.0.0.1:{port}" for name, port in PORTS.items()})
    env.update(
        {
            "GATEWAY_LISTEN": f"127.0.0.1:{GATEWAY_PORT}",
            "STS_PUBLIC_URL": GATEWAY,
            "BATON_STATE_DIR": STATE_DIR,
            "BATON_CA_BUNDLE": os.path.join(STATE_DIR, "certs/bundle.pem"),
            "BATON_DATA_DIR": data_dir,
            "TRUST_MODE": args.trust_mode,
            "ORDERS_RECONCILE_AFTER_MS": str(RECONCILE_AFTER_MS),
            "ORDERS_RECONCILE_EVERY_MS": str(RECONCILE_EVERY_MS),
            "ORDERS_MAX_ORDERS_PER_WINDOW": "100000",
            "GATEWAY_RATE_LIMIT_API": "100000",
        }
    )
    postgres = fresh_postgres(args.postgres) if args.postgres else None
    for component, url in (postgres or {}).items():
        env[f"{component.upper()}_DATABASE_URL"] = url
    books = Books(data_dir, postgres)
    where = "PostgreSQL" if postgres else "SQLite"
    print(f"chaos: {args.seconds} s, trust mode {args.trust_mode}, {where}, in {run_dir}")
    subprocess.run(
        [os.path.join(ROOT, "scripts/up.sh"), "--detach"],
        env=env,
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    try:
        api, tally = Api(), Tally()
        tokens = {user: login(user, env) for user in (*CUSTOMERS, ADMIN)}
        accounts, opening = {}, {}
        for user in CUSTOMERS:
            _, listed = api.call("GET", "/v1/accounts", tokens[user])
            account = listed["accounts"][0]
            accounts[user], opening[user] = account["id"], account["balance_minor"]
        deadline = time.monotonic() + args.seconds
        paid_orders, by_key, failures = [], {}, []
        threads = [
            threading.Thread(
                target=customer,
                args=(api, tally, tokens[user], accounts[user], deadline, paid_orders, by_key),
            )
            for user in CUSTOMERS
            for _ in range(2)
        ]
        deposits = {}
        threads.append(
            threading.Thread(
                target=refunder, args=(api, tally, tokens[ADMIN], deadline, paid_orders)
            )
        )
        threads.append(
            threading.Thread(
                target=depositor, args=(api, tally, tokens[ADMIN], accounts, deadline, deposits)
            )
        )
        chaos = threading.Thread(target=killer, args=(tally, env, deadline, failures))
        for thread in (*threads, chaos):
            thread.start()
        for thread in (*threads, chaos):
            thread.join()
        if failures:
            raise SystemExit("chaos: " + "\n".join(failures))
        # Every component up, then time for the reconciler to settle what the kills left pending.
        time.sleep((RECONCILE_AFTER_MS + 3 * RECONCILE_EVERY_MS) / 1000)
        off, orders = check(api, books, tokens, accounts, opening, deposits, by_key)
        for _ in range(10):
            if not any("pending" in line for line in off):
                break
            time.sleep(RECONCILE_EVERY_MS / 1000)
            off, orders = check(api, books, tokens, accounts, opening, deposits, by_key)
    finally:
        down = os.path.join(ROOT, "scripts/down.sh")
        subprocess.run([down], env=env, cwd=ROOT, stdout=subprocess.DEVNULL)
    by_status = {}
    for status, _, _ in orders.values():
        by_status[status] = by_status.get(status, 0) + 1
    cents_off = 0
    for line in off:
        if "cents off" in line:
            cents_off += abs(int(line.split("(")[-1].split(" ")[0]))
    print(
        f"orders tried: {tally['orders tried']} (sent twice at once: {tally['orders sent twice at once']}, "
        f"retries: {tally['order retries']}, given up: {tally['order given up']})"
    )
    print(
        f"orders written: {len(orders)}: "
        + ", ".join(f"{n} {s}" for s, n in sorted(by_status.items()))
    )
    print(
        f"refunds tried: {tally['refunds tried']} (retries: {tally['refund retries']}); "
        f"deposits tried: {tally['deposits tried']} (retries: {tally['deposit retries']})"
    )
    print(f"kills: accounts {tally['accounts killed']}, orders {tally['orders killed']}")
    print(f"cents off: {cents_off}")
    if off:
        print("the books do not balance:", *off, sep="\n  ")
        sys.exit(1)
    print("the books balance: every cent is where the orders say it is")
    # What a failed run leaves is kept, to be looked at; a run that balanced leaves nothing.
    shutil.rmtree(run_dir, ignore_errors=True)
    for component in postgres or {}:
        drop = f"DROP DATABASE IF EXISTS baton_chaos_{component} WITH (FORCE)"
        subprocess.run(["psql", args.postgres, "-qX", "-c", drop], check=False)


if __name__ == "__main__":
    main()
