#!/usr/bin/env bash
# Builds the libFuzzer targets of Latent's readers (AddressSanitizer on) and runs each for the
# given number of seconds (default 30) from a seed corpus made of the repository's own data and
# models. A crash leaves its input in Fuzz/crashes/<reader>/ and fails the script; turn it into a
# regression test.
#
# Usage: Fuzz/run.sh [seconds per reader] [reader …]   (readers: CSV NumPy IDX SafeTensors ModelFile)
set -euo pipefail
cd "$(dirname "$0")"
SECONDS_PER_READER=${1:-30}
shift || true
READERS=("${@:-CSV NumPy IDX SafeTensors ModelFile}")
READERS=(${READERS[*]})
ROOT=..
LATENT=$ROOT/.build/release/latent
[ -x "$LATENT" ] || (cd $ROOT && make build >/dev/null)

echo "== building the fuzz target (libFuzzer + AddressSanitizer)"
swift build -c release -Xswiftc -sanitize=fuzzer,address --product LatentFuzz 2>&1 | grep -E "error|Build" || true

echo "== seed corpora"
SEEDS=.build/seeds
rm -rf "$SEEDS"
mkdir -p "$SEEDS"/{CSV,NumPy,IDX,SafeTensors,ModelFile}
for f in faithful iris nile discoveries airquality; do head -c 4000 "$ROOT/Data/$f.csv" > "$SEEDS/CSV/$f.csv"; done
# Small IDX files: the first images of the bundled MNIST subset with a header rewritten to match.
for n in 1 3; do
    { printf '\x00\x00\x08\x03'; printf "\\x00\\x00\\x00\\x0$n"; printf '\x00\x00\x00\x1c\x00\x00\x00\x1c'
      tail -c +17 "$ROOT/Data/mnist5k-train-images.idx3-ubyte" | head -c $((n * 784)) || true; } > "$SEEDS/IDX/images$n.idx3-ubyte"
done
TMP=$(mktemp -d)
"$LATENT" fit gmm --data "$ROOT/Data/faithful.csv" --components 2 --output "$SEEDS/ModelFile/gmm.json" --quiet >/dev/null
"$LATENT" fit gmm --data "$ROOT/Data/iris.csv" --components 3 --covariance diag --output "$SEEDS/ModelFile/diag.json" --quiet >/dev/null
"$LATENT" fit fa --data "$ROOT/Data/iris.csv" --factors 1 --output "$SEEDS/ModelFile/fa.json" --quiet >/dev/null
"$LATENT" fit hmm --data "$ROOT/Data/nile.csv" --columns flow --states 2 --output "$SEEDS/ModelFile/hmm.json" --quiet >/dev/null
head -201 "$ROOT/Data/digits-train.csv" > "$TMP/digits.csv"
"$LATENT" fit vae --data "$TMP/digits.csv" --latent 2 --hidden 8 --epochs 1 --likelihood gaussian --variance 1 --output "$SEEDS/SafeTensors/vae.safetensors" --quiet
cp "$SEEDS/SafeTensors/vae.safetensors" "$SEEDS/ModelFile/"
python3 - "$SEEDS/NumPy" <<'PY' || echo "(no python3: the NumPy corpus starts empty)"
import struct, sys
def npy(shape, descr, payload, fortran=False):
    header = "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }" % (descr, fortran, shape)
    header += " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + payload
out = sys.argv[1]
open(out + "/f8.npy", "wb").write(npy("(3, 2)", "<f8", struct.pack("<6d", 1, 2, 3, 4, 5, 6)))
open(out + "/f4.npy", "wb").write(npy("(2, 2)", "<f4", struct.pack("<4f", 1, 2, 3, 4), True))
open(out + "/u1.npy", "wb").write(npy("(4,)", "|u1", bytes([1, 2, 3, 4])))
PY
rm -rf "$TMP"

status=0
for reader in "${READERS[@]}"; do
    corpus=.build/corpus/$reader crashes=crashes/$reader
    mkdir -p "$corpus" "$crashes"
    echo "== $reader for ${SECONDS_PER_READER}s"
    if ! .build/release/LatentFuzz "$reader" -max_total_time="$SECONDS_PER_READER" -timeout=20 -rss_limit_mb=4096 -max_len=65536 \
            -artifact_prefix="$crashes/" -print_final_stats=1 "$corpus" "$SEEDS/$reader" > ".build/fuzz-$reader.log" 2>&1; then
        echo "$reader found a failure; input in $crashes/:"; tail -30 ".build/fuzz-$reader.log"; status=1
    else
        grep -a -E "stat::number_of_executed_units|stat::peak_rss_mb" ".build/fuzz-$reader.log" | tr '\n' ' '; echo
        rmdir "$crashes" 2>/dev/null || true
    fi
done
exit $status
