#!/bin/sh
# Rasa server in a container: endpoints and channels come from the environment, exactly as
# `make run` builds them (bot/endpoints.py, bot/credentials.py); nothing secret is in the image.
set -eu
python - <<'PY'
import os
from pathlib import Path

import yaml

from bot.credentials import build_credentials
from bot.endpoints import write_endpoints

run = Path("build/run")
write_endpoints(os.environ, run / "endpoints.yml")
creds = run / "credentials.yml"
creds.touch(mode=0o600, exist_ok=True)
creds.write_text(yaml.safe_dump(build_credentials(os.environ), sort_keys=False))
PY
set -- --model "${MODEL_PATH:-models}" --port 5005 --interface 0.0.0.0 \
  --endpoints build/run/endpoints.yml --credentials build/run/credentials.yml \
  --cors ${WEB_ALLOWED_ORIGINS:-https://bot.example}
if [ -n "${RASA_API_TOKEN:-}" ]; then
  set -- "$@" --enable-api --auth-token "$RASA_API_TOKEN"
fi
exec python -m rasa run "$@"
