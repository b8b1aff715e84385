#!/bin/sh
# Runs one libFuzzer target for a bounded number of inputs, as the ctest of that target:
#   run-fuzz.sh FUZZER WORKDIR RUNS SOURCE_DIR PATTERN...
# Seeds: every file under SOURCE_DIR/tests/data whose name matches one of the PATTERNs (find
# -name), copied into WORKDIR/seeds, and the messages of the shared corpus when it is there
# ($SPOC_CORPUS, else ../shared/corpus beside the source tree); it is not in the repository, and
# without it the target runs on tests/data alone. New inputs go to WORKDIR/new, never into
# tests/data or the corpus.
set -eu
fuzzer=$1 work=$2 runs=$3 src=$4
shift 4

rm -rf "$work"
mkdir -p "$work/new" "$work/seeds"
for pattern in "$@"; do
	find "$src/tests/data" -type f -name "$pattern" | while read -r f; do
		rel=${f#"$src/tests/data/"}
		cp "$f" "$work/seeds/$(printf '%s' "$rel" | tr / _)"
	done
done
n=$(find "$work/seeds" -type f | wc -l)
if [ "$n" -eq 0 ]; then
	echo "run-fuzz: no seeds in $src/tests/data matching: $*" >&2
	exit 1
fi

corpus=${SPOC_CORPUS:-$src/../shared/corpus}
if [ -d "$corpus/messages" ]; then
	echo "run-fuzz: $n seeds from tests/data, and the corpus at $corpus/messages"
	set -- "$work/new" "$work/seeds" "$corpus/messages"
else
	echo "run-fuzz: $n seeds from tests/data; no corpus at $corpus (set SPOC_CORPUS)"
	set -- "$work/new" "$work/seeds"
fi
exec env ASAN_OPTIONS=detect_leaks=1 "$fuzzer" -runs="$runs" -max_len=65536 -timeout=10 \
	-rss_limit_mb=2048 "$@"
