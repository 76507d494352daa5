#!/usr/bin/env bash
# The CI recipe (docs/ci.md): build, then push, only the systems whose sources, system file or
# plugins changed since a base commit, reading and filling the shared build cache.
#
#   tools/ci/affected.sh [BASE] [PLATFORM]
#     BASE      git ref to compare with (default: $NX_BASE, else origin/main, else main)
#     PLATFORM  platform folder under configs/platforms/ whose store and registry receive the
#               pushed artifacts (default: $LABRIG_PLATFORM, else local)
#
# With NX_SELF_HOSTED_REMOTE_CACHE_SERVER and NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN set, builds
# a teammate or an earlier pipeline already made are restored instead of rebuilt.
set -euo pipefail
cd "$(dirname "$0")/../.."

base=${1:-${NX_BASE:-}}
if [ -z "$base" ]; then
  if git rev-parse --verify -q origin/main >/dev/null; then base=origin/main; else base=main; fi
fi
platform=${2:-${LABRIG_PLATFORM:-local}}
if ! git rev-parse --verify -q "$base" >/dev/null; then
  echo "tools/ci/affected.sh: base ref '$base' does not exist here (fetch it: git fetch origin main; or pass another ref)" >&2
  exit 2
fi
if [ ! -f "configs/platforms/$platform/platform.toml" ]; then
  echo "tools/ci/affected.sh: no platform '$platform' (configs/platforms/$platform/platform.toml); the platforms are: $(ls configs/platforms | tr '\n' ' ')" >&2
  exit 2
fi
export NX_DAEMON=${NX_DAEMON:-false} NX_NO_CLOUD=true NX_TUI=false

echo "==> affected since $base:"
npx nx show projects --affected --base="$base" --head=HEAD
npx nx affected -t build --base="$base" --head=HEAD --output-style=stream
# Only system projects have push; -c picks the platform whose store and registry receive them.
npx nx affected -t push --base="$base" --head=HEAD -c "$platform" --output-style=stream
