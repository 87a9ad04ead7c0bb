#!/usr/bin/env python3
"""scikit-learn side of the forest benchmark, plus the data preparation and the final table.

Subcommands:
  synth           synthetic processed features (random walk of minute bars) as train/validation CSV
  parquet-to-csv  the processed Parquet splits of `groves process` as train/validation CSV
  run             RandomForestRegressor on the same files, one fresh subprocess per row count
  table           side-by-side table of our results and scikit-learn's, with ratios

Every result is one line `RESULT key=value ...`, the format `forest-bench` prints too.
"""

import argparse
import glob
import os
import pickle
import resource
import subprocess
import sys
import time

FEATURES = ["TYPPRICE"] + [f"TYPPRICE_LAG_{i}" for i in range(1, 11)]
TARGET = "TYPPRICE_TARGET"


def synth(args):
    """Random walk of one-minute bars: price ~1500, minute returns sigma 0.05 %, ticks of 0.05."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(args.seed)
    n = args.bars
    tick = 0.05
    sigma = 0.0005
    log_close = np.log(1500.0) + np.cumsum(rng.normal(0.0, sigma, n))
    close = np.round(np.exp(log_close) / tick) * tick
    open_ = np.concatenate([[close[0]], close[:-1]])
    wick = np.abs(rng.normal(0.0, sigma / 2, (2, n))) * close
    high = np.round((np.maximum(open_, close) + wick[0]) / tick) * tick
    low = np.round((np.minimum(open_, close) - wick[1]) / tick) * tick
    typ = (high + low + close) / 3.0

    df = pd.DataFrame({"TYPPRICE": typ})
    for lag in range(1, 11):
        df[f"TYPPRICE_LAG_{lag}"] = df["TYPPRICE"].shift(lag)
    df[TARGET] = df["TYPPRICE"].shift(-1)
    df = df.dropna().reset_index(drop=True)

    # 64/16/20 split at random; rows of each split in random order, so "the first N rows" of
    # the training file is a random subset of it.
    u = rng.random(len(df))
    perm = rng.permutation(len(df))
    df = df.iloc[perm].reset_index(drop=True)
    u = u[perm]
    os.makedirs(args.out, exist_ok=True)
    for name, mask in [("train", u < 0.64), ("validation", (u >= 0.64) & (u < 0.80))]:
        path = os.path.join(args.out, f"{name}.csv")
        df[mask].to_csv(path, index=False, float_format="%.10g")
        print(f"wrote {path}: {int(mask.sum())} rows", file=sys.stderr)


def parquet_to_csv(args):
    import pandas as pd

    for split in ["train", "validation"]:
        pattern = os.path.join(
            args.store, "features", "run=*", f"split={split}", f"stock={args.symbol}", "*.parquet"
        )
        files = sorted(glob.glob(pattern))
        if not files:
            sys.exit(f"no Parquet files match {pattern}")
        # The newest run if there are several.
        run_dirs = sorted({f.split(os.sep + "split=")[0] for f in files}, key=os.path.getmtime)
        files = [f for f in files if f.startswith(run_dirs[-1] + os.sep)]
        df = pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
        missing = [c for c in FEATURES + [TARGET] if c not in df.columns]
        if missing:
            sys.exit(f"{files[0]} lacks columns {missing}")
        os.makedirs(args.out, exist_ok=True)
        path = os.path.join(args.out, f"{split}.csv")
        df[FEATURES + [TARGET]].to_csv(path, index=False, float_format="%.10g")
        print(f"wrote {path}: {len(df)} rows from {len(files)} file(s)", file=sys.stderr)


def rss_now_kb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def rss_peak_kb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def reset_peak():
    # Writing 5 resets VmHWM (Linux >= 4.0), so the peak after it is the fit's own.
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def cpu_seconds():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def child(args):
    import numpy as np
    import pandas as pd
    from sklearn.ensemble import RandomForestRegressor

    train = pd.read_csv(args.train, nrows=args.rows, usecols=FEATURES + [TARGET])
    valid = pd.read_csv(args.validation, usecols=FEATURES + [TARGET])
    if len(train) < args.rows:
        print(f"warning: {args.train} has only {len(train)} rows, {args.rows} requested", file=sys.stderr)
        args.rows = len(train)
    x = train[FEATURES].to_numpy(dtype=np.float64)
    y = train[TARGET].to_numpy(dtype=np.float64)
    vx = valid[FEATURES].to_numpy(dtype=np.float64)
    vy = valid[TARGET].to_numpy(dtype=np.float64)
    del train, valid

    model = RandomForestRegressor(
        n_estimators=args.trees,
        max_features=args.max_features,
        min_samples_split=args.min_samples_split,
        n_jobs=args.threads,
        random_state=args.seed,
    )
    reset_peak()
    rss_before = rss_now_kb()
    c0, t0 = cpu_seconds(), time.perf_counter()
    model.fit(x, y)
    fit_wall, fit_cpu = time.perf_counter() - t0, cpu_seconds() - c0
    fit_peak = rss_peak_kb()

    t0 = time.perf_counter()
    pred = model.predict(vx)
    predict_s = time.perf_counter() - t0

    mse = float(np.mean((pred - vy) ** 2))
    naive = float(np.mean((vx[:, 0] - vy) ** 2))
    model_bytes = len(pickle.dumps(model))
    nodes = sum(e.tree_.node_count for e in model.estimators_) / len(model.estimators_)
    depth = sum(e.tree_.max_depth for e in model.estimators_) / len(model.estimators_)
    peak = max(rss_peak_kb(), fit_peak)
    print(
        f"RESULT impl=sklearn rows={args.rows} fit_wall_s={fit_wall:.3f} fit_cpu_s={fit_cpu:.3f} "
        f"predict_s={predict_s:.3f} valid_rows={len(vy)} peak_rss_mb={peak / 1024:.1f} "
        f"fit_rss_growth_mb={(fit_peak - rss_before) / 1024:.1f} mse={mse:.6f} naive_mse={naive:.6f} "
        f"model_bytes={model_bytes} bytes_per_tree={model_bytes / args.trees:.0f} "
        f"nodes_per_tree={nodes:.0f} mean_depth={depth:.1f}",
        flush=True,
    )


def run(args):
    for rows in [int(r) for r in args.rows.split(",")]:
        cmd = [
            sys.executable, os.path.abspath(__file__), "child",
            "--train", args.train, "--validation", args.validation,
            "--rows", str(rows), "--trees", str(args.trees),
            "--max-features", str(args.max_features),
            "--min-samples-split", str(args.min_samples_split),
            "--threads", str(args.threads), "--seed", str(args.seed),
        ]
        subprocess.run(cmd, check=True)


def parse_results(path):
    out = {}
    with open(path) as f:
        for line in f:
            if line.startswith("RESULT "):
                kv = dict(item.split("=", 1) for item in line.split()[1:])
                out[int(kv["rows"])] = kv
    return out


def table(args):
    ours = parse_results(args.ours)
    theirs = parse_results(args.sklearn)
    rows = sorted(set(ours) | set(theirs))
    metrics = [
        ("fit wall s", "fit_wall_s", "{:.2f}"),
        ("fit CPU s", "fit_cpu_s", "{:.2f}"),
        ("predict s", "predict_s", "{:.3f}"),
        ("predict rows/s", None, "{:,.0f}"),
        ("peak RSS MB", "peak_rss_mb", "{:.0f}"),
        ("fit RSS growth MB", "fit_rss_growth_mb", "{:.0f}"),
        ("validation MSE", "mse", "{:.6f}"),
        ("naive MSE", "naive_mse", "{:.6f}"),
        ("model bytes", "model_bytes", "{:,.0f}"),
        ("bytes/tree", "bytes_per_tree", "{:,.0f}"),
        ("nodes/tree", "nodes_per_tree", "{:,.0f}"),
        ("mean depth", "mean_depth", "{:.1f}"),
    ]

    def value(res, key):
        if res is None:
            return None
        if key is None:
            return float(res["valid_rows"]) / max(float(res["predict_s"]), 1e-9)
        return float(res[key]) if key in res else None

    header = f"{'rows':>8}  {'metric':<18} {'ours':>14} {'sklearn':>14} {'ours/sklearn':>13}"
    print(header)
    print("-" * len(header))
    for r in rows:
        for label, key, fmt in metrics:
            a, b = value(ours.get(r), key), value(theirs.get(r), key)
            fa = fmt.format(a) if a is not None else "-"
            fb = fmt.format(b) if b is not None else "-"
            ratio = f"{a / b:.4f}" if a is not None and b not in (None, 0.0) else "-"
            print(f"{r:>8}  {label:<18} {fa:>14} {fb:>14} {ratio:>13}")
        if r in ours and r in theirs:
            a, b = ours[r], theirs[r]
            speed = float(b["fit_cpu_s"]) / float(a["fit_cpu_s"])
            mse = float(a["mse"]) / float(b["mse"]) - 1.0
            thr = (float(b["predict_s"]) / float(a["predict_s"]))
            size = float(b["model_bytes"]) / float(a["model_bytes"])
            print(
                f"{r:>8}  goals: fit CPU {speed:.1f}x lower (goal >= 20x), MSE {mse * 100:+.3f} % "
                f"(goal <= +1 %), predict {thr:.2f}x faster (goal >= 1x), model {size:.1f}x smaller "
                f"(goal >= 4x)"
            )
        print()


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)

    s = sub.add_parser("synth")
    s.add_argument("--out", required=True)
    # ~1880 days of 375 minutes: enough for 450k training rows after the 64 % split.
    s.add_argument("--bars", type=int, default=705_000)
    s.add_argument("--seed", type=int, default=1)

    s = sub.add_parser("parquet-to-csv")
    s.add_argument("--store", required=True)
    s.add_argument("--symbol", default="BENCH")
    s.add_argument("--out", required=True)

    for name in ["run", "child"]:
        s = sub.add_parser(name)
        s.add_argument("--train", required=True)
        s.add_argument("--validation", required=True)
        s.add_argument("--rows", required=True, help="comma-separated for run, one number for child")
        s.add_argument("--trees", type=int, default=100)
        s.add_argument("--max-features", type=int, default=7)
        s.add_argument("--min-samples-split", type=int, default=15)
        s.add_argument("--threads", type=int, default=2)
        s.add_argument("--seed", type=int, default=1)

    s = sub.add_parser("table")
    s.add_argument("--ours", required=True)
    s.add_argument("--sklearn", required=True)

    args = p.parse_args()
    if args.cmd == "child":
        args.rows = int(args.rows)
    {"synth": synth, "parquet-to-csv": parquet_to_csv, "run": run, "child": child, "table": table}[
        args.cmd
    ](args)


if __name__ == "__main__":
    main()
