#!/usr/bin/env bash
# Builds tests/fuzz/fuzz_resp.c with libFuzzer, AddressSanitizer and UBSan,
# and fuzzes resp_parse_request() for ${FUZZ_SECONDS:-60} seconds. Exits
# non-zero if the build fails or the fuzzer finds a crash, a leak, a
# sanitizer report or a split-dependent parse (the crashing input is left
# in $out as crash-*). The corpus persists in $out/corpus between runs.
set -euo pipefail

cd "$(dirname "$0")/../.."
out="${BUILD:-build}/fuzz"
seconds="${FUZZ_SECONDS:-60}"
cc="${FUZZ_CC:-clang}"
mkdir -p "$out/corpus"

"$cc" -std=c11 -D_POSIX_C_SOURCE=200809L -g -O1 -fno-omit-frame-pointer \
    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
    -Wwrite-strings -Wformat=2 -Wvla -Wno-missing-field-initializers \
    -I. proto/resp_parse.c proto/resp_encode.c tests/fuzz/fuzz_resp.c \
    -o "$out/fuzz_resp"

# Seeds: byte 0 is the harness configuration (see fuzz_resp.c).
seed() { printf "$2" >"$out/corpus/seed-$1"; }
seed set '\x05*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\n'
seed pipe '\x2c*1\r\n$4\r\nPING\r\nPING\r\n*0\r\n*-1\r\n\r\n*2\r\n$3\r\nGET\r\n$0\r\n\r\n'
seed inline '\x41set "a\\x41\\n b" '"'"'c\\'"'"'d'"'"' x"y z"\r\necho "\\xff"\n'
seed errs '\x80*1\r\n$3\r\nabcX\r\n'
seed small '\x01*2\r\n$16\r\n0123456789abcdef\r\n$1\r\nx\r\n'
seed binary '\xc7*1\r\n$5\r\n\x00\r\n*$\r\n'

# Tokens the mutator splices in.
cat >"$out/resp.dict" <<'DICT'
"\x0d\x0a"
"*1\x0d\x0a"
"*3\x0d\x0a"
"$3\x0d\x0a"
"$0\x0d\x0a\x0d\x0a"
"*-1\x0d\x0a"
"\x22"
"'"
"\x5cx"
"\x5c'"
"\x5c\x22"
" "
"\x09"
DICT

"$out/fuzz_resp" -max_total_time="$seconds" -max_len=4096 -timeout=10 \
    -dict="$out/resp.dict" -artifact_prefix="$out/" -print_final_stats=1 \
    "$out/corpus"
