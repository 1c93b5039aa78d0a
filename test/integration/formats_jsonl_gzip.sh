#!/usr/bin/env bash
# format: jsonl (compression gzip) across two SIGKILLs: see lib_formats.sh.
FORMAT=jsonl
CODEC=gzip
LAYOUT=""
REPLAY=1
source "$(dirname "${BASH_SOURCE[0]}")/lib_formats.sh"
log "formats_jsonl_gzip: passed"
