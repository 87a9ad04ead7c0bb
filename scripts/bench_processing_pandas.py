#!/usr/bin/env python3
"""The processing stage done the pandas way, as the original Python Lambda did it, on the
same raw file `groves bench processing` reads. Prints the same figures.

usage: bench_processing_pandas.py FILE OUTDIR [--usecols]
  --usecols  read only `date` and `TYPPRICE` (the original read every column)
"""
import os
import resource
import sys
import time

import numpy as np
import pandas as pd


def main() -> None:
    path, outdir = sys.argv[1], sys.argv[2]
    usecols = ["date", "TYPPRICE"] if "--usecols" in sys.argv else None
    size = os.path.getsize(path)
    t0 = time.perf_counter()
    df = pd.read_csv(path, usecols=usecols)
    df["date"] = pd.to_datetime(df["date"], format="%Y-%m-%d %H:%M:%S%z")
    t_read = time.perf_counter() - t0

    t1 = time.perf_counter()
    df = df.sort_values("date", kind="stable").drop_duplicates("date", keep="first")
    out = pd.DataFrame({"date": df["date"].dt.tz_localize(None)})
    for part, attr in [("month", "month"), ("day", "day"), ("hour", "hour"),
                       ("minute", "minute"), ("day_of_week", "day_of_week")]:
        out[part] = getattr(df["date"].dt, attr).astype("int8")
    out["TYPPRICE"] = df["TYPPRICE"]
    for k in range(1, 11):
        out[f"TYPPRICE_LAG_{k}"] = df["TYPPRICE"].shift(k)
    out["TYPPRICE_TARGET"] = df["TYPPRICE"].shift(-1)
    out = out.dropna().reset_index(drop=True)
    out.insert(0, "row", np.arange(len(out), dtype=np.uint32))
    n = len(out)
    n_test = -(-n // 5)
    n_val = -(-(n - n_test) // 5)
    n_train = n - n_test - n_val
    splits = {
        "train": out.iloc[:n_train],
        "validation": out.iloc[n_train:n_train + n_val],
        "test": out.iloc[n_train + n_val:],
    }
    t_compute = time.perf_counter() - t1

    t2 = time.perf_counter()
    os.makedirs(outdir, exist_ok=True)
    for name, part in splits.items():
        part.to_parquet(os.path.join(outdir, f"{name}.parquet"), compression="snappy", index=False)
    t_write = time.perf_counter() - t2

    total = t_read + t_compute + t_write
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    label = "pandas (usecols)" if usecols else "pandas (all columns, as the original)"
    print(f"{label}: rows {len(df)}, kept {n}, file {size / 1e6:.1f} MB")
    print(f"  read {t_read:.2f} s, compute {t_compute:.2f} s, write {t_write:.2f} s, total {total:.2f} s")
    print(f"  {size / 1e6 / total:.1f} MB/s, {len(df) / total:,.0f} rows/s, peak RSS {peak_mb:.0f} MB")
    print(f"RESULT total_s={total:.3f} peak_mb={peak_mb:.0f}")


if __name__ == "__main__":
    main()
