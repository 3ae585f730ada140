"""The Atlos calls of bellingcat/auto-archiver against the casefile sandbox.

auto-archiver's `atlos_feeder_db_storage` module
(src/auto_archiver/modules/atlos_feeder_db_storage/atlos_feeder_db_storage.py) is a feeder (it
pages through source material), a database (it writes its result into the source material's
`auto_archiver` metadata) and a storage (it uploads archived files as artifacts). This script
makes the same HTTP calls the same way — requests, a Bearer token, `params`, `json=` and
`files=` exactly as the module passes them — and reads back what each call should have changed.
Run by .ci/interop/run with ATLOS_URL and ATLOS_API_TOKEN pointing at a running
`casefile-sandbox`. Every step runs; the exit status is 1 if any failed.
"""

import hashlib
import os
import sys
import tempfile

import requests

ATLOS_URL = os.environ["ATLOS_URL"].rstrip("/")
TOKEN = os.environ["ATLOS_API_TOKEN"]
TIMEOUT = 120
MAX_PAGES = 1000  # the module loops until `next` is null; a broken cursor must not hang CI
SESSION = requests.Session()
FAILURES = []


def _get(endpoint, params=None):
    url = f"{ATLOS_URL}{endpoint}"
    response = SESSION.get(
        url, headers={"Authorization": f"Bearer {TOKEN}"}, params=params, timeout=TIMEOUT
    )
    response.raise_for_status()
    return response.json()


def _post(endpoint, json=None, params=None, files=None):
    url = f"{ATLOS_URL}{endpoint}"
    response = SESSION.post(
        url,
        headers={"Authorization": f"Bearer {TOKEN}"},
        json=json,
        params=params,
        files=files,
        timeout=TIMEOUT,
    )
    response.raise_for_status()
    return response.json()


def feed():
    """The module's __iter__: (source_url, id) of every unprocessed, visible, finished item.

    One deviation: the module reads `item.get("metadata", {}).get(...)`, which raises on the
    `"metadata": null` real Atlos sends for some source material (api_v2_controller.ex renders
    the field as stored); here a null counts as empty so the run can go on.
    """
    cursor = None
    items = []
    for _ in range(MAX_PAGES):
        data = _get("/api/v2/source_material", params={"cursor": cursor})
        cursor = data.get("next")
        results = data.get("results", [])
        for item in results:
            metadata = item.get("metadata") or {}
            if (
                item.get("source_url") not in [None, ""]
                and not metadata.get("auto_archiver", {}).get("processed", False)
                and item.get("visibility") == "visible"
                and item.get("status") not in ["processing", "pending"]
            ):
                items.append((item["source_url"], item["id"]))
        if not results or cursor is None:
            return items
    raise AssertionError(f"still a next cursor after {MAX_PAGES} pages")


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


STATE = {}


@step("feeder: pages through source material and finds work")
def feeder():
    items = feed()
    assert len(items) >= 2, f"{len(items)} items to archive"
    ids = [atlos_id for _, atlos_id in items]
    assert len(set(ids)) == len(ids), "an item came twice"
    STATE["items"] = items


def stored_metadata(atlos_id):
    result = _get(f"/api/v2/source_material/{atlos_id}")["result"]
    return (result.get("metadata") or {}).get("auto_archiver")


@step("database done(): the result is stored and the item leaves the feed")
def done():
    _, atlos_id = STATE["items"][0]
    results = {"url": STATE["items"][0][0], "archived_at": "2026-01-02T03:04:05"}
    _post(
        f"/api/v2/source_material/metadata/{atlos_id}/auto_archiver",
        json={"metadata": {"processed": True, "status": "success", "results": results}},
    )
    stored = stored_metadata(atlos_id)
    assert stored == {"processed": True, "status": "success", "results": results}, stored
    assert atlos_id not in [i for _, i in feed()], "a processed item is fed again"


@step("database failed(): the failure is stored and the item leaves the feed")
def failed():
    _, atlos_id = STATE["items"][1]
    _post(
        f"/api/v2/source_material/metadata/{atlos_id}/auto_archiver",
        json={"metadata": {"processed": True, "status": "error", "error": "no media found"}},
    )
    stored = stored_metadata(atlos_id)
    assert stored == {"processed": True, "status": "error", "error": "no media found"}, stored
    assert atlos_id not in [i for _, i in feed()], "a failed item is fed again"


def upload(atlos_id, filename, properties):
    """The module's upload(): skip a file whose sha256 is already an artifact, else post it."""
    sha = hashlib.sha256()
    with open(filename, "rb") as fh:
        for chunk in iter(lambda: fh.read(4096), b""):
            sha.update(chunk)
    media_hash = sha.hexdigest()
    source_material = _get(f"/api/v2/source_material/{atlos_id}")["result"]
    existing = [a.get("file_hash_sha256") for a in source_material.get("artifacts", [])]
    if media_hash in existing:
        return False
    with open(filename, "rb") as file_obj:
        _post(
            f"/api/v2/source_material/upload/{atlos_id}",
            # As the module sends it: `media.properties` is a dict, which requests turns into
            # one `title` pair per key.
            params={"title": properties},
            files={"file": (os.path.basename(filename), file_obj)},
        )
    return True


@step("storage upload(): the file becomes an artifact, a second upload is skipped")
def storage():
    _, atlos_id = STATE["items"][0]
    before = len(_get(f"/api/v2/source_material/{atlos_id}")["result"].get("artifacts", []))
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "screenshot.png")
        data = b"\x89PNG\r\n\x1a\n" + os.urandom(2048)
        with open(path, "wb") as fh:
            fh.write(data)
        assert upload(atlos_id, path, {"screenshot": "screenshot.png"}), "first upload skipped"
        artifacts = _get(f"/api/v2/source_material/{atlos_id}")["result"]["artifacts"]
        assert len(artifacts) == before + 1, f"{before} artifacts before, {len(artifacts)} after"
        digest = hashlib.sha256(data).hexdigest()
        matching = [a for a in artifacts if a.get("file_hash_sha256") == digest]
        assert matching, "no artifact has the file's sha256"
        assert matching[0].get("file_size") == len(data), matching[0]
        assert not upload(atlos_id, path, {"screenshot": "screenshot.png"}), "uploaded twice"


if FAILURES:
    print(f"auto-archiver interop: {len(FAILURES)} step(s) failed")
    sys.exit(1)
print("auto-archiver interop: all steps passed")
