#!/bin/sh
# Rasa server in a container: endpoints and channels come from the environment, exactly as
# `make run` builds them (`python -m bot serve-rasa`); nothing secret is in the image.
set -eu
export BIND_HOST="${BIND_HOST:-0.0.0.0}" WEB_ALLOWED_ORIGINS="${WEB_ALLOWED_ORIGINS:-https://bot.example}"
exec python -m bot serve-rasa --model "${MODEL_PATH:-models}"
