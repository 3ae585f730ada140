#!/usr/bin/env bash
# Regenerates src/testkit/ftm-3.5.9.json: the FollowTheMoney model exactly as Aleph 4.1.6 serves it
# in `GET /api/2/metadata` (`model.to_dict()` of followthemoney 3.5.9, the version Aleph pins in
# requirements.txt), for the sandbox.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${TMPDIR:-/tmp}/casefile-ftm-3.5.9"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install -q followthemoney==3.5.9
"$venv/bin/python" - <<'PY' > src/testkit/ftm-3.5.9.json
import json
from followthemoney import model
print(json.dumps(model.to_dict(), sort_keys=True, separators=(",", ":")))
PY
