#!/usr/bin/env python3
"""Writes hand-crafted hostile Delta tables, one directory per case, under
DIR (test/integration/hostile_tables.sh runs every ksink command on them).
Each case prints one line: NAME<TAB>the file the error must name.

Cases: JSON 300,000 levels deep in commitInfo and in add.stats; a
checkpoint whose Parquet footer declares 100,000 row groups of 100,000
columns; a checkpoint whose zstd page declares 1 GiB and holds ~32 KiB of
RLE blocks; a garbage _last_checkpoint; a version gap; an add.path with
"../" and with a foreign absolute URI.
Usage: hostile_tables.py DIR
"""
import json
import os
import struct
import sys

DEPTH = 300_000
SCHEMA = json.dumps({"type": "struct", "fields": [
    {"name": "id", "type": "long", "nullable": True, "metadata": {}}]})
PROTOCOL = {"protocol": {"minReaderVersion": 1, "minWriterVersion": 2}}
METADATA = {"metaData": {"id": "00000000-0000-0000-0000-000000000001",
                         "format": {"provider": "parquet", "options": {}},
                         "schemaString": SCHEMA, "partitionColumns": [],
                         "configuration": {}, "createdTime": 1700000000000}}


def add(path, stats='{"numRecords":1}'):
    return {"add": {"path": path, "partitionValues": {}, "size": 100,
                    "modificationTime": 1700000000000, "dataChange": True,
                    "stats": stats}}


def entry(name, version, lines):
    log = os.path.join(name, "_delta_log")
    os.makedirs(log, exist_ok=True)
    with open(os.path.join(log, "%020d.json" % version), "w") as f:
        for line in lines:
            f.write(line if isinstance(line, str) else json.dumps(line))
            f.write("\n")
    return "_delta_log/%020d.json" % version


def first(name):
    return entry(name, 0, [PROTOCOL, METADATA, add("part-0.parquet")])


# ---- thrift compact protocol, enough for a footer and a page header ----

def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def zz(n):
    return varint((n << 1) ^ (n >> 63))


I32, I64, BINARY, LIST, STRUCT = 5, 6, 8, 9, 12


def field(delta, ftype):
    return bytes([(delta << 4) | ftype])


def list_header(n, etype):
    if n < 15:
        return bytes([(n << 4) | etype])
    return bytes([0xF0 | etype]) + varint(n)


def schema_elem(name=None, type_=None, repetition=None, children=None):
    out, last = bytearray(), 0
    for fid, ftype, val in ((1, I32, type_), (3, I32, repetition),
                            (4, BINARY, name), (5, I32, children)):
        if val is None:
            continue
        out += field(fid - last, ftype)
        last = fid
        out += varint(len(val)) + val if ftype == BINARY else zz(val)
    return bytes(out + b"\x00")


def parquet(footer, body=b""):
    return b"PAR1" + body + footer + struct.pack("<I", len(footer)) + b"PAR1"


def checkpoint_case(name, data):
    """A table readable only through its v5 checkpoint (entries 0..4 gone)."""
    entry(name, 5, [{"commitInfo": {"operation": "WRITE"}}])
    path = os.path.join(name, "_delta_log", "%020d.checkpoint.parquet" % 5)
    with open(path, "wb") as f:
        f.write(data)
    with open(os.path.join(name, "_delta_log", "_last_checkpoint"), "w") as f:
        f.write('{"version":5,"size":3}')
    return "_delta_log/%020d.checkpoint.parquet" % 5


def footer_counts(n=100_000):
    """100,000 leaves and a row-group list of 100,000 (empty) row groups:
    10^10 column chunks declared in ~400 KB (n leaves: about 4n bytes)."""
    leaf = schema_elem(type_=2)  # INT64, required, unnamed: 3 bytes
    f = field(2, LIST) + list_header(n + 1, STRUCT)
    f += schema_elem(name=b"root", children=n) + leaf * n
    f += field(1, I64) + zz(1)  # num_rows
    f += field(1, LIST) + list_header(n, STRUCT) + b"\x00" * n
    return parquet(f + b"\x00")


def zstd_rle_bomb(total):
    """A zstd frame of RLE blocks: 4 bytes per 128 KiB of zeros."""
    block = 128 * 1024
    out = bytearray(struct.pack("<I", 0xFD2FB528))
    out += bytes([0x00, 0x38])  # no checksum/size; window 2^17
    left = total
    while left:
        n = min(block, left)
        left -= n
        hdr = (n << 3) | (1 << 1) | (1 if left == 0 else 0)  # RLE block
        out += struct.pack("<I", hdr)[:3] + b"\x00"
    return bytes(out)


def page_bomb(raw=1 << 30):
    """add.path (optional binary under optional add), one row; its data
    page (zstd) says raw bytes (1 GiB: ~32 KiB of RLE blocks)."""
    comp = zstd_rle_bomb(raw)
    ph = field(1, I32) + zz(0) + field(1, I32) + zz(raw)
    ph += field(1, I32) + zz(len(comp))
    ph += field(2, STRUCT)  # data_page_header (field 5)
    ph += field(1, I32) + zz(1) + field(1, I32) + zz(0)
    ph += field(1, I32) + zz(3) + field(1, I32) + zz(3) + b"\x00"
    ph += b"\x00"
    body = ph + comp
    data_off = 4
    schema = (schema_elem(name=b"schema", children=1) +
              schema_elem(name=b"add", repetition=1, children=1) +
              schema_elem(name=b"path", type_=6, repetition=1))
    cmeta = field(1, I32) + zz(6)  # BYTE_ARRAY
    cmeta += field(1, LIST) + list_header(1, I32) + zz(0)
    cmeta += field(1, LIST) + list_header(2, BINARY)
    cmeta += varint(3) + b"add" + varint(4) + b"path"
    cmeta += field(1, I32) + zz(6)  # ZSTD
    cmeta += field(1, I64) + zz(1)
    cmeta += field(1, I64) + zz(raw + len(ph))
    cmeta += field(1, I64) + zz(len(body))
    cmeta += field(2, I64) + zz(data_off) + b"\x00"
    chunk = field(2, I64) + zz(data_off) + field(1, STRUCT) + cmeta + b"\x00"
    rg = field(1, LIST) + list_header(1, STRUCT) + chunk
    rg += field(1, I64) + zz(len(body)) + field(1, I64) + zz(1) + b"\x00"
    f = field(1, I32) + zz(1)
    f += field(1, LIST) + list_header(3, STRUCT) + schema
    f += field(1, I64) + zz(1)
    f += field(1, LIST) + list_header(1, STRUCT) + rg + b"\x00"
    return parquet(f, body)


def deep(n):
    return "[" * n + "]" * n


def main():
    root = sys.argv[1]
    os.makedirs(root, exist_ok=True)
    os.chdir(root)
    cases = []

    first("deep_commitinfo")
    cases.append(("deep_commitinfo", entry("deep_commitinfo", 1, [
        '{"commitInfo":{"operation":"WRITE","x":' + deep(DEPTH) + '}}'])))

    first("deep_stats")
    cases.append(("deep_stats", entry("deep_stats", 1, [
        add("part-1.parquet", '{"numRecords":1,"x":' + deep(DEPTH) + '}')])))

    cases.append(("footer_counts",
                  checkpoint_case("footer_counts", footer_counts())))
    cases.append(("page_bomb", checkpoint_case("page_bomb", page_bomb())))

    first("garbage_last_checkpoint")
    with open("garbage_last_checkpoint/_delta_log/_last_checkpoint", "wb") as f:
        f.write(b"\x7fELF{{{{ not json")
    cases.append(("garbage_last_checkpoint", "_delta_log/_last_checkpoint"))

    first("version_gap")
    entry("version_gap", 1, [add("part-1.parquet")])
    entry("version_gap", 3, [add("part-3.parquet")])
    cases.append(("version_gap", "_delta_log/%020d.json" % 2))

    first("path_dotdot")
    cases.append(("path_dotdot", entry("path_dotdot", 1, [
        add("../path_foreign/part-0.parquet")])))

    first("path_foreign")
    cases.append(("path_foreign", entry("path_foreign", 1, [
        add("file:///etc/passwd")])))

    first("path_foreign_s3")
    cases.append(("path_foreign_s3", entry("path_foreign_s3", 1, [
        add("s3://another-bucket/table/part-0.parquet")])))

    for name, f in cases:
        print("%s\t%s" % (name, f))


if __name__ == "__main__":
    main()
