#!/usr/bin/env sh
# Print the path of a Python 3.10 interpreter: PATH first, then pyenv. Rasa 3.6 needs
# Python >=3.8,<3.11 and this project pins 3.10.
for candidate in python3.10 python3 python; do
  path=$(command -v "$candidate" 2>/dev/null) || continue
  if "$path" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 10) else 1)' 2>/dev/null; then
    echo "$path"; exit 0
  fi
done
for root in "${PYENV_ROOT:-}" "$HOME/.pyenv" /root/.pyenv /usr/local/pyenv; do
  [ -n "$root" ] && [ -d "$root/versions" ] || continue
  for path in $(ls -d "$root"/versions/3.10.*/bin/python3.10 2>/dev/null | sort -V -r); do
    if "$path" -c 'import venv' 2>/dev/null; then echo "$path"; exit 0; fi
  done
done
cat >&2 <<'MSG'
error: Python 3.10 was not found (Rasa 3.6 supports Python 3.8-3.10; this project uses 3.10).
Install it, then run the command again:
  - Debian/Ubuntu:  sudo apt-get install python3.10 python3.10-venv
                    (or: pyenv install 3.10.13)
  - macOS:          brew install python@3.10   (or: pyenv install 3.10.13)
  - Windows:        use WSL2 with Ubuntu and the Debian/Ubuntu line above
Or put a Python 3.10 interpreter first on your PATH.
MSG
exit 1
