#!/usr/bin/env python3
"""Compares two finished runs of the same stocks (a grid search and a halving search) from
their tables in a local bucket folder: the compute and Lambda cost of each run's units per
stage (timing_metrics/costs), and per stock each search's winner, validation and test MSE.

    python3 scripts/compare_searches.py BUCKET_DIR GRID_RUN HALVING_RUN

Needs: pip install duckdb
"""

import sys

import duckdb


def table(bucket, prefix, run):
    return f"read_parquet('{bucket}/{prefix}/run={run}/**/*.parquet', hive_partitioning = true)"


def main():
    bucket, grid, halving = sys.argv[1:4]
    db = duckdb.connect()
    print("\nstage costs (compute of every unit: GB-s at the run's memory; $ at the price of the architecture each unit ran on)")
    print(f"{'stage':<16}{'grid units':>11}{'grid GB-s':>11}{'halving units':>15}{'halving GB-s':>14}{'saved':>8}")
    rows = {}
    for run in (grid, halving):
        q = f"SELECT stage, invocations, gb_s, cost_usd FROM read_parquet('{bucket}/timing_metrics/costs/run={run}/part-0.parquet')"
        for stage, inv, gbs, usd in db.execute(q).fetchall():
            rows.setdefault(stage, {})[run] = (inv, gbs, usd)
    for stage, by in rows.items():
        g, h = by.get(grid, (0, 0.0, 0.0)), by.get(halving, (0, 0.0, 0.0))
        saved = f"{(1 - h[1] / g[1]) * 100:.0f} %" if g[1] else "-"
        print(f"{stage:<16}{g[0]:>11}{g[1]:>11.1f}{h[0]:>15}{h[1]:>14.1f}{saved:>8}")
    g, h = rows["run"][grid], rows["run"][halving]
    print(f"run cost: grid ${g[2]:.4f}, halving ${h[2]:.4f}")

    def winners(run):
        q = f"""
        SELECT b.stock, b.feat, b.samp, b.mse, t.test_mse
        FROM {table(bucket, 'min_mse', run)} b
        JOIN {table(bucket, 'test_mse', run)} t USING (stock)
        ORDER BY b.stock"""
        return {r[0]: r[1:] for r in db.execute(q).fetchall()}

    gw, hw = winners(grid), winners(halving)
    print(f"\n{'stock':<12}{'grid winner':>13}{'halving winner':>16}{'grid test MSE':>16}{'halving test MSE':>18}{'diff':>9}")
    same = 0
    for stock in sorted(gw):
        gf, gs, _, gt = gw[stock]
        hf, hs, _, ht = hw[stock]
        agree = (gf, gs) == (hf, hs)
        same += agree
        diff = "same" if agree else f"{(ht - gt) / gt * 100:+.2f} %"
        print(f"{stock:<12}{f'f{gf}_s{gs}':>13}{f'f{hf}_s{hs}':>16}{gt:>16.6g}{ht:>18.6g}{diff:>9}")
    print(f"halving picked the grid's winner for {same} of {len(gw)} stocks")


if __name__ == "__main__":
    main()
