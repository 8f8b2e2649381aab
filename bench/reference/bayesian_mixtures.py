"""scikit-learn's BayesianGaussianMixture on the bundled faithful and iris data: writes
Data/reference/bayesian-mixtures.json for BayesianMixtureTests.

Full covariances and scikit-learn's default priors (mean prior = data mean, mean precision 1,
degrees of freedom D, covariance prior = data covariance, weight concentration 1/K), with the
Dirichlet-process and the Dirichlet weight prior; 30 k-means starts (random_state 0–29), each run
for 3,000 iterations (tol 0: scikit-learn's convergence test watches a bound with terms left out and
stops some runs early), reg_covar 0; the fit with the highest lower bound is kept. Weights are
scikit-learn's weights_ (expected weights, normalised), means its means_ (the posterior means m_k),
sorted by the first coordinate of the mean; the whole posterior (mean precisions, degrees of
freedom, W_k⁻¹ = covariances_ × degrees of freedom, weight concentrations) is kept too, so that the
test can evaluate Latent's exact bound at scikit-learn's answer and continue from it.

Usage: bench/.venv/bin/python bench/reference/bayesian_mixtures.py
"""
import json
import os
import warnings

import numpy as np
import pandas as pd
from sklearn.mixture import BayesianGaussianMixture

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")


def fit(x, k, prior):
    best = None
    for s in range(30):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            g = BayesianGaussianMixture(n_components=k, covariance_type="full", weight_concentration_prior_type=prior,
                                        tol=0, max_iter=3000, reg_covar=0, random_state=s).fit(x)
        if best is None or g.lower_bound_ > best.lower_bound_:
            best = g
    order = np.argsort(best.means_[:, 0])
    conc = best.weight_concentration_
    return {"weights": best.weights_[order].tolist(), "means": best.means_[order].tolist(),
            "sklearnLowerBound": float(best.lower_bound_),
            "posterior": {"meanPrecision": best.mean_precision_.tolist(), "means": best.means_.tolist(),
                          "degreesOfFreedom": best.degrees_of_freedom_.tolist(),
                          "scaleInverses": (best.covariances_ * best.degrees_of_freedom_[:, None, None]).tolist(),
                          "weightConcentration": (conc[0] if isinstance(conc, tuple) else conc).tolist(),
                          "weightConcentration2": conc[1].tolist() if isinstance(conc, tuple) else []}}


def main():
    entries = []
    for name, k in [("faithful", 2), ("faithful", 3), ("iris", 3)]:
        df = pd.read_csv(os.path.join(ROOT, "Data", f"{name}.csv")).select_dtypes("number")
        x = df.to_numpy(dtype=float)
        for prior in ["dirichlet_process", "dirichlet_distribution"]:
            e = {"data": f"{name}.csv", "components": k,
                 "weightPrior": "dirichlet-process" if prior == "dirichlet_process" else "dirichlet"}
            e.update(fit(x, k, prior))
            entries.append(e)
            print(e["data"], k, prior, e["weights"])
    import sklearn
    with open(os.path.join(ROOT, "Data", "reference", "bayesian-mixtures.json"), "w") as f:
        json.dump({"anchor": f"scikit-learn {sklearn.__version__} BayesianGaussianMixture", "entries": entries}, f, indent=1)


if __name__ == "__main__":
    main()
