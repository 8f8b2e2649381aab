"""Synthetic workloads for the benchmarks, each generated once from a fixed seed.

Every generator writes .npy files (float64, C order) that both Latent and the anchor read, so the two
sides see the same bytes. A manifest beside the files records the parameters each file was made
with; a file is regenerated only when its parameters change or it is missing.
"""
import hashlib
import json
import os
import struct

import numpy as np

SEED = 20240601
VERSION = 2  # bump when a generator changes: files made by an older one are regenerated
CHUNK = 100_000  # rows drawn per seeded chunk: the first n rows are the same whatever the total size


def _random_covariance(rng, d):
    a = rng.normal(size=(d, d))
    scale = rng.uniform(0.5, 2.0)
    return scale * (a @ a.T / d + 0.5 * np.eye(d))


def gmm_truth(d, k, seed=SEED, centre_scale=4.0):
    """K centres ~ N(0, centre_scale^2 I), random full covariances, weights from a Dirichlet(5) draw."""
    rng = np.random.default_rng([seed, 1])
    centres = rng.normal(scale=centre_scale, size=(k, d))
    covs = np.stack([_random_covariance(rng, d) for _ in range(k)])
    weights = rng.dirichlet(np.full(k, 5.0))
    return weights, centres, covs


def write_gmm(path, n, d, k, seed=SEED, centre_scale=4.0):
    """n rows of the mixture, drawn chunk by chunk (chunk i from seeds [seed, 2, i, *]): any size's first rows
    are the rows of a smaller size. A centre_scale near 1 makes the components overlap (EM then needs many
    iterations)."""
    weights, centres, covs = gmm_truth(d, k, seed, centre_scale)
    chol = np.linalg.cholesky(covs)
    out = np.lib.format.open_memmap(path + ".tmp", mode="w+", dtype=np.float64, shape=(n, d))
    for start in range(0, n, CHUNK):
        m = min(CHUNK, n - start)
        z = np.random.default_rng([seed, 2, start // CHUNK, 0]).choice(k, size=m, p=weights)
        e = np.random.default_rng([seed, 2, start // CHUNK, 1]).normal(size=(m, d))
        out[start:start + m] = centres[z] + np.einsum("nij,nj->ni", chol[z], e)
    out.flush()
    del out
    os.replace(path + ".tmp", path)


def gmm_initial_means(path, d, k, seed=SEED):
    """One fresh draw from each true component (seed [seed, 5]): a start near, not at, the truth,
    the same whatever the data size."""
    _, centres, covs = gmm_truth(d, k, seed)
    rng = np.random.default_rng([seed, 5])
    chol = np.linalg.cholesky(covs)
    np.save(path, np.ascontiguousarray(centres + np.einsum("kij,kj->ki", chol, rng.normal(size=(k, d)))))


def write_fa(path, n, d, factors, seed=SEED):
    """x = W z + mu + e, z ~ N(0, I_q), W ~ N(0, 1), noise variances ~ U(0.5, 2), mu ~ N(0, 1)."""
    rng = np.random.default_rng([seed, 3])
    w = rng.normal(size=(d, factors))
    psi = rng.uniform(0.5, 2.0, size=d)
    mu = rng.normal(size=d)
    z = rng.normal(size=(n, factors))
    x = z @ w.T + mu + rng.normal(size=(n, d)) * np.sqrt(psi)
    np.save(path, np.ascontiguousarray(x))


def write_hmm(path, means_path, t, d, k, seed=SEED):
    """A sticky K-state Gaussian HMM (full covariances): 0.95 on the transition diagonal, means ~ N(0, 3^2 I).
    The initial means are one observed row per true state (the first time the chain visits it)."""
    rng = np.random.default_rng([seed, 4])
    trans = np.full((k, k), 0.05 / (k - 1))
    np.fill_diagonal(trans, 0.95)
    means = rng.normal(scale=3.0, size=(k, d))
    chol = np.linalg.cholesky(np.stack([_random_covariance(rng, d) for _ in range(k)]))
    u = rng.uniform(size=t)
    states = np.empty(t, dtype=np.int64)
    cum = np.cumsum(trans, axis=1)
    s = int(rng.integers(k))
    for i in range(t):
        states[i] = s
        s = int(min(np.searchsorted(cum[s], u[i], side="right"), k - 1))
    x = means[states] + np.einsum("nij,nj->ni", chol[states], rng.normal(size=(t, d)))
    np.save(path, np.ascontiguousarray(x))
    first = [int(np.argmax(states == c)) if np.any(states == c) else int(rng.integers(t)) for c in range(k)]
    np.save(means_path, np.ascontiguousarray(x[first]))


def write_hmm_sequences(path, means_path, sequences, t, d, k, seed=SEED):
    """Many short sequences of a sticky K-state Gaussian HMM (diagonal, unit variances; 0.9 on the
    transition diagonal; means ~ N(0, 3^2 I)), written as CSV with a leading `sequence` column (the
    sequence's number) and columns x0 … x{d-1}. The initial means are one observed row per true state."""
    rng = np.random.default_rng([seed, 7, sequences, t, d, k])
    trans = np.full((k, k), 0.1 / (k - 1))
    np.fill_diagonal(trans, 0.9)
    cum = np.cumsum(trans, axis=1)
    means = rng.normal(scale=3.0, size=(k, d))
    states = np.empty(sequences * t, dtype=np.int64)
    u = rng.uniform(size=sequences * t)
    for q in range(sequences):
        s = int(rng.integers(k))
        for i in range(t):
            states[q * t + i] = s
            s = int(min(np.searchsorted(cum[s], u[q * t + i], side="right"), k - 1))
    x = means[states] + rng.normal(size=(sequences * t, d))
    ids = np.repeat(np.arange(sequences), t)
    with open(path, "w") as f:
        f.write("sequence," + ",".join(f"x{j}" for j in range(d)) + "\n")
        for q, row in zip(ids, x):
            f.write(f"{q}," + ",".join(repr(float(v)) for v in row) + "\n")
    first = [int(np.argmax(states == c)) if np.any(states == c) else int(rng.integers(len(x))) for c in range(k)]
    np.save(means_path, np.ascontiguousarray(x[first]))


def lds_truth(d, l, seed=SEED):
    """A stable linear dynamical system: A with eigenvalues 0.5–0.95 (a random rotation of a
    diagonal), C ~ N(0, 1), Q = 0.25 I, R = diag U(0.05, 0.2), x_1 ~ N(0, I)."""
    rng = np.random.default_rng([seed, 6])
    q, _ = np.linalg.qr(rng.normal(size=(l, l)))
    a = q @ np.diag(np.linspace(0.95, 0.5, l)) @ q.T
    c = rng.normal(size=(d, l))
    return a, c, 0.25 * np.eye(l), np.diag(rng.uniform(0.05, 0.2, size=d))


def write_lds(path, t, d, l, seed=SEED):
    """T steps of the system of lds_truth."""
    a, c, q, r = lds_truth(d, l, seed)
    rng = np.random.default_rng([seed, 7])
    w = rng.normal(size=(t, l)) @ np.linalg.cholesky(q).T
    v = rng.normal(size=(t, d)) @ np.linalg.cholesky(r).T
    x = np.empty((t, l))
    x[0] = rng.normal(size=l)
    for i in range(1, t):
        x[i] = a @ x[i - 1] + w[i]
    np.save(path, np.ascontiguousarray(x @ c.T + v))


def read_idx_images(path):
    """An IDX3 file (big-endian magic 0x00000803, three int32 sizes) as an (n, rows*cols) uint8 array."""
    with open(path, "rb") as f:
        magic, n, rows, cols = struct.unpack(">4i", f.read(16))
        if magic != 0x0803:
            raise ValueError(f"{path}: magic {magic:#x} is not an IDX3 uint8 file")
        data = np.frombuffer(f.read(n * rows * cols), dtype=np.uint8)
    return data.reshape(n, rows * cols), rows, cols


def write_idx_prefix(source, path, count):
    """The first `count` images of an IDX3 file, byte for byte, as a new IDX3 file."""
    with open(source, "rb") as f:
        magic, n, rows, cols = struct.unpack(">4i", f.read(16))
        count = min(count, n)
        body = f.read(count * rows * cols)
    with open(path + ".tmp", "wb") as g:
        g.write(struct.pack(">4i", magic, count, rows, cols))
        g.write(body)
    os.replace(path + ".tmp", path)


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            h.update(block)
    return h.hexdigest()


class Store:
    """Files in a work directory with a manifest of the parameters that made each."""

    def __init__(self, directory):
        self.dir = directory
        os.makedirs(directory, exist_ok=True)
        self.manifest_path = os.path.join(directory, "manifest.json")
        try:
            with open(self.manifest_path) as f:
                self.manifest = json.load(f)
        except (OSError, ValueError):
            self.manifest = {}

    def path(self, name):
        return os.path.join(self.dir, name)

    def ensure(self, names, spec, make):
        """Make the files `names` with `make()` unless they exist and were made from the same spec."""
        spec = json.loads(json.dumps({**spec, "generator": VERSION}))
        paths = [self.path(n) for n in names]
        if all(os.path.exists(p) and self.manifest.get(n, {}).get("spec") == spec for n, p in zip(names, paths)):
            return paths
        make()
        for n, p in zip(names, paths):
            self.manifest[n] = {"spec": spec, "bytes": os.path.getsize(p), "sha256": sha256(p)}
        with open(self.manifest_path + ".tmp", "w") as f:
            json.dump(self.manifest, f, indent=1)
        os.replace(self.manifest_path + ".tmp", self.manifest_path)
        return paths
