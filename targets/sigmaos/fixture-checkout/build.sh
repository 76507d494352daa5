#!/bin/bash
# FIXTURE (tests only): mimics SigmaOS's build.sh interface (`--parallel --target local|aws|remote
# [--push TAG]`). Like the real one (which runs `docker exec -it`) it needs a terminal on stdin.
# Writes user proc binaries to bin/user and bin/wasm. Told to fail by a file .fixture-fail in the
# checkout: `exit` (non-zero exit) or `builderror` (prints BUILD ERROR, exits 0 as their parallel build can).
TARGET=local
while [[ $# -gt 0 ]]; do
  case "$1" in
  --parallel) shift ;;
  --target) TARGET=$2; shift 2 ;;
  --push) shift 2 ;;
  *) echo "Error: unexpected argument '$1'"; exit 1 ;;
  esac
done
if ! [ -t 0 ]; then echo "the input device is not a TTY"; exit 1; fi
echo "========== Building SigmaOS (target $TARGET) =========="
mode=$(cat .fixture-fail 2>/dev/null)
if [ "$mode" = exit ]; then echo "go: compile error in user/spawn-latency"; exit 2; fi
if [ "$mode" = builderror ]; then echo "BUILD ERROR: user/spawn-latency failed"; exit 0; fi
mkdir -p bin/user bin/wasm
for p in named spawn-latency sleeper; do printf '#!/bin/sh\n# %s (%s)\n' "$p" "$TARGET" > "bin/user/$p"; chmod +x "bin/user/$p"; done
printf 'wasm-fixture\n' > bin/wasm/boot.wasm
echo "========== Done building SigmaOS =========="
