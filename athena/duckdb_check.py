#!/usr/bin/env python3
"""Runs groves' Athena DDL and queries in DuckDB over a local copy of the bucket.

Each CREATE EXTERNAL TABLE of tables.sql becomes a DuckDB view over the Parquet files under its
LOCATION (the bucket folder instead of s3://groves-data/), after checking that the declared
columns and the files agree: every declared column is in the files with a matching type, every
file column is declared (as a column or a partition key), and every timestamp is stored at
millisecond precision (Athena cannot read nanosecond timestamps). Then every query under
queries/ runs with the run id as its parameter, and the results print as JSON.

    python3 athena/duckdb_check.py --bucket-dir groves-data --run <run-id>

Needs: pip install duckdb pyarrow
"""

import argparse
import glob
import json
import os
import re
import sys

import duckdb
import pyarrow.parquet as pq

HERE = os.path.dirname(os.path.abspath(__file__))
TABLE_RE = re.compile(
    r"CREATE EXTERNAL TABLE IF NOT EXISTS groves\.(\w+) \((.*?)\)\s*"
    r"PARTITIONED BY \((.*?)\)\s*STORED AS PARQUET\s*"
    r"LOCATION 's3://groves-data/([^']*)';",
    re.S,
)
# Athena type -> the DuckDB types a Parquet column of that Athena type reads as.
TYPES = {
    "bigint": {"BIGINT"},
    "int": {"INTEGER"},
    "tinyint": {"TINYINT"},
    "double": {"DOUBLE"},
    "string": {"VARCHAR"},
    "boolean": {"BOOLEAN"},
    "timestamp": {"TIMESTAMP", "TIMESTAMP_MS"},
}


class Mismatch(Exception):
    pass


def columns(text):
    out = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        name, typ = part.rsplit(None, 1)
        out.append((name.strip("`").lower(), typ.lower()))
    return out


def parse_ddl(path):
    with open(path) as f:
        ddl = "\n".join(l for l in f.read().splitlines() if not l.lstrip().startswith("--"))
    tables = []
    for m in TABLE_RE.finditer(ddl):
        tables.append(
            {
                "name": m.group(1),
                "columns": columns(m.group(2)),
                "partitions": columns(m.group(3)),
                "location": m.group(4),
            }
        )
    if ddl.count("CREATE EXTERNAL TABLE") != len(tables):
        raise Mismatch(f"{path}: a CREATE EXTERNAL TABLE statement is not in the expected form")
    return tables


def create_view(con, bucket_dir, table):
    name = table["name"]
    files = os.path.join(bucket_dir, table["location"], "**", "*.parquet")
    if not glob.glob(files, recursive=True):
        raise Mismatch(f"{name}: no Parquet file under {os.path.join(bucket_dir, table['location'])}")
    hive_types = {p: "VARCHAR" for p, _ in table["partitions"]}
    source = (
        f"read_parquet('{files}', hive_partitioning = true, hive_types = {hive_types!r}, "
        "union_by_name = true)"
    )
    described = con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()
    actual = {row[0].lower(): (row[0], row[1]) for row in described}
    problems = []
    select = []
    for col, typ in table["columns"]:
        if col not in actual:
            problems.append(f"column `{col}` is declared but not in the files")
            continue
        file_name, file_type = actual[col]
        if file_type not in TYPES.get(typ, set()):
            problems.append(f"column `{col}`: declared {typ}, the files hold {file_type}")
        select.append(f'"{file_name}" AS {col}')
    for part, typ in table["partitions"]:
        if typ != "string":
            problems.append(f"partition `{part}`: declared {typ}, keys are strings")
        if part not in actual:
            problems.append(f"partition `{part}` is not a key in the paths")
        select.append(f'"{part}" AS {part}')
    declared = {c for c, _ in table["columns"]} | {p for p, _ in table["partitions"]}
    for col in actual:
        if col not in declared:
            problems.append(f"column `{col}` is in the files but not declared")
    for path in glob.glob(files, recursive=True):
        for field in pq.read_schema(path):
            unit = getattr(field.type, "unit", None)
            if str(field.type).startswith("timestamp") and unit != "ms":
                problems.append(f"{path}: column `{field.name}` is stored in {unit}, not ms")
    if problems:
        raise Mismatch(f"table {name}: " + "; ".join(problems))
    con.execute(f"CREATE VIEW {name} AS SELECT {', '.join(select)} FROM {source}")


def plain(value):
    if value is None or isinstance(value, (int, float, str, bool)):
        return value
    return str(value)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bucket-dir", required=True, help="the local bucket folder")
    ap.add_argument("--run", required=True, help="the run id the queries ask about")
    args = ap.parse_args()
    con = duckdb.connect()
    try:
        tables = parse_ddl(os.path.join(HERE, "tables.sql"))
        for table in tables:
            create_view(con, args.bucket_dir, table)
        results = {"tables": [t["name"] for t in tables], "queries": {}}
        for path in sorted(glob.glob(os.path.join(HERE, "queries", "*.sql"))):
            with open(path) as f:
                sql = f.read()
            params = [args.run] * sql.count("?")
            try:
                cur = con.execute(sql, params)
            except duckdb.Error as e:
                raise Mismatch(f"{os.path.basename(path)}: {e}") from e
            cols = [d[0] for d in cur.description]
            rows = [[plain(v) for v in row] for row in cur.fetchall()]
            results["queries"][os.path.basename(path)[:-4]] = {"columns": cols, "rows": rows}
    except Mismatch as e:
        print(f"duckdb_check: {e}", file=sys.stderr)
        return 1
    json.dump(results, sys.stdout, indent=1)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
