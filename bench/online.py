"""Online (stepwise) EM against batch EM on one file larger than the start's sample: how soon each gets within
1e-3 nats per row of the batch fit's optimum (issue #16).

Both sides read the same `.npy` file with `--stream` (a block at a time) and start from the same model:
  - default start: each command's own start search on its 20,000-row subsample (the same rows, the same seed);
  - rough start: `--warm-start` from two EM iterations on the file's first 2,000 rows (a start far from any
    optimum, as a user's earlier model or a small pilot fit may be).
Times come from the progress lines on standard error, stamped as they arrive: batch EM prints the
log-likelihood of the model after i M-steps when its (i+1)-th E-step ends; online EM prints each pass's
model after the scoring pass that follows the pass (so online times include a scoring pass per pass).
The values compared are the exact totals kept in the model file's training history.
"""
import json
import os
import re
import subprocess
import time

WITHIN = 1e-3  # nats per row


def _timed(cmd, log):
    """Runs cmd; returns (stamped progress lines of the final run, wall seconds, parsed --json output)."""
    log(" ".join(os.path.basename(a) if i == 0 else a for i, a in enumerate(cmd)))
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    stamped = [(time.perf_counter() - t0, line.rstrip()) for line in p.stderr]
    out = p.stdout.read()
    p.wait()
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        raise RuntimeError(f"exit {p.returncode}: {stamped[-1][1] if stamped else out[-300:]}")
    iterations = [t for t, line in stamped if re.match(r"start \d+, iteration \d+:", line)]
    return iterations, wall, json.loads(out.strip().splitlines()[-1])


def _history(model_path):
    with open(model_path) as f:
        training = json.load(f)["training"]
    return [v / training["count"] for v in training["history"]]


def _batch(latent, data, model, base, warm, log):
    cmd = [latent, "fit", "gmm", "--data", data, *base, "--stream", "--tolerance", "1e-7", "--max-iterations", "400",
           "--output", model, "--json"] + (["--warm-start", warm] if warm else [])
    stamps, wall, out = _timed(cmd, log)
    history = _history(model)
    steps = out["finalRunIterations"]
    # history[i] is the model after i M-steps; the (i+1)-th E-step's line reports it; the last one is scored at the end.
    times = stamps[len(stamps) - steps:] + [wall]  # (stamps[-0:] would be every line when no step was taken)
    return {"history": history, "times": times[:len(history)], "wall": wall, "iterations": steps,
            "converged": out["converged"]}


def _online(latent, data, model, base, warm, batch, passes, decay, log):
    cmd = [latent, "fit", "gmm", "--data", data, *base, "--stream", "--online", "--batch-size", str(batch),
           "--passes", str(passes), "--step-decay", str(decay), "--output", model, "--json"] + (
        ["--warm-start", warm] if warm else [])
    stamps, wall, out = _timed(cmd, log)
    history = _history(model)  # the start, then the model after each pass
    return {"history": history, "times": [None] + stamps[-passes:], "wall": wall, "passes": passes,
            "batchSize": batch, "stepDecay": decay}


def _first_within(run, target):
    for i, (value, t) in enumerate(zip(run["history"], run["times"])):
        if t is not None and value >= target - WITHIN:
            return i, t
    return None, None


def run(latent, spec, data, work, log):
    """Both scenarios on `data` (spec: the dataset's n, d, k); returns the record for results.json."""
    models = os.path.join(work, "models")
    os.makedirs(models, exist_ok=True)
    base = ["--components", str(spec["k"]), "--covariance", "full", "--seed", "0", "--threads", "2"]
    import numpy as np
    head = os.path.join(work, "gmm-overlap-head.npy")
    np.save(head, np.ascontiguousarray(np.load(data, mmap_mode="r")[:2000]))
    rough = os.path.join(models, "online-rough-start.json")
    _timed([latent, "fit", "gmm", "--data", head, *base, "--max-iterations", "2", "--restarts", "1", "--short-runs", "1",
            "--split-merge-trials", "0", "--output", rough, "--json"], log)
    scenarios = []
    for name, warm, online_runs in (("default start", None, [(4096, 3, 1.0), (256, 3, 1.0), (4096, 3, 0.6)]),
                                    ("rough start", rough, [(4096, 12, 0.6), (4096, 4, 1.0)])):
        batch = _batch(latent, data, os.path.join(models, "online-batch.json"), base, warm, log)
        target = batch["history"][-1]
        rows = [{"method": "batch EM", **batch}]
        for size, passes, decay in online_runs:
            rows.append({"method": "online EM", **_online(latent, data, os.path.join(models, "online.json"), base, warm,
                                                        size, passes, decay, log)})
        for r in rows:
            r["reached"], r["secondsToWithin"] = _first_within(r, target)
            r["finalGap"] = target - r["history"][-1]
        scenarios.append({"start": name, "optimum": target, "rows": rows})
    return {"n": spec["n"], "d": spec["d"], "k": spec["k"], "centreScale": spec["centreScale"], "scenarios": scenarios}


def table(result):
    if not result:
        return None
    if "error" in result:
        return f"Not run: {result['error']}"
    lines = ["| start | method | batch rows | κ | passes / iterations run | reached within 1e-3 after | seconds to within 1e-3 "
             "| final mean LL | below the batch optimum | wall seconds |", "|" + "---|" * 10]
    for sc in result["scenarios"]:
        for r in sc["rows"]:
            online = r["method"] == "online EM"
            n = r["reached"]
            reached = ("not reached" if n is None else f"{n} pass{'' if n == 1 else 'es'}" if online
                       else f"{n} M-step{'' if n == 1 else 's'}")
            seconds = "—" if r["secondsToWithin"] is None else f"{r['secondsToWithin']:.2f}"
            lines.append(f"| {sc['start']} | {r['method']} | {r.get('batchSize', '—') if online else 'all'} | "
                         f"{r['stepDecay'] if online else '—'} | {r['passes'] if online else r['iterations']} | {reached} | "
                         f"{seconds} | {r['history'][-1]:.6f} | {r['finalGap']:.1e} | {r['wall']:.2f} |")
    return "\n".join(lines)
