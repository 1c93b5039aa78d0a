#!/usr/bin/env bash
# format: jsonl (compression zstd) across two SIGKILLs: see lib_formats.sh.
FORMAT=jsonl
CODEC=zstd
REPLAY=1
LAYOUT="    path_format: \"'year'=YYYY/'month'=MM/'day'=dd/'hour'=HH\""
source "$(dirname "${BASH_SOURCE[0]}")/lib_formats.sh"
log "formats_jsonl_zstd: passed"
