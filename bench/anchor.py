"""One anchor run in its own process: `python anchor.py '<json spec>'` prints one JSON object.

The spec's "kind" picks the anchor (scikit-learn, hmmlearn, PyTorch, or the BLAS probe); "threads"
pins every thread pool before NumPy, SciPy or PyTorch is imported. Only the fit (or scoring) is
timed; loading data and building the starting point are not.
"""
import json
import os
import sys
import time
import warnings

SPEC = json.loads(sys.argv[1])
THREADS = int(SPEC.get("threads", 1))
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS",
            "NUMEXPR_NUM_THREADS", "BLIS_NUM_THREADS"):
    os.environ[var] = str(THREADS)

import numpy as np  # noqa: E402  (after the thread variables)
from threadpoolctl import threadpool_limits  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import datagen  # noqa: E402

warnings.filterwarnings("ignore")


def latent_gmm_start(x, means0, covariance, reg=1e-6):
    """Latent's --initial-means start: each row to its nearest initial mean (Euclidean), then one
    M-step from those hard assignments: weights = counts / N, means = cluster means, covariances =
    cluster covariances dividing by the count, plus reg on the diagonal (diag: per-dimension
    variances + reg; spherical: the mean of those). Returns sklearn's weights, means, precisions."""
    n, d = x.shape
    k = means0.shape[0]
    labels = np.empty(n, dtype=np.int64)
    m2 = (means0 ** 2).sum(axis=1)
    for s in range(0, n, 65536):
        block = x[s:s + 65536]
        dist = (block ** 2).sum(axis=1)[:, None] - 2.0 * block @ means0.T + m2[None, :]
        labels[s:s + len(block)] = np.argmin(dist, axis=1)
    counts = np.bincount(labels, minlength=k).astype(float)
    if np.any(counts == 0):
        raise ValueError("an initial mean has no nearest point")
    weights = counts / n
    means = np.stack([x[labels == c].mean(axis=0) for c in range(k)])
    if covariance == "full":
        covs = []
        for c in range(k):
            xc = x[labels == c] - means[c]
            covs.append(xc.T @ xc / counts[c] + reg * np.eye(d))
        precisions = np.linalg.inv(np.stack(covs))
    else:
        var = np.stack([((x[labels == c] - means[c]) ** 2).mean(axis=0) for c in range(k)]) + reg
        if covariance == "diag":
            precisions = 1.0 / var
        elif covariance == "spherical":
            precisions = 1.0 / var.mean(axis=1)
        else:
            raise ValueError(f"covariance {covariance} has no Latent-equivalent start here")
    return weights, means, precisions


def run_sklearn_gmm():
    from sklearn.mixture import GaussianMixture
    import sklearn
    x = np.load(SPEC["data"])
    means0 = np.load(SPEC["means0"])
    weights, means, precisions = latent_gmm_start(x, means0, SPEC["covariance"])
    gm = GaussianMixture(n_components=means0.shape[0], covariance_type=SPEC["covariance"],
                         max_iter=SPEC["iterations"], tol=0.0, reg_covar=1e-6, init_params="random",
                         weights_init=weights, means_init=means, precisions_init=precisions, random_state=0)
    t0 = time.perf_counter()
    gm.fit(x)
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "iterations": int(gm.n_iter_), "meanLogLikelihood": float(gm.score(x)),
            "version": sklearn.__version__}


def run_sklearn_bgmm():
    """scikit-learn's variational mixture (full covariances, its default Dirichlet-process prior),
    one start from random data points, a fixed number of sweeps; the start is timed too."""
    from sklearn.mixture import BayesianGaussianMixture
    import sklearn
    x = np.load(SPEC["data"])
    bg = BayesianGaussianMixture(n_components=SPEC["components"], covariance_type="full", max_iter=SPEC["iterations"],
                                 tol=0.0, init_params="random_from_data", random_state=0)
    t0 = time.perf_counter()
    bg.fit(x)
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "iterations": int(bg.n_iter_), "lowerBoundSklearn": float(bg.lower_bound_),
            "version": sklearn.__version__}


def run_sklearn_fa():
    from sklearn.decomposition import FactorAnalysis
    import sklearn
    x = np.load(SPEC["data"])
    fa = FactorAnalysis(n_components=SPEC["factors"], max_iter=SPEC["iterations"], tol=0.0,
                        svd_method=SPEC.get("svd_method", "lapack"), random_state=0)
    t0 = time.perf_counter()
    fa.fit(x)
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "iterations": int(fa.n_iter_), "meanLogLikelihood": float(fa.score(x)),
            "version": sklearn.__version__}


def hmm_start(x, means0):
    """The start both sides use: uniform initial distribution, transitions 0.7 on the diagonal and the
    rest shared equally off it, the given means, every state's covariance = the data covariance
    (dividing by T)."""
    k, d = means0.shape
    start = np.full(k, 1.0 / k)
    trans = np.full((k, k), 0.3 / (k - 1))
    np.fill_diagonal(trans, 0.7)
    cov = np.cov(x, rowvar=False, bias=True)
    return start, trans, np.repeat(cov[None], k, axis=0)


def run_hmmlearn():
    from hmmlearn.hmm import GaussianHMM
    import hmmlearn
    x = np.load(SPEC["data"])
    means0 = np.load(SPEC["means0"])
    start, trans, covs = hmm_start(x, means0)
    # covars_prior=0: hmmlearn's default 1e-2 adds a constant to every covariance entry in the M-step;
    # means_weight=0 and Dirichlet priors of 1 leave plain maximum-likelihood Baum-Welch.
    model = GaussianHMM(n_components=means0.shape[0], covariance_type="full", n_iter=SPEC["iterations"], tol=0.0,
                        init_params="", params="stmc", covars_prior=0.0, covars_weight=1,
                        means_prior=0, means_weight=0, startprob_prior=1.0, transmat_prior=1.0,
                        implementation=SPEC.get("implementation", "log"))
    model.startprob_ = start
    model.transmat_ = trans
    model.means_ = means0.copy()
    model.covars_ = covs
    t0 = time.perf_counter()
    model.fit(x)
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "iterations": int(model.monitor_.iter),
            "meanLogLikelihood": float(model.score(x)) / len(x), "version": hmmlearn.__version__}


def run_hmmlearn_sequences():
    """hmmlearn GaussianHMM (diagonal) on many short sequences, `lengths` from the CSV's sequence
    column. start "given": the same start as Latent's --initial-means (hmm_start, variances only);
    start "default": hmmlearn's own initialisation (k-means means, data variances, uniform
    probabilities), which is timed with the fit, as Latent's start is."""
    from hmmlearn.hmm import GaussianHMM
    import hmmlearn
    table = np.loadtxt(SPEC["data"], delimiter=",", skiprows=1, ndmin=2)
    ids, x = table[:, 0], np.ascontiguousarray(table[:, 1:])
    cuts = np.flatnonzero(np.diff(ids)) + 1
    lengths = np.diff(np.r_[0, cuts, len(x)])
    k = SPEC["states"]
    if SPEC["start"] == "given":
        means0 = np.load(SPEC["means0"])
        start, trans, _ = hmm_start(x, means0)
        model = GaussianHMM(n_components=k, covariance_type="diag", n_iter=SPEC["iterations"], tol=0.0,
                            init_params="", params="stmc", covars_prior=0.0, covars_weight=1,
                            means_prior=0, means_weight=0, startprob_prior=1.0, transmat_prior=1.0,
                            implementation="scaling")
        model.startprob_, model.transmat_, model.means_ = start, trans, means0.copy()
        model.covars_ = np.tile(x.var(axis=0), (k, 1))   # the data's variances (dividing by T) in every state
    else:
        model = GaussianHMM(n_components=k, covariance_type="diag", n_iter=SPEC["iterations"], tol=0.0,
                            random_state=0, implementation="scaling")
    t0 = time.perf_counter()
    model.fit(x, lengths)
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "iterations": int(model.monitor_.iter),
            "meanLogLikelihood": float(model.score(x, lengths)) / len(x), "version": hmmlearn.__version__}


def mnist(path, limit=None):
    images, _, _ = datagen.read_idx_images(path)
    if limit:
        images = images[:limit]
    return (images.astype(np.float32) / 255.0 > 0.5).astype(np.float32)


def run_sklearn_rbm():
    """scikit-learn's BernoulliRBM (persistent CD-1) over the same mini-batches as Latent, one epoch."""
    from sklearn.neural_network import BernoulliRBM
    import sklearn
    x = mnist(SPEC["data"], SPEC.get("images")).astype(np.float64)
    b = SPEC["batch_size"]
    rbm = BernoulliRBM(n_components=SPEC["hidden"], learning_rate=SPEC["learning_rate"], batch_size=b, n_iter=1,
                       random_state=0)
    t0 = time.perf_counter()
    for s in range(0, len(x), b):
        rbm.partial_fit(x[s:s + b])
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "epochs": 1, "pseudoLogLikelihood": float(rbm.score_samples(x[:1000]).mean()),
            "version": sklearn.__version__}


def vae_class():
    import torch
    from torch import nn

    class VAE(nn.Module):
        """784-h-z Bernoulli VAE: ReLU hidden layers; the encoder gives mean and log-variance."""

        def __init__(self, d, hidden, latent):
            super().__init__()
            self.enc = nn.Linear(d, hidden)
            self.mu = nn.Linear(hidden, latent)
            self.logvar = nn.Linear(hidden, latent)
            self.dec1 = nn.Linear(latent, hidden)
            self.dec2 = nn.Linear(hidden, d)

        def encode(self, x):
            h = torch.relu(self.enc(x))
            return self.mu(h), self.logvar(h)

        def decode(self, z):
            return self.dec2(torch.relu(self.dec1(z)))

        def elbo(self, x, eps):
            """Per-row ELBO: Bernoulli log-likelihood (logits) minus the closed-form KL to N(0, I)."""
            mu, logvar = self.encode(x)
            z = mu + torch.exp(0.5 * logvar) * eps
            logits = self.decode(z)
            rec = -nn.functional.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(dim=1)
            kl = 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(dim=1)
            return rec - kl

    return VAE


def run_torch_vae():
    import torch
    torch.set_num_threads(THREADS)
    torch.set_num_interop_threads(1)
    torch.manual_seed(SPEC.get("seed", 0))
    x = torch.from_numpy(mnist(SPEC["data"]))
    n, d = x.shape
    model = vae_class()(d, SPEC["hidden"], SPEC["latent"])
    opt = torch.optim.Adam(model.parameters(), lr=SPEC["learning_rate"])
    gen = torch.Generator().manual_seed(SPEC.get("seed", 0))
    batch = SPEC["batch_size"]
    epoch_seconds, epoch_elbo = [], []
    for _ in range(SPEC["epochs"]):
        t0 = time.perf_counter()
        order = torch.randperm(n, generator=gen)
        total = 0.0
        for s in range(0, n, batch):
            xb = x[order[s:s + batch]]
            eps = torch.randn(xb.shape[0], SPEC["latent"], generator=gen)
            loss = -model.elbo(xb, eps).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += float(loss) * xb.shape[0]
        epoch_seconds.append(time.perf_counter() - t0)
        epoch_elbo.append(-total / n)
    if SPEC.get("model"):
        torch.save(model.state_dict(), SPEC["model"])
    return {"seconds": sum(epoch_seconds), "epochs": len(epoch_seconds), "epochSeconds": epoch_seconds,
            "meanLogLikelihood": epoch_elbo[-1], "likelihoodKind": "training ELBO of the last epoch",
            "version": torch.__version__}


def run_torch_iwae():
    import math
    import torch
    torch.set_num_threads(THREADS)
    torch.set_num_interop_threads(1)
    torch.manual_seed(SPEC.get("seed", 0))
    x = torch.from_numpy(mnist(SPEC["data"], SPEC.get("images")))
    n, d = x.shape
    model = vae_class()(d, SPEC["hidden"], SPEC["latent"])
    model.load_state_dict(torch.load(SPEC["model"]))
    model.eval()
    samples = SPEC["samples"]
    per_block = max(1, 10_000 // samples)
    half_log_2pi = 0.5 * math.log(2 * math.pi)
    scores = []
    t0 = time.perf_counter()
    with torch.no_grad():
        for s in range(0, n, per_block):
            xb = x[s:s + per_block]
            mu, logvar = model.encode(xb)
            std = torch.exp(0.5 * logvar)
            eps = torch.randn(xb.shape[0], samples, mu.shape[1])
            z = mu[:, None, :] + std[:, None, :] * eps
            logits = model.decode(z)
            log_px = -torch.nn.functional.binary_cross_entropy_with_logits(
                logits, xb[:, None, :].expand_as(logits), reduction="none").sum(dim=2)
            log_pz = -(0.5 * z.pow(2) + half_log_2pi).sum(dim=2)
            log_qz = -(0.5 * eps.pow(2) + 0.5 * logvar[:, None, :] + half_log_2pi).sum(dim=2)
            scores.append(torch.logsumexp(log_px + log_pz - log_qz, dim=1) - math.log(samples))
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "images": n, "samples": samples,
            "meanLogLikelihood": float(torch.cat(scores).mean()), "version": torch.__version__}


def best_rate(fn, flops, repeats):
    fn()
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return flops / best / 1e9


def run_blas_probe():
    """DGEMM GFLOP/s (best of several) at this process's thread count: NumPy's bundled OpenBLAS and,
    through ctypes, the system OpenBLAS that Latent links; and that library's SGEMM on the IWAE shape."""
    import ctypes
    from threadpoolctl import threadpool_info
    rng = np.random.default_rng(0)
    shapes = {"square 1024^3": (1024, 1024, 1024), "100000x16 . 16x128": (100_000, 128, 16)}
    out = {"threads": THREADS, "numpy": {}, "system": {}}
    info = [i for i in threadpool_info() if i.get("internal_api") in ("openblas", "mkl", "blis")]
    out["numpyBlas"] = [{k: i.get(k) for k in ("internal_api", "prefix", "version", "architecture",
                                                 "threading_layer", "filepath")} for i in info]
    mats = {}
    for name, (m, n, k) in shapes.items():
        a = rng.standard_normal((m, k))
        b = rng.standard_normal((k, n))
        c = np.empty((m, n))
        mats[name] = (a, b, c)
        out["numpy"][name] = best_rate(lambda: np.matmul(a, b, out=c), 2.0 * m * n * k, SPEC.get("repeats", 5))
    path = SPEC.get("system_openblas")
    if path and os.path.exists(path):
        lib = ctypes.CDLL(path)
        lib.openblas_set_num_threads(ctypes.c_int(THREADS))
        for fn in ("openblas_get_config", "openblas_get_corename"):
            f = getattr(lib, fn, None)
            if f is not None:
                f.restype = ctypes.c_char_p
                out.setdefault("systemInfo", {})[fn] = f().decode()
        dbl = ctypes.POINTER(ctypes.c_double)
        lib.cblas_dgemm.restype = None
        lib.cblas_dgemm.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_int,
                                    ctypes.c_double, dbl, ctypes.c_int, dbl, ctypes.c_int, ctypes.c_double, dbl,
                                    ctypes.c_int]
        for name, (m, n, k) in shapes.items():
            a, b, c = mats[name]
            pa, pb, pc = (arr.ctypes.data_as(dbl) for arr in (a, b, c))

            def call(m=m, n=n, k=k, pa=pa, pb=pb, pc=pc):
                lib.cblas_dgemm(101, 111, 111, m, n, k, 1.0, pa, k, pb, n, 0.0, pc, n)  # row-major, no transposes

            out["system"][name] = best_rate(call, 2.0 * m * n * k, SPEC.get("repeats", 5))
        # SGEMM on the shape of the IWAE decoder's output layer as Latent runs it (16 images × 500
        # draws per block): the arithmetic floor of IWAE scoring.
        flt = ctypes.POINTER(ctypes.c_float)
        lib.cblas_sgemm.restype = None
        lib.cblas_sgemm.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_int,
                                    ctypes.c_float, flt, ctypes.c_int, flt, ctypes.c_int, ctypes.c_float, flt,
                                    ctypes.c_int]
        m, n, k = 8000, 784, 400
        a = rng.standard_normal((m, k)).astype(np.float32)
        b = rng.standard_normal((k, n)).astype(np.float32)
        c = np.empty((m, n), dtype=np.float32)
        pa, pb, pc = (arr.ctypes.data_as(flt) for arr in (a, b, c))
        out["systemSgemm"] = {"8000x400 . 400x784": best_rate(
            lambda: lib.cblas_sgemm(101, 111, 111, m, n, k, 1.0, pa, k, pb, n, 0.0, pc, n), 2.0 * m * n * k,
            SPEC.get("repeats", 5))}
        out["systemPath"] = os.path.realpath(path)
    return out


def run_statsmodels_lds():
    """statsmodels' Kalman filter and smoother (MLEModel.ssm.smooth) with the generating parameters,
    once per iteration: the E-step of an EM iteration, which statsmodels does not offer for this model."""
    import statsmodels
    from statsmodels.tsa.statespace.mlemodel import MLEModel
    y = np.load(SPEC["data"])
    d, l = y.shape[1], SPEC["states"]
    a, c, q, r = datagen.lds_truth(d, l)
    model = MLEModel(y, k_states=l, k_posdef=l, initialization="known", initial_state=np.zeros(l),
                     initial_state_cov=np.eye(l))
    model["transition"], model["design"], model["selection"] = a, c, np.eye(l)
    model["state_cov"], model["obs_cov"] = q, r
    model.ssm.smooth()   # warm-up: the first call builds Cython objects
    t0 = time.perf_counter()
    for _ in range(SPEC["iterations"]):
        result = model.ssm.smooth()
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "iterations": SPEC["iterations"], "logLikelihoodTrue": float(result.llf_obs.sum()),
            "version": statsmodels.__version__}


KINDS = {"sklearn-gmm": run_sklearn_gmm, "sklearn-bgmm": run_sklearn_bgmm, "sklearn-rbm": run_sklearn_rbm, "sklearn-fa": run_sklearn_fa, "hmmlearn-hmm": run_hmmlearn, "hmmlearn-sequences": run_hmmlearn_sequences,
         "torch-vae": run_torch_vae, "torch-iwae": run_torch_iwae, "blas-probe": run_blas_probe,
         "statsmodels-lds": run_statsmodels_lds}

if __name__ == "__main__":
    kind = SPEC["kind"]
    if kind in ("torch-vae", "torch-iwae"):
        result = KINDS[kind]()
    else:
        with threadpool_limits(limits=THREADS):
            result = KINDS[kind]()
    print(json.dumps(result))
