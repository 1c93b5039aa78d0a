#!/usr/bin/env bash
# format: parquet (compression zstd) across two SIGKILLs, a second member,
# a restart and the replays: see lib_formats.sh.
FORMAT=parquet
CODEC=zstd
LAYOUT="    partition_by: [event_type]"
SECOND_MEMBER=1
REPLAY=1
source "$(dirname "${BASH_SOURCE[0]}")/lib_formats.sh"
log "formats_parquet: passed"
