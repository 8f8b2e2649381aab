"""CI check: the Spark driver in local mode, on 4 partitions, equals the single-machine EM run
(a Gaussian mixture, 10 iterations; a hidden Markov model over 10 sequences, 10 Baum-Welch
iterations) and the single-machine factor analysis (one round); with missing values (Spark nulls)
for a mixture and an HMM (airquality) and a factor model (bfi).

Usage: python distributed/test_spark_em.py [path/to/latent]   (needs pyspark and a Java runtime)
"""
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import spark_em  # noqa: E402


def parameters(path):
    def numbers(x):
        if isinstance(x, dict):
            return [v for k in sorted(x) for v in numbers(x[k])]
        if isinstance(x, list):
            return [v for y in x for v in numbers(y)]
        return [float(x)] if isinstance(x, (int, float)) else []
    with open(path) as f:
        return numbers(json.load(f)["gaussianMixture"])


def mixture_case(spark, binary, d, name, data, size, seed, iterations, columns=None, nulls=None):
    """A mixture fitted 3 iterations from `seed` on one process, then `iterations` more over 4 Spark
    partitions and on one process from that start: parameters and history must agree to 1e-9.
    `nulls`: a column that must hold nulls in Spark's reading (the data's missing values)."""
    start, single, distributed = (os.path.join(d, f"{name}-{n}.json") for n in ("start", "single", "spark"))
    spark_em.run([binary, "fit", "gmm", "--data", data, *size, "--max-iterations", "3", "--tolerance", "0",
                  "--seed", str(seed), "--output", start, "--quiet"])
    frame = spark.read.option("header", True).option("inferSchema", True).csv(data).repartition(4)
    assert frame.rdd.getNumPartitions() == 4
    if nulls:
        assert frame.filter(frame[nulls].isNull()).count() > 0
    history = spark_em.fit(spark, frame, columns or [f.name for f in frame.schema.fields], binary, start, iterations, 0.0,
                           distributed, d)
    # Plain EM on one process too: the driver runs plain EM, and the default SQUAREM takes other steps.
    spark_em.run([binary, "fit", "gmm", "--data", data, *size, "--warm-start", start, "--max-iterations", str(iterations),
                  "--tolerance", "0", "--acceleration", "none", "--output", single, "--quiet"])
    with open(single) as f:
        single_history = json.load(f)["training"]["history"]   # the start's, then after each iteration
    a, b = parameters(distributed), parameters(single)
    worst = max(abs(x - y) / max(1.0, abs(y)) for x, y in zip(a, b))
    worst_ll = max(abs(x - y) / abs(y) for x, y in zip(history, single_history))
    print(f"Spark mixture ({name}, 4 partitions) against one process, {iterations} EM iterations: parameters within "
          f"{worst:.2e}, log-likelihood history within {worst_ll:.2e}")
    assert len(history) == iterations and len(single_history) == iterations + 1, (len(history), len(single_history))
    assert len(a) == len(b) > 10 and worst < 1e-9 and worst_ll < 1e-9, (worst, worst_ll)


def main():
    binary = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, ".build", "release", "latent"))
    data = os.path.join(ROOT, "Data", "faithful.csv")
    from pyspark.sql import SparkSession
    spark = SparkSession.builder.master("local[2]").appName("latent-em-test").config("spark.ui.enabled", "false").getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    with tempfile.TemporaryDirectory() as d:
        mixture_case(spark, binary, d, "faithful", data, ["--components", "3"], 4, 10, columns=["eruptions", "waiting"])

        # A Gaussian HMM over the geyser series cut into 10 sequences of 30 eruptions (an `id` column).
        seq = os.path.join(d, "seq.csv")
        with open(os.path.join(ROOT, "Data", "geyser.csv")) as f:
            lines = f.read().split("\n")[1:]
        lines = [l for l in lines if l.strip()]
        with open(seq, "w") as f:
            f.write("id,waiting,duration\n" + "".join(f"{i // 30},{l}\n" for i, l in enumerate(lines)))
        hmm_start, hmm_single, hmm_spark = (os.path.join(d, n) for n in ("hmm-start.json", "hmm-single.json", "hmm-spark.json"))
        spark_em.run([binary, "fit", "hmm", "--data", seq, "--sequence-column", "id", "--states", "3", "--covariance", "diag",
                      "--max-iterations", "3", "--tolerance", "0", "--restarts", "1", "--seed", "2", "--output", hmm_start, "--quiet"])
        frame = spark_em.by_sequence(spark.read.option("header", True).option("inferSchema", True).csv(seq), "id", partitions=4)
        assert frame.rdd.getNumPartitions() == 4
        hmm_history = spark_em.fit(spark, frame, ["waiting", "duration"], binary, hmm_start, 10, 0.0, hmm_spark, d, "id")
        spark_em.run([binary, "fit", "hmm", "--data", seq, "--sequence-column", "id", "--states", "3", "--covariance", "diag",
                      "--warm-start", hmm_start, "--max-iterations", "10", "--tolerance", "0", "--acceleration", "none",
                      "--output", hmm_single, "--quiet"])
        with open(hmm_single) as f:
            hmm_single_history = json.load(f)["training"]["history"]
        worst_hmm = max(abs(x - y) / abs(y) for x, y in zip(hmm_history, hmm_single_history))
        print(f"Spark HMM (4 partitions by sequence) against one process, 10 Baum-Welch iterations: "
              f"log-likelihood history within {worst_hmm:.2e}")
        assert len(hmm_history) == 10 and worst_hmm < 1e-9, worst_hmm

        # Factor analysis of the 13 wine measurements: one round of moments over 4 partitions.
        wine = os.path.join(ROOT, "Data", "reference", "wine13.csv")
        fa_start, fa_single, fa_spark = (os.path.join(d, n) for n in ("fa-start.json", "fa-single.json", "fa-spark.json"))
        spark_em.run([binary, "fit", "fa", "--data", wine, "--factors", "3", "--max-iterations", "5", "--output", fa_start, "--quiet"])
        frame = spark.read.option("header", True).option("inferSchema", True).csv(wine).repartition(4)
        columns = [f.name for f in frame.schema.fields]
        fa_history = spark_em.fit(spark, frame, columns, binary, fa_start, 1, 0.0, fa_spark, d)
        whole = spark_em.run([binary, "fit", "fa", "--data", wine, "--factors", "3", "--output", fa_single, "--json", "--quiet"])
        with open(fa_spark) as f:
            spark_noise = json.load(f)["linearGaussian"]["noiseVariances"]
        with open(fa_single) as f:
            single_noise = json.load(f)["linearGaussian"]["noiseVariances"]
        worst_noise = max(abs(x - y) / y for x, y in zip(spark_noise, single_noise))
        gap = abs(fa_history[0] - whole["logLikelihood"]) / abs(whole["logLikelihood"])
        print(f"Spark factor analysis (4 partitions, one round) against one process: log-likelihood within {gap:.2e}, "
              f"noise variances within {worst_noise:.2e}")
        # EM stops on the likelihood's progress (1e-7 per row); the slowest noise variances are still
        # moving there, so the parameters agree less closely than the likelihood.
        assert len(fa_history) == 1 and gap < 1e-9 and worst_noise < 1e-4, (gap, worst_noise)

        # Missing values: Spark reads airquality's empty cells as nulls; they reach `latent` as missing.
        air = os.path.join(ROOT, "Data", "airquality.csv")
        mixture_case(spark, binary, d, "airquality", air, ["--components", "2", "--covariance", "diag"], 1, 5, nulls="ozone")
        air_columns = ["ozone", "solar_r", "wind", "temp"]

        # An HMM with nulls: airquality cut into 6 sequences of 30 days (the last shorter); empty cells go
        # through the partitions' CSV files as empty cells.
        air_seq = os.path.join(d, "air-seq.csv")
        with open(air) as f:
            header, *days = [l for l in f.read().split("\n") if l.strip()]
        with open(air_seq, "w") as f:
            f.write("id," + header + "\n" + "".join(f"{i // 30},{l}\n" for i, l in enumerate(days)))
        hmm_air = ["--sequence-column", "id", "--states", "2", "--covariance", "diag"]
        air_hmm_start, air_hmm_single, air_hmm_spark = (os.path.join(d, n) for n in ("ah-start.json", "ah-single.json", "ah-spark.json"))
        # The start: one plain run of 3 iterations, so that the 5 compared iterations still climb (the
        # default search's short runs and moves would hand over a converged model, whose next steps
        # change the likelihood only by rounding and end EM early). The single process runs plain
        # Baum-Welch, as the driver does (SQUAREM's steps differ once the start is not converged).
        spark_em.run([binary, "fit", "hmm", "--data", air_seq, *hmm_air, "--max-iterations", "3", "--tolerance", "0", "--restarts", "1",
                      "--short-runs", "1", "--split-merge-trials", "0", "--seed", "2", "--output", air_hmm_start, "--quiet"])
        frame = spark_em.by_sequence(spark.read.option("header", True).option("inferSchema", True).csv(air_seq), "id", partitions=4)
        assert frame.filter(frame.ozone.isNull()).count() > 0
        air_hmm_history = spark_em.fit(spark, frame, air_columns, binary, air_hmm_start, 5, 0.0, air_hmm_spark, d, "id")
        spark_em.run([binary, "fit", "hmm", "--data", air_seq, *hmm_air, "--warm-start", air_hmm_start, "--max-iterations", "5",
                      "--tolerance", "0", "--acceleration", "none", "--output", air_hmm_single, "--quiet"])
        with open(air_hmm_single) as f:
            air_hmm_single_history = json.load(f)["training"]["history"]
        worst_air_hmm = max(abs(x - y) / abs(y) for x, y in zip(air_hmm_history, air_hmm_single_history))
        print(f"Spark HMM with nulls (airquality in 6 sequences, 4 partitions) against one process, 5 Baum-Welch iterations: "
              f"log-likelihood history within {worst_air_hmm:.2e}")
        assert len(air_hmm_history) == 5 and len(air_hmm_single_history) == 6 and worst_air_hmm < 1e-9, worst_air_hmm

        # Factor analysis with nulls (bfi): one round of per-pattern moments, then EM on the driver.
        bfi = os.path.join(ROOT, "Data", "bfi.csv")
        bfi_start, bfi_single, bfi_spark = (os.path.join(d, n) for n in ("bfi-start.json", "bfi-single.json", "bfi-spark.json"))
        spark_em.run([binary, "fit", "fa", "--data", bfi, "--factors", "5", "--max-iterations", "2", "--output", bfi_start, "--quiet"])
        frame = spark.read.option("header", True).option("inferSchema", True).csv(bfi).repartition(4)
        bfi_columns = [f.name for f in frame.schema.fields]
        assert frame.filter(frame[bfi_columns[0]].isNull()).count() > 0
        bfi_history = spark_em.fit(spark, frame, bfi_columns, binary, bfi_start, 1, 0.0, bfi_spark, d)
        whole = spark_em.run([binary, "fit", "fa", "--data", bfi, "--factors", "5", "--output", bfi_single, "--json", "--quiet"])
        bfi_gap = abs(bfi_history[0] - whole["logLikelihood"]) / abs(whole["logLikelihood"])
        print(f"Spark factor analysis with nulls (bfi, 4 partitions, one round) against one process: "
              f"log-likelihood within {bfi_gap:.2e}")
        assert len(bfi_history) == 1 and bfi_gap < 1e-9, bfi_gap
    spark.stop()


if __name__ == "__main__":
    main()
