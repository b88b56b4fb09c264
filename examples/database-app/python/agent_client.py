"""A Python application that reads its PostgreSQL login through a secrets
agent, as any language would: AWS's agent HTTP interface, the standard
library's HTTP client, and pg8000 for PostgreSQL.

Each worker opens a connection, runs SELECT 1 and closes it, every
--pause-ms, for --duration-s. With --aware, a refused login asks the agent
for the value to try next (/secretsmanager/after-refusal, which only
rotation-aware agents answer) and connects again with it; without, the
client is what a client of AWS's agent is: it uses the value the agent
serves until the agent's time to live ends. It prints its tally as one
JSON object on stdout.
"""

import argparse
import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import pg8000.dbapi
import pg8000.native

# SQLSTATE of a refused login: invalid_password, invalid_authorization.
REFUSED = {"28P01", "28000"}


class Agent:
    def __init__(self, port, token, secret_id):
        self.base = f"http://127.0.0.1:{port}"
        self.token = token
        self.secret_id = urllib.parse.quote(secret_id, safe="")

    def _get(self, path):
        request = urllib.request.Request(
            self.base + path, headers={"X-Aws-Parameters-Secrets-Token": self.token}
        )
        try:
            with urllib.request.urlopen(request, timeout=5) as answer:
                return json.load(answer)
        except urllib.error.HTTPError as error:
            if error.code == 404:
                return None
            raise

    def current(self):
        return self._get(f"/secretsmanager/get?secretId={self.secret_id}")

    def after_refusal(self, version_id):
        version = urllib.parse.quote(version_id, safe="")
        return self._get(
            f"/secretsmanager/after-refusal?secretId={self.secret_id}&versionId={version}"
        )


class Refused(Exception):
    pass


def connect(value):
    login = json.loads(value["SecretString"])
    try:
        connection = pg8000.native.Connection(
            user=login["username"],
            password=login["password"],
            host=login["host"],
            port=int(login["port"]),
            database=login.get("dbname") or "postgres",
            timeout=5,
        )
    except pg8000.dbapi.DatabaseError as error:
        fields = error.args[0] if error.args and isinstance(error.args[0], dict) else {}
        if fields.get("C") in REFUSED:
            raise Refused() from None
        raise
    try:
        connection.run("SELECT 1")
    finally:
        connection.close()


class Tally:
    def __init__(self):
        self.lock = threading.Lock()
        self.connections = 0
        self.failed = 0
        self.refused_logins = 0
        self.longest_outage_ms = 0.0

    def add(self, **counts):
        with self.lock:
            for name, value in counts.items():
                setattr(self, name, getattr(self, name) + value)

    def outage(self, seconds):
        with self.lock:
            self.longest_outage_ms = max(self.longest_outage_ms, seconds * 1000)


def worker(agent, aware, pause, until, tally):
    # The pending value that logged in while AWSCURRENT did not, for the
    # AWSCURRENT version it stands in for (a single-user rotation's window).
    stand_in = None
    outage_since = None
    while time.monotonic() < until:
        ok = False
        try:
            current = agent.current()
            first = current
            if stand_in and stand_in[0] == current["VersionId"]:
                first = stand_in[1]
            try:
                connect(first)
                ok = True
            except Refused:
                tally.add(refused_logins=1)
                if aware:
                    newer = agent.after_refusal(first["VersionId"])
                    if newer is not None:
                        try:
                            connect(newer)
                            ok = True
                            if "AWSPENDING" in newer["VersionStages"]:
                                stand_in = (current["VersionId"], newer)
                        except Refused:
                            tally.add(refused_logins=1)
        except Exception:  # noqa: BLE001 - any failure is a failed connection
            ok = False
        now = time.monotonic()
        tally.add(connections=1, failed=0 if ok else 1)
        if ok and outage_since is not None:
            tally.outage(now - outage_since)
            outage_since = None
        elif not ok and outage_since is None:
            outage_since = now
        time.sleep(pause)
    if outage_since is not None:
        tally.outage(time.monotonic() - outage_since)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--secret-id", required=True)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--pause-ms", type=int, default=100)
    parser.add_argument("--duration-s", type=float, required=True)
    parser.add_argument("--aware", action="store_true")
    args = parser.parse_args()
    agent = Agent(args.port, args.token, args.secret_id)
    tally = Tally()
    until = time.monotonic() + args.duration_s
    threads = [
        threading.Thread(
            target=worker, args=(agent, args.aware, args.pause_ms / 1000, until, tally)
        )
        for _ in range(args.workers)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(
        json.dumps(
            {
                "connections": tally.connections,
                "failed": tally.failed,
                "refused_logins": tally.refused_logins,
                "longest_outage_ms": tally.longest_outage_ms,
            }
        )
    )


if __name__ == "__main__":
    main()
