"""EM for a Gaussian mixture, or a factor model, over a Spark DataFrame, with the `latent` binary doing the arithmetic.

Each iteration: the current model file goes to every executor (a broadcast); each partition writes
its rows to a local .npy file and runs `latent statistics` on it; the driver collects the statistics
(a few kB each: they grow with K·D², not with the rows), adds them up with `latent merge` and takes
the M-step with `latent maximize`. The result is the model a single-machine EM run reaches from the
same start, to rounding (the CI test checks this on 4 partitions).

Factor analysis and probabilistic PCA (`--family fa|ppca --factors k`) need one round: their
statistics are the data's count, column means and scatter matrix, whatever the model, and
`latent maximize` fits to convergence from them — the model a single-machine fit of all the rows gives.

Run on a cluster (the binary must suit the executors' OS and CPU):

    spark-submit --master yarn --files /path/to/latent distributed/spark_em.py \\
        --data hdfs:///data/points.parquet --columns x,y,z --components 8 --iterations 50 --output model.json

Locally: `python distributed/spark_em.py --latent .build/release/latent --data Data/faithful.csv ...`.
What scales: rows (one E-step per partition and iteration). What does not: K and D (each partition's
E-step costs O(rows·K·D²); the statistics are O(K·D²)); the driver runs one M-step per iteration.
"""
import argparse
import json
import os
import shutil
import stat
import subprocess
import tempfile

import numpy as np


def latent_binary(explicit):
    """The binary: --latent, or the one shipped with --files (SparkFiles)."""
    if explicit:
        return os.path.abspath(explicit)
    from pyspark import SparkFiles
    return SparkFiles.get("latent")


def partition_statistics(rows, columns, model_text, binary):
    """Runs `latent statistics` on one partition's rows; yields the statistics file's text."""
    x = np.array([[float(r[c]) for c in columns] for r in rows], dtype=np.float64).reshape(-1, len(columns))
    if len(x) == 0:
        return
    mode = os.stat(binary).st_mode
    if not mode & stat.S_IXUSR:
        os.chmod(binary, mode | stat.S_IXUSR)
    with tempfile.TemporaryDirectory() as d:
        model, data, out = (os.path.join(d, n) for n in ("model.json", "part.npy", "statistics.json"))
        with open(model, "w") as f:
            f.write(model_text)
        np.save(data, x)
        subprocess.run([binary, "statistics", "--model", model, "--data", data, "--output", out, "--threads", "1", "--quiet"],
                       check=True, capture_output=True)
        with open(out) as f:
            yield f.read()


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {r.stderr.strip()}")
    return json.loads(r.stdout) if r.stdout.strip().startswith("{") else None


def fit(spark, frame, columns, binary, start_model, iterations, tolerance, output, workdir):
    """EM over `frame` from `start_model`; returns the log-likelihood before each M-step."""
    if __name__ != "__main__":
        # Imported (by a test, say): the executors need this module to unpickle partition_statistics.
        spark.sparkContext.addPyFile(os.path.abspath(__file__))
    rdd = frame.select(*columns).rdd
    rows = rdd.count()
    model = start_model
    history = []
    for it in range(iterations):
        with open(model) as f:
            text = spark.sparkContext.broadcast(f.read())
        parts = rdd.mapPartitions(lambda r: partition_statistics(r, columns, text.value, binary)).collect()
        files = []
        for i, part in enumerate(parts):
            files.append(os.path.join(workdir, f"statistics-{it}-{i}.json"))
            with open(files[-1], "w") as f:
                f.write(part)
        merged = os.path.join(workdir, f"statistics-{it}.json")
        run([binary, "merge", *files, "--output", merged, "--quiet"])
        step = run([binary, "maximize", "--model", model, "--statistics", merged,
                    "--output", os.path.join(workdir, f"model-{it + 1}.json"), "--json", "--quiet"])
        history.append(step["logLikelihood"])
        model = os.path.join(workdir, f"model-{it + 1}.json")
        if tolerance > 0 and len(history) >= 2 and (history[-1] - history[-2]) / rows < tolerance:
            break
    shutil.copyfile(model, output)
    return history


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", required=True, help="CSV with a header, or Parquet")
    p.add_argument("--columns", help="comma-separated columns (default: every numeric column)")
    p.add_argument("--family", default="gmm", choices=["gmm", "fa", "ppca"])
    p.add_argument("--components", type=int, help="gmm: K, for a start fitted on a sample (without --model)")
    p.add_argument("--factors", type=int, help="fa, ppca: the number of factors (without --model)")
    p.add_argument("--covariance", default="full")
    p.add_argument("--model", help="a start model file (instead of --components)")
    p.add_argument("--iterations", type=int, default=100)
    p.add_argument("--tolerance", type=float, default=1e-6, help="per row; 0 runs every iteration")
    p.add_argument("--partitions", type=int, default=0, help="repartition the data (default: as read)")
    p.add_argument("--sample", type=int, default=20_000, help="rows of the start's sample")
    p.add_argument("--latent", help="the latent binary (default: the one shipped with --files)")
    p.add_argument("--master", help="Spark master (default: as spark-submit sets it, else local[*])")
    p.add_argument("--output", required=True)
    a = p.parse_args()

    from pyspark.sql import SparkSession
    builder = SparkSession.builder.appName("latent-em")
    if a.master or not os.environ.get("SPARK_ENV_LOADED"):
        builder = builder.master(a.master or "local[*]")
    spark = builder.getOrCreate()
    reader = spark.read.parquet if a.data.endswith(".parquet") else spark.read.option("header", True).option("inferSchema", True).csv
    frame = reader(a.data)
    if a.partitions:
        frame = frame.repartition(a.partitions)
    columns = a.columns.split(",") if a.columns else [f.name for f in frame.schema.fields
                                                      if f.dataType.typeName() in ("double", "integer", "long", "float")]
    binary = latent_binary(a.latent)
    with tempfile.TemporaryDirectory() as workdir:
        start = a.model
        if start is None:
            size = ["--components", str(a.components), "--covariance", a.covariance] if a.family == "gmm" else ["--factors", str(a.factors)]
            if not (a.components if a.family == "gmm" else a.factors):
                raise SystemExit("give --model, or --components (gmm) or --factors (fa, ppca)")
            rows = frame.count()
            sample = frame.select(*columns).sample(fraction=min(1.0, a.sample / max(1, rows)), seed=0).toPandas()
            sample_file, start = os.path.join(workdir, "sample.csv"), os.path.join(workdir, "start.json")
            sample.to_csv(sample_file, index=False)
            run([binary, "fit", a.family, "--data", sample_file, *size, "--output", start, "--quiet"])
        # A factor model's statistics do not depend on the model: one round is the whole fit.
        rounds = a.iterations if a.family == "gmm" else 1
        history = fit(spark, frame, columns, binary, start, rounds, a.tolerance, a.output, workdir)
    print(json.dumps({"iterations": len(history), "logLikelihoodHistory": history, "output": a.output}))
    spark.stop()


if __name__ == "__main__":
    main()
