"""openaleph-client 1.1's CLI (`openaleph`) against the casefile sandbox's OpenAleph flavor.

Run by .ci/interop/run with OPENALEPH_HOST and OPENALEPH_API_KEY pointing at a running
`casefile-sandbox --aleph-flavor openaleph`. Each step runs OpenAleph's own command-line client
(openaleph_client, from the same venv as this interpreter) and then reads back from the server what
the command should have left there, or checks that the sandbox behaves as OpenAleph does where
OpenAleph differs from Aleph 4.1 (spec: openaleph/openaleph `aleph/model/collection.py`,
`aleph/views/serializers.py`, `aleph/views/base_api.py`). Every step runs; the exit status is 1 if
any failed.
"""

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import requests

HOST = os.environ["OPENALEPH_HOST"].rstrip("/")
KEY = os.environ["OPENALEPH_API_KEY"]
OPENALEPH = str(Path(sys.executable).with_name("openaleph"))
TIMEOUT = 120
FAILURES = []


def openaleph(*args, stdin=None):
    """Runs the openaleph CLI (one try per request, so a refusal shows at once)."""
    return subprocess.run(
        [OPENALEPH, "--retries", "1", *args],
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
    lines = ok(openaleph("stream-entities", "-f", foreign_id)).stdout.splitlines()
    return [json.loads(line) for line in lines if line.strip()]


# OpenAleph >= 5.2 takes only dataset names as foreign ids.
ENTITIES = "interop_entities"
DOCS = "interop_docs"


@step("metadata: the sandbox says it is OpenAleph 5")
def metadata():
    app = api("GET", "metadata")["app"]
    assert app["version"].startswith("5."), f"version {app['version']!r}"


@step("write-entities: entities stored under namespaced ids, references rewritten")
def write_entities():
    lines = [
        {"id": "p1", "schema": "Person", "properties": {"name": ["Ada Lovelace"]}},
        {"id": "c1", "schema": "Company", "properties": {"name": ["Engines Ltd"]}},
        {"id": "o1", "schema": "Ownership", "properties": {"owner": ["p1"], "asset": ["c1"]}},
    ]
    stdin = "".join(json.dumps(line) + "\n" for line in lines)
    ok(openaleph("write-entities", "-f", ENTITIES, "-i", "-", stdin=stdin))
    got = {entity["schema"]: entity for entity in stream(ENTITIES)}
    assert sorted(got) == ["Company", "Ownership", "Person"], f"streamed {sorted(got)}"
    person = got["Person"]["id"]
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
    "evidence/2024/ledger.csv": b"date,amount\n2024-01-02,100\n",
}


@step("crawldir: the documents and their folders are ingested")
def crawl():
    with tempfile.TemporaryDirectory() as source:
        for relative, data in TREE.items():
            path = Path(source, relative)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        ok(openaleph("crawldir", "-f", DOCS, source))
    found = collection(DOCS)
    assert found is not None, f"{DOCS} not created"
    names = set()
    for entity in stream(DOCS):
        names.update(entity.get("properties", {}).get("fileName", []))
    for expected in ["report.txt", "ledger.csv", "evidence", "2024"]:
        assert expected in names, f"{expected} not ingested; names {sorted(names)}"


@step("crawldir with a foreign id that is no dataset name: refused, nothing created")
def crawl_refused():
    with tempfile.TemporaryDirectory() as source:
        Path(source, "a.txt").write_bytes(b"a\n")
        result = openaleph("crawldir", "-f", "interop-refused", source)
    assert result.returncode != 0, "the sandbox took a foreign id OpenAleph refuses"
    assert collection("interop-refused") is None, "a refused collection was stored"


@step("fetchdir: nothing to fetch, as on OpenAleph >= 5.2, whose search hits carry no file links")
def fetchdir():
    # openaleph_client fetchdir reads `links.file` from search results; OpenAleph 5.2 gives them
    # only in GET /entities/{id} (openaleph `aleph/views/serializers.py`, `detail_view`), so the
    # official client fetches nothing there. casefile's `archive().file` fetches the entity.
    with tempfile.TemporaryDirectory() as target:
        ok(openaleph("fetchdir", "-f", DOCS, "-p", target))
        fetched = [p for p in Path(target).rglob("*") if p.is_file()]
        assert fetched == [], f"fetched {fetched}: the sandbox put file links in search hits"
    params = {"filter:schemata": "Document", "filter:collection_id": collection(DOCS)["id"]}
    hits = api("GET", "entities", params={**params, "limit": 50})["results"]
    assert hits, "no documents to look at"
    with_links = [h["id"] for h in hits if "file" in h.get("links", {})]
    assert with_links == [], f"search hits with file links: {with_links}"
    links = [api("GET", f"entities/{h['id']}").get("links", {}).get("file") for h in hits]
    links = [link for link in links if link]
    assert links, "no document's detail view has a file link"
    for link in links:
        assert "/api/2/archive/resolve?" in link, f"detail link {link}"


@step("make-list and entitysets: the list is there")
def lists():
    made = ok(openaleph("make-list", "Suspects", "-f", ENTITIES, "-s", "from interop"))
    listed = ok(openaleph("entitysets", "-f", ENTITIES, "-t", "list")).stdout
    labels = [json.loads(line).get("label") for line in listed.splitlines() if line.strip()]
    assert "Suspects" in labels, f"lists {labels}; make-list said {made.stdout.strip()!r}"


@step("reingest and reindex: accepted")
def reprocess():
    ok(openaleph("reingest", "-f", DOCS))
    ok(openaleph("reindex", "-f", ENTITIES))
    assert collection(DOCS) is not None, "collection gone after reingest"


@step("flush: the collection remains, emptied")
def flush():
    ok(openaleph("flush", "-f", ENTITIES, "--sync"))
    assert collection(ENTITIES) is not None, "flush (keep_metadata=True) deleted the collection"
    remaining = stream(ENTITIES)
    assert remaining == [], f"{len(remaining)} entities left after flush"


@step("delete: the collection is gone")
def delete():
    ok(openaleph("delete", "-f", DOCS, "--sync"))
    assert collection(DOCS) is None, f"{DOCS} still listed"


if FAILURES:
    print(f"openaleph interop: {len(FAILURES)} step(s) failed")
    sys.exit(1)
print("openaleph interop: all steps passed")
