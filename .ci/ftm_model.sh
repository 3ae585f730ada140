#!/usr/bin/env bash
# Regenerates the FollowTheMoney models the sandbox serves in `GET /api/2/metadata`, each exactly
# as its server sends it (`model.to_dict()`):
#   src/testkit/ftm-3.5.9.json   followthemoney 3.5.9, which Aleph 4.1.6 pins (requirements.txt);
#   src/testkit/ftm-4.10.0.json  followthemoney 4.10.0, the floor OpenAleph main pins
#                                (pyproject.toml `followthemoney (>=4.10.0,<5)`).
set -euo pipefail
cd "$(dirname "$0")/.."
for version in 3.5.9 4.10.0; do
    venv="${TMPDIR:-/tmp}/casefile-ftm-$version"
    [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
    "$venv/bin/pip" install -q "followthemoney==$version"
    "$venv/bin/python" - <<'PY' > "src/testkit/ftm-$version.json"
import json
from followthemoney import model
print(json.dumps(model.to_dict(), sort_keys=True, separators=(",", ":")))
PY
done
