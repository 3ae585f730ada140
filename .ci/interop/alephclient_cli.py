"""alephclient 2.7's CLI against the casefile sandbox, as its users run it.

Run by .ci/interop/run with ALEPHCLIENT_HOST and ALEPHCLIENT_API_KEY pointing at a running
`casefile-sandbox`. Each step runs the official `alephclient` command (from the same venv as this
interpreter) and then reads back from the server what the command should have left there. Every
step runs; the exit status is 1 if any failed.
"""

import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import requests

HOST = os.environ["ALEPHCLIENT_HOST"].rstrip("/")
KEY = os.environ["ALEPHCLIENT_API_KEY"]
ALEPHCLIENT = str(Path(sys.executable).with_name("alephclient"))
TIMEOUT = 120
FAILURES = []


def alephclient(*args, stdin=None):
    """Runs the alephclient CLI (one try per request, so a refusal shows at once)."""
    return subprocess.run(
        [ALEPHCLIENT, "--retries", "1", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )


def api(method, path, **kwargs):
    response = requests.request(
        method,
        f"{HOST}/api/2/{path}",
        headers={"Authorization": f"ApiKey {KEY}"},
        timeout=TIMEOUT,
        **kwargs,
    )
    response.raise_for_status()
    return response.json()


def collection(foreign_id):
    """The collection with this foreign_id, or None."""
    found = api("GET", "collections", params={"filter:foreign_id": foreign_id})["results"]
    return found[0] if found else None


def step(name):
    def wrap(check):
        try:
            check()
            print(f"PASS {name}")
        except Exception as error:  # a failed step is reported, the others still run
            FAILURES.append(name)
            print(f"FAIL {name}: {error}")
        return check

    return wrap


def ok(result):
    assert result.returncode == 0, (
        f"exit {result.returncode}; stderr: {result.stderr.strip()[-600:]}"
    )
    return result


def stream(foreign_id):
    lines = ok(alephclient("stream-entities", "-f", foreign_id)).stdout.splitlines()
    return [json.loads(line) for line in lines if line.strip()]


ENTITIES = "interop-entities"
DOCS = "interop-docs"


@step("write-entities: entities stored under namespaced ids, references rewritten")
def write_entities():
    lines = [
        {"id": "p1", "schema": "Person", "properties": {"name": ["Ada Lovelace"]}},
        {"id": "c1", "schema": "Company", "properties": {"name": ["Engines Ltd"]}},
        {"id": "o1", "schema": "Ownership", "properties": {"owner": ["p1"], "asset": ["c1"]}},
    ]
    stdin = "".join(json.dumps(line) + "\n" for line in lines)
    ok(alephclient("write-entities", "-f", ENTITIES, "-i", "-", stdin=stdin))
    got = {entity["schema"]: entity for entity in stream(ENTITIES)}
    assert sorted(got) == ["Company", "Ownership", "Person"], f"streamed {sorted(got)}"
    person = got["Person"]["id"]
    # aleph/logic/processing.py bulk_write: ids pass through collection.ns.apply.
    assert person.startswith("p1.") and person != "p1", f"Person id {person!r}"
    owner = got["Ownership"]["properties"]["owner"]
    assert owner == [person], f"owner {owner} is not the stored Person id {person}"


@step("stream-entities: every line a whole entity of the collection")
def stream_entities():
    entities = stream(ENTITIES)
    assert len(entities) == 3, f"{len(entities)} entities"
    for entity in entities:
        assert entity.get("id") and entity.get("schema"), f"line {entity}"


TREE = {
    "report.txt": b"the report\n",
    "evidence/photo-notes.txt": b"notes on the photo\n",
    "evidence/2024/ledger.csv": b"date,amount\n2024-01-02,100\n",
}


@step("crawldir and fetchdir: the tree comes back with its folders")
def crawl_and_fetch():
    with tempfile.TemporaryDirectory() as source, tempfile.TemporaryDirectory() as target:
        for relative, data in TREE.items():
            path = Path(source, relative)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        ok(alephclient("crawldir", "-f", DOCS, source))
        ok(alephclient("fetchdir", "-f", DOCS, "-p", target))
        fetched = {
            str(path.relative_to(target)): path.read_bytes()
            for path in Path(target).rglob("*")
            if path.is_file()
        }
        assert sorted(fetched) == sorted(TREE), f"fetched {sorted(fetched)}"
        for relative, data in TREE.items():
            got = hashlib.sha1(fetched[relative]).hexdigest()
            assert got == hashlib.sha1(data).hexdigest(), f"{relative} differs"


@step("reingest: accepted for a collection of documents")
def reingest():
    ok(alephclient("reingest", "-f", DOCS))
    assert collection(DOCS) is not None, "collection gone after reingest"


@step("flush: the collection remains, emptied")
def flush():
    ok(alephclient("flush", "-f", ENTITIES, "--sync"))
    assert collection(ENTITIES) is not None, "flush (keep_metadata=True) deleted the collection"
    remaining = stream(ENTITIES)
    assert remaining == [], f"{len(remaining)} entities left after flush"


@step("delete: the collection is gone")
def delete():
    ok(alephclient("delete", "-f", DOCS, "--sync"))
    assert collection(DOCS) is None, f"{DOCS} still listed"


if FAILURES:
    print(f"alephclient interop: {len(FAILURES)} step(s) failed")
    sys.exit(1)
print("alephclient interop: all steps passed")
