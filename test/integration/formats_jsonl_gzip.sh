#!/usr/bin/env bash
# format: jsonl (compression gzip) across two SIGKILLs: see lib_formats.sh.
FORMAT=jsonl
CODEC=gzip
# recorded cuts older than 2 s are removed while it runs (the newest stay)
LAYOUT="    cut_retention: 2s"
CUT_RETENTION=1
REPLAY=1
source "$(dirname "${BASH_SOURCE[0]}")/lib_formats.sh"
log "formats_jsonl_gzip: passed"
