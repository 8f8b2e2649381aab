"""Latent against its anchors, side by side: runs every workload in workloads.py and writes the report.

Run through bench/run.sh (which prepares bench/.venv). Environment:
  BENCH_REPS=R      repetitions per workload and thread count (default 5; 1 with BENCH_QUICK)
  BENCH_QUICK=1     tiny sizes, a smoke test of the harness: results go to bench/work/quick/ only
  BENCH_ONLY=a,b    only these workloads (by name or group: gmm-full, gmm-diag, scale, fa, hmm, vae, iwae, online);
                    a partial run writes bench/work/results-partial.json and no BENCHMARKS.md
  BENCH_LATENT=P    the Latent binary (default .build/release/latent)
  BENCH_BUILD_REPS=R  repetitions per row of the portable-against-tuned comparison (default 11; 1 with BENCH_QUICK)
  BENCH_TUNED=0     skip the comparison of the portable build with one for this CPU (default: run it,
                    except with BENCH_QUICK; it builds .build-tuned with -target-cpu native)
  BENCH_SCALE_MAX, BENCH_SCALE_ANCHOR_MAX   largest N of the scaling series, and for the anchor
  BENCH_STREAM_MAX  largest N of the streamed series (default 10⁸: a 12.8 GB file in bench/work)
  BENCH_UPDATE=1    with BENCH_ONLY=online: put this run's online table into bench/results.json and rewrite
                    BENCHMARKS.md from it (the table then names its own date and CPU)
"""
import datetime
import hashlib
import importlib.metadata
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
sys.path.insert(0, BENCH)

import datagen  # noqa: E402
import online  # noqa: E402
import workloads as W  # noqa: E402

QUICK = W.QUICK
# Five: on the 2-core VM of the benchmarks a process's time varies by up to ±15% from one minute to the
# next, and the median of three let one slow pair decide a row.
REPS = int(os.environ.get("BENCH_REPS") or (1 if QUICK else 5))
# Eleven: the comparison of two builds of the same code asks for a 10% resolution, finer than the VM's
# run-to-run noise (one run's VAE rows: 143–170 ms per epoch for the same binary); its Latent-only runs
# take seconds, so more pairs cost little.
BUILD_REPS = int(os.environ.get("BENCH_BUILD_REPS") or (1 if QUICK else 11))
ONLY = [s.strip() for s in os.environ.get("BENCH_ONLY", "").split(",") if s.strip()]
LATENT = os.environ.get("BENCH_LATENT") or os.path.join(ROOT, ".build", "release", "latent")
WORK = os.path.join(BENCH, "work", "quick") if QUICK else os.path.join(BENCH, "work")
PY = sys.executable
TIMEOUT = float(os.environ.get("BENCH_TIMEOUT", 1800))
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS",
               "NUMEXPR_NUM_THREADS", "BLIS_NUM_THREADS")
SYSTEM_OPENBLAS = "/lib/x86_64-linux-gnu/libopenblas.so.0"


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- processes

def run_process(cmd, env=None, timeout=TIMEOUT):
    """Run cmd as its own process; wall time, exit code, output, and its peak RSS (kB).

    The peak is the child's VmHWM from /proc, read every 20 ms while it runs: wait4's ru_maxrss
    would also count the memory of this (large) harness process, which Linux folds into a child's
    maximum at fork and exec.
    """
    out_path = os.path.join(WORK, ".stdout")
    err_path = os.path.join(WORK, ".stderr")
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        t0 = time.perf_counter()
        try:
            p = subprocess.Popen(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env,
                                 start_new_session=True)
        except OSError as e:
            return {"rc": 127, "stdout": "", "stderr": str(e), "wall": 0.0, "maxrssKB": None}
        timed_out = False
        peak_kb = None
        while True:
            try:
                with open(f"/proc/{p.pid}/status") as status_file:
                    for line in status_file:
                        if line.startswith("VmHWM:"):
                            peak_kb = max(peak_kb or 0, int(line.split()[1]))
            except (OSError, ValueError):
                pass
            pid, status, usage = os.wait4(p.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() - t0 > timeout:
                os.killpg(p.pid, signal.SIGKILL)
                timed_out = True
            time.sleep(0.02)
        wall = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
    with open(out_path, errors="replace") as f:
        stdout = f.read()
    with open(err_path, errors="replace") as f:
        stderr = f.read()
    if timed_out:
        stderr += f"\n(timed out after {timeout:.0f} s)"
    return {"rc": p.returncode, "stdout": stdout, "stderr": stderr, "wall": wall,
            "maxrssKB": peak_kb if peak_kb is not None else usage.ru_maxrss}


def last_json(text):
    for line in reversed(text.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                return json.loads(line)
            except ValueError:
                pass
    try:
        return json.loads(text)
    except ValueError:
        return None


def first_error(run):
    lines = [ln.strip() for ln in (run["stderr"] or "").splitlines() if ln.strip()]
    for ln in lines:
        if "error" in ln.lower():
            return ln[:200]
    return (lines[-1] if lines else f"exit status {run['rc']}")[:200]


def sha256(path):
    try:
        return datagen.sha256(path)[:16]
    except OSError:
        return None


# ---------------------------------------------------------------- Latent side

_help_cache = {}


def wait_for_latent(limit=120):
    """The binary may be relinked under us by a concurrent build: wait for it to be there."""
    t0 = time.time()
    while not (os.path.isfile(LATENT) and os.access(LATENT, os.X_OK)):
        if time.time() - t0 > limit:
            return False
        time.sleep(2)
    return True


def latent_help(words):
    key = tuple(words)
    if key not in _help_cache:
        wait_for_latent()
        r = run_process([LATENT, *words, "--help"], timeout=60)
        _help_cache[key] = r
    return _help_cache[key]


def latent_status(w):
    """None when Latent has the workload's command; else why not. `latent fit <model> --help` exits 0
    with the parent's help for an unknown model, so the usage line is checked too."""
    if not wait_for_latent():
        return f"Latent binary not found at {LATENT}"
    r = latent_help(w["latentHelp"])
    usage = "USAGE: latent " + " ".join(w["latentHelp"])
    if r["rc"] != 0 or usage not in r["stdout"]:
        return "Latent: not implemented yet"
    flags = list(dict.fromkeys(w.get("latentNeeds", []) + [a for a in w["latent"] if a.startswith("--")]))
    missing = [flag for flag in flags if flag not in r["stdout"]]
    if missing:
        return "Latent: not implemented yet (no " + ", ".join(missing) + ")"
    return None


def latent_command(w, paths, threads, model, binary=None):
    r = latent_help(w["latentHelp"])
    values = {"data": paths.get("data", ""), "means0": paths.get("means0", ""), "threads": str(threads),
              "out": os.path.join(WORK, "out-latent.json"), "model": model, "iterations": str(w.get("iterations", ""))}
    cmd = [binary or LATENT] + [a.format(**values) for a in w["latent"]]
    cmd += [flag for flag in w.get("latentOptional", []) if flag in r["stdout"] and flag not in cmd]
    return cmd


def run_latent(w, paths, threads, model, path=None):
    path = path or LATENT
    cmd = latent_command(w, paths, threads, model, path)
    for attempt in range(2):
        wait_for_latent()
        binary = sha256(path)
        r = run_process(cmd)
        if r["rc"] == 0 or attempt == 1 or os.path.exists(path) and sha256(path) == binary:
            break
        log("  Latent changed during the run; retrying once")
        time.sleep(5)
    rec = {"side": "latent", "threads": threads, "wall": r["wall"], "maxrssKB": r["maxrssKB"],
           "binary": binary, "command": " ".join(os.path.relpath(c, ROOT) if c.startswith(ROOT) else c for c in cmd)}
    j = last_json(r["stdout"]) if r["rc"] == 0 else None
    if j is None:
        rec["error"] = first_error(r) if r["rc"] != 0 else "no JSON on stdout"
        return rec
    rec.update(result_fields(w, j))
    return rec


# ---------------------------------------------------------------- anchor side

def anchor_env(threads):
    env = dict(os.environ)
    for var in THREAD_VARS:
        env[var] = str(threads)
    env["PYTHONHASHSEED"] = "0"
    env["CUDA_VISIBLE_DEVICES"] = ""
    return env


def run_anchor(w, paths, threads, model):
    spec = dict(w["anchor"]["spec"])
    spec.update({"threads": threads, "data": paths.get("data"), "means0": paths.get("means0"), "model": model})
    if "iterations" in w:
        spec["iterations"] = w["iterations"]
    if spec["kind"] == "torch-iwae":
        spec["images"] = W.IWAE_IMAGES
    r = run_process([PY, os.path.join(BENCH, "anchor.py"), json.dumps(spec)], env=anchor_env(threads))
    rec = {"side": "anchor", "threads": threads, "wall": r["wall"], "maxrssKB": r["maxrssKB"]}
    j = last_json(r["stdout"]) if r["rc"] == 0 else None
    if j is None:
        rec["error"] = first_error(r)
        return rec
    rec.update(result_fields(w, j))
    rec["version"] = j.get("version")
    return rec


def result_fields(w, j):
    seconds = float(j["seconds"])
    out = {"seconds": seconds, "meanLogLikelihood": j.get("meanLogLikelihood", j.get("elbo"))}
    if w["metric"] in ("iteration", "fit"):
        out["iterations"] = int(j.get("iterations") or 0)
        out["perIteration"] = seconds / out["iterations"] if out["iterations"] else None
        out["value"] = out["perIteration"] if w["metric"] == "iteration" else seconds
    elif w["metric"] == "epoch":
        out["epochs"] = int(j.get("epochs") or W.VAE_EPOCHS)
        out["value"] = seconds / out["epochs"]
        if w.get("timeKey") and w["timeKey"] in j:
            # The workload names the part of the fit that the anchor's timing covers too.
            out["wholeFitSeconds"] = seconds
            out["value"] = float(j[w["timeKey"]]) / out["epochs"]
        if "epochSeconds" in j:
            out["epochSeconds"] = j["epochSeconds"]
    else:
        out["value"] = seconds
    for key in ("standardError", "precision"):
        if key in j:
            out[key] = j[key]
    return out


# ---------------------------------------------------------------- data

def make_datasets(names):
    store = datagen.Store(WORK)
    paths, errors = {}, {}
    for name in names:
        spec = W.DATASETS[name]
        kind = spec["kind"]
        try:
            if kind == "gmm":
                fname = "gmm.npy" if name == "gmm" else f"{name}.npy"
                log(f"data: {fname} ({spec['n']:,} x {spec['d']})")
                data, = store.ensure([fname], {**spec, "seed": datagen.SEED, "chunk": datagen.CHUNK},
                                     lambda: datagen.write_gmm(store.path(fname), spec["n"], spec["d"], spec["k"]))
                means0, = store.ensure(["gmm-means0.npy"], {"d": spec["d"], "k": spec["k"], "seed": datagen.SEED},
                                       lambda: datagen.gmm_initial_means(store.path("gmm-means0.npy"),
                                                                         spec["d"], spec["k"]))
                paths[name] = {"data": data, "means0": means0}
            elif kind == "gmm-overlap":
                fname = f"{name}.npy"
                log(f"data: {fname} ({spec['n']:,} x {spec['d']}, overlapping components)")
                data, = store.ensure([fname], {**spec, "seed": datagen.SEED, "chunk": datagen.CHUNK},
                                     lambda: datagen.write_gmm(store.path(fname), spec["n"], spec["d"], spec["k"],
                                                               centre_scale=spec["centreScale"]))
                paths[name] = {"data": data}
            elif kind == "fa":
                data, = store.ensure(["fa.npy"], {**spec, "seed": datagen.SEED},
                                     lambda: datagen.write_fa(store.path("fa.npy"), spec["n"], spec["d"],
                                                              spec["factors"]))
                paths[name] = {"data": data}
            elif kind == "hmm":
                data, means0 = store.ensure(["hmm.npy", "hmm-means0.npy"], {**spec, "seed": datagen.SEED},
                                            lambda: datagen.write_hmm(store.path("hmm.npy"),
                                                                      store.path("hmm-means0.npy"),
                                                                      spec["t"], spec["d"], spec["k"]))
                paths[name] = {"data": data, "means0": means0}
            elif kind == "hmm-sequences":
                data, means0 = store.ensure([f"{name}.csv", f"{name}-means0.npy"], {**spec, "seed": datagen.SEED},
                                            lambda: datagen.write_hmm_sequences(
                                                store.path(f"{name}.csv"), store.path(f"{name}-means0.npy"),
                                                spec["sequences"], spec["t"], spec["d"], spec["k"]))
                paths[name] = {"data": data, "means0": means0}
            elif kind == "lds":
                data, = store.ensure(["lds.npy"], {**spec, "seed": datagen.SEED},
                                     lambda: datagen.write_lds(store.path("lds.npy"), spec["t"], spec["d"], spec["l"]))
                paths[name] = {"data": data}
            elif kind == "idx-prefix":
                src = spec["source"]
                if not os.path.exists(src):
                    raise FileNotFoundError(src)
                fname = f"{name}.idx3-ubyte"
                data, = store.ensure([fname], {**spec, "bytes": os.path.getsize(src)},
                                     lambda: datagen.write_idx_prefix(src, store.path(fname), spec["count"]))
                paths[name] = {"data": data}
        except Exception as e:  # a missing input file: its workloads say so
            errors[name] = f"data unavailable: {e}"
    return paths, errors, store.manifest


# ---------------------------------------------------------------- the run

def installed():
    try:
        with open(os.path.join(BENCH, "work", "install-status.json")) as f:
            return json.load(f)
    except (OSError, ValueError):
        status = {}
        for pkg in ("numpy", "sklearn", "hmmlearn", "torch", "threadpoolctl"):
            r = subprocess.run([PY, "-c", f"import {pkg}"], capture_output=True)
            status[pkg] = "ok" if r.returncode == 0 else "failed"
        return status


def selected():
    if not ONLY:
        return W.WORKLOADS
    return [w for w in W.WORKLOADS if w["name"] in ONLY or w.get("group") in ONLY]


def summarise(runs):
    ok = [r for r in runs if "error" not in r]
    s = {"runs": runs}
    if not ok:
        s["status"] = "failed: " + (runs[-1]["error"] if runs else "no run")
        return s
    s["median"] = statistics.median(r["value"] for r in ok)
    s["min"] = min(r["value"] for r in ok)
    s["max"] = max(r["value"] for r in ok)
    if any(r.get("perIteration") for r in ok):
        s["medianPerIteration"] = statistics.median(r["perIteration"] for r in ok if r.get("perIteration"))
        s["medianSeconds"] = statistics.median(r["seconds"] for r in ok)
        s["iterations"] = sorted({r["iterations"] for r in ok})
    for key in ("standardError", "precision"):
        if ok[0].get(key) is not None:
            s[key] = ok[0][key]
    lls = [r["meanLogLikelihood"] for r in ok if r.get("meanLogLikelihood") is not None]
    if lls:
        s["meanLogLikelihood"] = statistics.median(lls)
        s["llSpread"] = max(lls) - min(lls)
    rss = [r["maxrssKB"] for r in ok if r.get("maxrssKB")]
    s["peakRSSMB"] = max(rss) / 1024 if rss else None
    if len(ok) < len(runs):
        s["note"] = f"{len(runs) - len(ok)} of {len(runs)} runs failed: {[r['error'] for r in runs if 'error' in r][0]}"
    return s


def model_paths(w, threads):
    models = os.path.join(WORK, "models")
    os.makedirs(models, exist_ok=True)
    src = w.get("needsModelFrom") or w["name"]
    return os.path.join(models, f"latent-{src}-t{threads}.json"), os.path.join(models, f"anchor-{src}-t{threads}.pt")


def ensure_models(w, paths_all, threads, latent_ok, anchor_ok):
    """IWAE scores the model its side trained in the vae workload; train one (untimed) if absent."""
    src = next(x for x in W.WORKLOADS if x["name"] == w["needsModelFrom"])
    lat_model, anc_model = model_paths(w, threads)
    paths = paths_all.get(src["dataset"])
    if paths is None:
        return "training data unavailable", "training data unavailable"
    lat_err = anc_err = None
    if latent_ok and not os.path.exists(lat_model):
        if latent_status(src):
            lat_err = "Latent: not implemented yet (no VAE training)"
        else:
            log(f"  training Latent's VAE for scoring (threads {threads}, untimed)")
            r = run_latent(src, paths, threads, lat_model)
            lat_err = r.get("error")
    if anchor_ok and not os.path.exists(anc_model):
        log(f"  training the anchor's VAE for scoring (threads {threads}, untimed)")
        r = run_anchor(src, paths, threads, anc_model)
        anc_err = r.get("error")
    return lat_err, anc_err


def run_marginal(run, w, paths, threads, model):
    """One repetition of a side. A workload with `marginal: (a, b)` runs the side twice, with a and
    with b iterations (the `{iterations}` of the command, the anchor spec's `iterations`), and its
    value per iteration is (t_b − t_a) / (b − a): start-up, the first E-step and the final scoring
    cancel, as in issue #17's definition. The whole-fit seconds are the b-iteration run's."""
    return run_marginal_pair([run], w, paths, threads, model)[0]


def marginal_record(first, second, a, b):
    """The per-iteration record of an a-iteration and a b-iteration run of one side."""
    if "error" in first or "error" in second:
        return first if "error" in first else second
    # Each side's own counts: hmmlearn with tol=0 stops early once an iteration fails to raise the
    # likelihood (rounding), so it may run fewer than asked.
    extra = second.get("iterations", b) - first.get("iterations", a)
    if extra <= 0:
        return {**second, "error": f"the {b}-iteration run did no more iterations than the {a}-iteration run"}
    rec = dict(second)
    rec["perIteration"] = rec["value"] = max(0.0, (second["seconds"] - first["seconds"]) / extra)
    rec["note"] = f"{first.get('iterations')} and {second.get('iterations')} iterations"
    return rec


def run_marginal_pair(runs, w, paths, threads, model):
    """``run_marginal`` for two sides at once, interleaved: the a-iteration runs of both sides, then
    their b-iteration runs, so that each side's difference spans the same stretch of time."""
    if not w.get("marginal"):
        return [run(w, paths, threads, model) for run in runs]
    a, b = w["marginal"]
    firsts = [run({**w, "iterations": a}, paths, threads, model) for run in runs]
    seconds = [run({**w, "iterations": b}, paths, threads, model) for run in runs]
    return [marginal_record(first, second, a, b) for first, second in zip(firsts, seconds)]


def run_workload(w, paths_all, data_errors, install):
    res = {"name": w["name"], "group": w.get("group", w["name"]), "title": w["title"], "metric": w["metric"],
           "dataset": w["dataset"], "rows": []}
    if w.get("n"):
        res["n"] = w["n"]
    anchor = w.get("anchor")
    anchor_label = anchor["label"] if anchor else None
    res["anchor"] = anchor_label
    lat_status = latent_status(w)
    if anchor is None:
        anc_status = w.get("anchorSkip") or "no anchor"
    elif install.get(anchor["package"]) != "ok":
        anc_status = "anchor not installable"
    else:
        anc_status = None
    if w["dataset"] in data_errors:
        lat_status = anc_status = data_errors[w["dataset"]]
    paths = paths_all.get(w["dataset"], {})
    reps = w.get("reps") or REPS
    for threads in w["threads"]:
        row = {"threads": threads, "reps": reps}
        lat_runs, anc_runs = [], []
        lat_row_status, anc_row_status = lat_status, anc_status
        lat_model = anc_model = None
        if w["metric"] in ("epoch", "score"):
            lat_model, anc_model = model_paths(w, threads)
        if w.get("needsModelFrom"):
            e1, e2 = ensure_models(w, paths_all, threads, lat_row_status is None, anc_row_status is None)
            lat_row_status = lat_row_status or (e1 and f"no model to score: {e1}")
            anc_row_status = anc_row_status or (e2 and f"no model to score: {e2}")
        for rep in range(reps):
            if lat_row_status is None:
                log(f"{w['name']} threads={threads} rep {rep + 1}/{reps}: Latent")
                lat_runs.append(run_marginal(run_latent, w, paths, threads, lat_model))
                if "error" in lat_runs[-1]:
                    log(f"  Latent failed: {lat_runs[-1]['error']}")
            if anc_row_status is None:
                log(f"{w['name']} threads={threads} rep {rep + 1}/{reps}: {anchor_label}")
                anc_runs.append(run_marginal(run_anchor, w, paths, threads, anc_model))
                if "error" in anc_runs[-1]:
                    log(f"  anchor failed: {anc_runs[-1]['error']}")
        row["latent"] = summarise(lat_runs) if lat_row_status is None else {"status": lat_row_status}
        row["anchor"] = summarise(anc_runs) if anc_row_status is None else {"status": anc_row_status}
        if "median" in row["latent"] and "median" in row["anchor"]:
            row["ratio"] = row["anchor"]["median"] / row["latent"]["median"]
        target = (w.get("target") or {}).get(threads)
        if target:
            row["target"] = target
            if "ratio" in row:
                row["met"] = row["ratio"] >= target
        res["rows"].append(row)
    return res


# ---------------------------------------------------------------- portable build against a tuned one

TUNED_GROUPS = ("gmm-full", "gmm-diag", "hmm", "hmm-short", "vae")


def build_tuned():
    """Latent built for this CPU (`-target-cpu native`) beside the Makefile's portable build, which is
    what a package dependency gets (`swift build -c release`, no flags). Returns the binary or an error."""
    if platform.machine() != "x86_64":
        return None, "not an x86-64 machine"
    build = os.path.join(ROOT, ".build-tuned")
    cmd = ["swift", "build", "-c", "release", "-Xswiftc", "-target-cpu", "-Xswiftc", "native",
           "--build-path", build, "--product", "latent"]
    log("building Latent for this CPU (-target-cpu native) in .build-tuned, to compare with the portable build")
    r = run_process(cmd, timeout=3600)
    if r["rc"] != 0:
        return None, "the tuned build failed: " + first_error(r)
    return os.path.join(build, "release", "latent"), None


def run_online():
    """The online-against-batch table (bench/online.py) on its own data set."""
    paths, errors, _ = make_datasets(["gmm-overlap"])
    if "gmm-overlap" in errors:
        return {"error": errors["gmm-overlap"]}
    try:
        result = online.run(LATENT, W.DATASETS["gmm-overlap"], paths["gmm-overlap"]["data"], WORK, log)
    except (RuntimeError, OSError, ValueError, KeyError) as e:
        return {"error": str(e)}
    result["date"] = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    result["cpu"] = machine()["cpu"]
    result["commit"] = RUN_COMMIT or commit_label()
    return result


def update_online(result):
    """BENCH_UPDATE=1: this run's online table into the last full run's results and BENCHMARKS.md."""
    target = os.path.join(BENCH, "results.json")
    with open(target) as f:
        data = json.load(f)
    data["online"] = {**result, "alone": True}
    with open(target + ".tmp", "w") as f:
        json.dump(data, f, indent=1, default=str)
    os.replace(target + ".tmp", target)
    write_markdown(os.path.join(ROOT, "BENCHMARKS.md"), data)
    log("updated the online table in bench/results.json and BENCHMARKS.md")


def compare_builds(work, paths_all, data_errors):
    """The GMM, HMM and VAE workloads' Latent side with the portable and the tuned binary, alternating."""
    tuned, error = build_tuned()
    if error:
        return {"status": error}
    rows = []
    for w in work:
        if w.get("group", w["name"]) not in TUNED_GROUPS or w["dataset"] in data_errors or latent_status(w):
            continue
        paths = paths_all.get(w["dataset"], {})
        for threads in w["threads"]:
            model = os.path.join(WORK, "models", f"compare-{w['name']}-t{threads}.json")
            os.makedirs(os.path.dirname(model), exist_ok=True)
            runs = {"portable": [], "tuned": []}
            reps = BUILD_REPS
            binaries = {"portable": LATENT, "tuned": tuned}
            for rep in range(reps):
                # The side that runs first alternates, so that neither always meets a warm or a cold moment.
                order = ("portable", "tuned") if rep % 2 == 0 else ("tuned", "portable")
                log(f"{w['name']} threads={threads} rep {rep + 1}/{reps}: {order[0]} then {order[1]} build")
                pair = run_marginal_pair([lambda *a, b=binaries[side]: run_latent(*a, path=b) for side in order],
                                         w, paths, threads, model)
                for side, rec in zip(order, pair):
                    runs[side].append(rec)
            row = {"name": w["name"], "threads": threads, "metric": w["metric"],
                   "portable": summarise(runs["portable"]), "tuned": summarise(runs["tuned"])}
            ratios = [p["value"] / t["value"] for p, t in zip(runs["portable"], runs["tuned"])
                      if "error" not in p and "error" not in t and t["value"] > 0]
            if ratios:
                # The median of the pairs' ratios: the two runs of a pair are seconds apart, so a slow
                # minute of the VM, which moves both, cancels in their ratio.
                row["ratio"] = statistics.median(ratios)
                row["ratioOfMedians"] = row["portable"]["median"] / row["tuned"]["median"]
            rows.append(row)
    return {"tunedBinary": sha256(tuned), "rows": rows}


def builds_table(comparison):
    if not comparison:
        return None
    if "status" in comparison:
        return f"Portable against tuned build: not run ({comparison['status']})."
    lines = ["| workload | threads | compared | portable build | build for this CPU | portable / tuned | target |",
             "|" + "---|" * 7]
    for row in comparison["rows"]:
        ratio = row.get("ratio")
        met = "—" if ratio is None else ("≤1.10 ✓" if ratio <= 1.10 else "≤1.10 ✗")
        lines.append(f"| {row['name']} | {row['threads']} | {UNIT[row['metric']]} | {side_cell(row['portable'])} | "
                     f"{side_cell(row['tuned'])} | {'—' if ratio is None else f'{ratio:.2f}'} | {met} |")
    return "\n".join(lines)


# ---------------------------------------------------------------- environment facts

def sh(cmd):
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        return (r.stdout or r.stderr).strip() if r.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return None


def machine():
    model, flags = None, set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name") and model is None:
                    model = line.split(":", 1)[1].strip()
                if line.startswith("flags") and not flags:
                    flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    mem = None
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal"):
                    mem = int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    lscpu = sh(["lscpu"]) or ""
    caches = {}
    for line in lscpu.splitlines():
        key = line.split(":", 1)[0].strip()
        if key in ("L1d cache", "L2 cache", "L3 cache", "CPU max MHz", "Model name", "Thread(s) per core"):
            caches[key] = line.split(":", 1)[1].strip()
    return {"cpu": model, "cores": os.cpu_count(), "usableCores": len(os.sched_getaffinity(0)),
            "memoryGiB": round(mem, 1) if mem else None, "simd": sorted(flags & {"sse2", "avx2", "fma", "avx512f", "avx512dq", "avx512bw", "avx512vl", "avx512_bf16", "avx512_fp16"}),
            "lscpu": caches, "kernel": platform.release(), "os": sh(["sh", "-c", ". /etc/os-release && echo $PRETTY_NAME"])}


# The commit when the run starts (the binary under test is built from it); edits made while the
# run goes on are not in it.
RUN_COMMIT = None


def commit_label():
    commit = sh(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"])
    dirty = sh(["git", "-C", ROOT, "status", "--porcelain", "--", "Sources", "Package.swift"])
    return (commit or "?") + (" (+ uncommitted changes in Sources/)" if dirty else "")


def versions():
    v = {"python": platform.python_version()}
    for dist in ("numpy", "scikit-learn", "hmmlearn", "torch", "threadpoolctl", "scipy"):
        try:
            v[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            v[dist] = "not installed"
    swift = sh(["swift", "--version"])
    v["swift"] = swift.splitlines()[0] if swift else "not found"
    for pkg in ("libopenblas0-pthread", "libopenblas0-openmp", "libopenblas0-serial", "liblapacke"):
        ver = sh(["dpkg-query", "-W", "-f", "${Version}", pkg])
        if ver:
            v[f"system {pkg}"] = ver
    v["system OpenBLAS library"] = os.path.realpath(SYSTEM_OPENBLAS) if os.path.exists(SYSTEM_OPENBLAS) else None
    v["latent commit"] = RUN_COMMIT or commit_label()
    if os.path.exists(LATENT):
        v["latent binary"] = {"path": os.path.relpath(LATENT, ROOT), "sha256": sha256(LATENT),
                              "built": datetime.datetime.fromtimestamp(os.path.getmtime(LATENT),
                                                                       datetime.timezone.utc).isoformat(timespec="seconds")}
    return v


def latent_blas_core():
    """The OpenBLAS kernel set Latent runs with (`latent bench --json`: it restarts itself with
    OPENBLAS_CORETYPE when the library's own choice is an older set), or None."""
    r = run_process([LATENT, "bench", "--json"], timeout=600)
    j = last_json(r["stdout"]) if r["rc"] == 0 else None
    return (j or {}).get("blasCore")


def blas_probe():
    out = {}
    core = latent_blas_core()
    for threads in (1, 2):
        spec = {"kind": "blas-probe", "threads": threads, "system_openblas": SYSTEM_OPENBLAS, "repeats": 5}
        env = anchor_env(threads)
        if core:
            env["OPENBLAS_CORETYPE"] = core   # the system library probed with the kernels Latent uses
        r = run_process([PY, os.path.join(BENCH, "anchor.py"), json.dumps(spec)], env=env)
        out[threads] = last_json(r["stdout"]) if r["rc"] == 0 else {"error": first_error(r)}
    return out


def roofline(results, blas):
    g = next((w for w in results if w["name"] == "gmm-full"), None)
    if g is None:
        return None
    spec = W.DATASETS[g["dataset"]]
    n, d, k = spec["n"], spec["d"], spec["k"]
    flops = 2 * n * d * d * k + n * d * d * k + 2 * n * k * d
    rows = []
    for row in g["rows"]:
        lat = row["latent"]
        entry = {"threads": row["threads"]}
        if "median" in lat:
            entry["latentGflops"] = flops / lat["median"] / 1e9
        if "median" in row["anchor"]:
            entry["anchorGflops"] = flops / row["anchor"]["median"] / 1e9
        b = blas.get(row["threads"]) or {}
        entry["numpyDgemm"] = b.get("numpy")
        entry["systemDgemm"] = b.get("system")
        rows.append(entry)
    return {"n": n, "d": d, "k": k, "flopsPerIteration": flops,
            "formula": "2·N·D²·K (E-step GEMM) + N·D²·K (M-step SYRK) + 2·N·K·D (Rᵀ·X GEMM)", "rows": rows}


def iwae_roofline(results, blas):
    """The arithmetic floor of IWAE scoring: the decoder's FLOPs at the system SGEMM rate, against
    Latent's default (bfloat16 decoder product where the CPU has AVX-512 BF16) and single precision."""
    w = next((x for x in results if x["name"] == "iwae"), None)
    if w is None:
        return None
    single = next((x for x in results if x["name"] == "iwae-fp32"), None)
    hidden, latent, d = 400, 20, 784
    flops = 2.0 * W.IWAE_IMAGES * W.IWAE_SAMPLES * (latent * hidden + hidden * d)
    rows = []
    for row in w["rows"]:
        sg = ((blas.get(row["threads"]) or {}).get("systemSgemm") or {}).get("8000x400 . 400x784")
        lat = row["latent"]
        fp32 = next((r["latent"] for r in (single or {}).get("rows", []) if r["threads"] == row["threads"]), {})
        entry = {"threads": row["threads"], "sgemm": sg, "floor": flops / sg / 1e9 if sg else None,
                 "latent": lat.get("median"), "precision": lat.get("precision"), "anchor": row["anchor"].get("median"),
                 "latentFP32": fp32.get("median"), "meanLL": lat.get("meanLogLikelihood"),
                 "meanLLFP32": fp32.get("meanLogLikelihood"), "standardError": lat.get("standardError")}
        rows.append(entry)
    return {"flops": flops, "rows": rows}


def iwae_roofline_text(rf):
    if not rf:
        return None
    lines = [f"The decoder of IWAE-{W.IWAE_SAMPLES} scoring of {W.IWAE_IMAGES:,} images costs "
             f"2·images·K·(20·400 + 400·784) = {rf['flops'] / 1e9:,.1f} GFLOP, nearly all of it the 400 → 784 "
             "product, on either side. At the system OpenBLAS SGEMM rate on that product's shape (measured in "
             "this run, best of 5) no dense single-precision implementation can take less than the floor below. "
             "Issue 17's target: Latent at ≥ 90% of the floor (floor / Latent ≥ 0.90); the first round's "
             "target time is the anchor's time / 2.5, below the fp32 floor wherever the anchor takes less than "
             "2.5 floors. Latent's default (`--precision auto`) runs that product on bfloat16 operands with "
             "single-precision sums where the CPU has AVX-512 BF16 (the `precision` column); the iwae-fp32 row "
             "is the same scoring with `--precision fp32`. The last columns measure what the rounding costs: "
             "the two mean estimates (same seed, same draws) and their difference against the estimate's "
             "standard error across images.", "",
             "| threads | SGEMM 8000×400·400×784 GFLOP/s | floor | Latent (default) | precision | floor / Latent | "
             "Latent fp32 | floor / Latent fp32 | first-round target time | anchor | mean LL default | mean LL fp32 | "
             "difference / standard error |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]

    def share(floor, t):
        if not floor or not t:
            return "—"
        r = floor / t
        return f"{r:.2f} {'✓' if r >= 0.9 else '✗'}"

    for e in rf["rows"]:
        target = e["anchor"] / 2.5 if e["anchor"] else None
        sg = "—" if e["sgemm"] is None else f"{e['sgemm']:.1f}"
        shift = "—"
        if e.get("meanLL") is not None and e.get("meanLLFP32") is not None and e.get("standardError"):
            diff = e["meanLL"] - e["meanLLFP32"]
            shift = f"{diff:+.5f} / {e['standardError']:.3f} = {abs(diff) / e['standardError']:.1e}"
        lines.append(f"| {e['threads']} | {sg} | {fmt_time(e['floor'])} | {fmt_time(e['latent'])} | {e.get('precision') or '—'} | "
                     f"{share(e['floor'], e['latent'])} | {fmt_time(e.get('latentFP32'))} | {share(e['floor'], e.get('latentFP32'))} | "
                     f"{fmt_time(target)} | {fmt_time(e['anchor'])} | {fmt_ll(e.get('meanLL'))} | {fmt_ll(e.get('meanLLFP32'))} | {shift} |")
    return "\n".join(lines)


# ---------------------------------------------------------------- report

def fmt_time(s):
    if s is None:
        return "—"
    if s < 1e-3:
        return f"{s * 1e6:.0f} µs"
    if s < 1:
        return f"{s * 1e3:.3g} ms"
    return f"{s:.3g} s"


def fmt_ll(x):
    return "—" if x is None else f"{x:.6f}"


def fmt_mb(x):
    return "—" if x is None else f"{x:,.0f} MB"


UNIT = {"iteration": "s / iteration", "fit": "whole fit", "epoch": "s / epoch", "score": "scoring"}


def side_cell(s, key="median"):
    return fmt_time(s[key]) if key in s else s.get("status", "—")


def main_table(results):
    head = ("| workload | threads | compared | Latent | anchor | anchor / Latent | target | Latent mean LL | "
            "anchor mean LL | Latent peak RSS | anchor peak RSS |")
    lines = [head, "|" + "---|" * 11]
    for w in results:
        for row in w["rows"]:
            lat, anc = row["latent"], row["anchor"]
            ratio = f"{row['ratio']:.2f}×" if "ratio" in row else "—"
            if "target" in row:
                target = f"≥{row['target']:g}×" + (" ✓" if row.get("met") else " ✗" if "met" in row else "")
            else:
                target = "—"
            lines.append(f"| {w['name']} | {row['threads']} | {UNIT[w['metric']]} | {side_cell(lat)} | "
                         f"{side_cell(anc)} | {ratio} | {target} | {fmt_ll(lat.get('meanLogLikelihood'))} | "
                         f"{fmt_ll(anc.get('meanLogLikelihood'))} | {fmt_mb(lat.get('peakRSSMB'))} | "
                         f"{fmt_mb(anc.get('peakRSSMB'))} |")
    notes = [f"- {w['name']}, {row['threads']} thread{'s' if row['threads'] > 1 else ''}: {n}"
             for w in results for row in w["rows"] for n in row_notes(w, row)]
    if notes:
        lines += ["", "Notes:"] + notes
    return "\n".join(lines)


SAME_START = ("iteration",)  # workloads whose two sides start from the same parameters (GMM, HMM)


def row_notes(w, row):
    lat, anc = row["latent"], row["anchor"]
    notes = []
    li, ai = lat.get("iterations"), anc.get("iterations")
    if li and ai and li != ai:
        notes.append(f"Latent ran {'/'.join(map(str, li))} iterations, the anchor {'/'.join(map(str, ai))}; "
                     "each side's time is divided by its own count")
    ll, al = lat.get("meanLogLikelihood"), anc.get("meanLogLikelihood")
    if w["metric"] in SAME_START and ll is not None and al is not None and abs(ll - al) > 1e-6 * max(1.0, abs(al)):
        notes.append(f"final mean LL differs by {ll - al:+.3g} (Latent − anchor) from the same start")
    for side, s in (("Latent", lat), ("anchor", anc)):
        if s.get("llSpread"):
            if s["llSpread"] > 1e-9 * max(1.0, abs(s.get("meanLogLikelihood") or 0)):
                notes.append(f"{side}'s final LL varied by {s['llSpread']:.3g} across repetitions")
        if s.get("note"):
            notes.append(f"{side}: {s['note']}")
    return notes


def per_iteration_table(results):
    lines = ["| workload | threads | Latent s / iteration | anchor s / iteration | Latent whole fit | "
             "anchor whole fit | iterations (Latent / anchor) |", "|" + "---|" * 7]
    for w in results:
        if w["metric"] not in ("iteration", "fit"):
            continue
        for row in w["rows"]:
            lat, anc = row["latent"], row["anchor"]
            its = " / ".join("/".join(map(str, x.get("iterations") or [])) or "—" for x in (lat, anc))
            lines.append(f"| {w['name']} | {row['threads']} | {side_cell(lat, 'medianPerIteration')} | "
                         f"{side_cell(anc, 'medianPerIteration')} | {side_cell(lat, 'medianSeconds')} | "
                         f"{side_cell(anc, 'medianSeconds')} | {its} |")
    return "\n".join(lines)


def scale_table(results):
    rows = [w for w in results if w.get("group") == "scale"]
    if not rows:
        return None
    lines = ["| N | threads | Latent s / iteration | anchor s / iteration | anchor / Latent | Latent peak RSS | "
             "anchor peak RSS | reps |", "|" + "---|" * 8]
    for w in rows:
        for row in w["rows"]:
            lat, anc = row["latent"], row["anchor"]
            ratio = f"{row['ratio']:.2f}×" if "ratio" in row else "—"
            lines.append(f"| {w['n']:,} | {row['threads']} | {side_cell(lat)} | {side_cell(anc)} | {ratio} | "
                         f"{fmt_mb(lat.get('peakRSSMB'))} | {fmt_mb(anc.get('peakRSSMB'))} | {row['reps']} |")
    return "\n".join(lines)


def stream_table(results):
    """Streamed EM beside the in-memory rows of the same N: seconds per iteration, rows per second, peak RSS."""
    rows = [w for w in results if w.get("group") == "stream"]
    if not rows:
        return None
    memory = {w["n"]: w for w in results if w.get("group") == "scale"}
    lines = ["| N | file size | streamed s / iteration | streamed rows / s | streamed peak RSS | in-memory s / iteration | "
             "in-memory peak RSS |", "|" + "---|" * 7]
    for w in rows:
        for row in w["rows"]:
            lat = row["latent"]
            per = lat.get("medianPerIteration")
            rate = f"{w['n'] / per:,.0f}" if per else "—"
            mem = next((r["latent"] for r in memory.get(w["n"], {}).get("rows", []) if r["threads"] == row["threads"]), {})
            lines.append(f"| {w['n']:,} | {w['n'] * W.GMM_D * 8 / 1e9:.2f} GB | {side_cell(lat, 'medianPerIteration')} | {rate} | "
                         f"{fmt_mb(lat.get('peakRSSMB'))} | {side_cell(mem, 'medianPerIteration') if mem else '— (not run)'} | "
                         f"{fmt_mb(mem.get('peakRSSMB')) if mem else '—'} |")
    return "\n".join(lines)


def roofline_text(rf, blas):
    if not rf:
        return None
    lines = [f"FLOPs of one E+M step of gmm-full (N = {rf['n']:,}, D = {rf['d']}, K = {rf['k']}): "
             f"{rf['formula']} = {rf['flopsPerIteration'] / 1e6:,.1f} MFLOP (the log-det, exp and "
             "normalisation work is not counted).", "",
             "| threads | Latent GFLOP/s | scikit-learn GFLOP/s | NumPy DGEMM 1024³ | NumPy DGEMM 100000×16·16×128 | "
             "system OpenBLAS DGEMM 1024³ | system OpenBLAS DGEMM 100000×16·16×128 |", "|" + "---|" * 7]
    sq, tall = "square 1024^3", "100000x16 . 16x128"

    def g(x):
        return "—" if x is None else f"{x:.1f}"

    for e in rf["rows"]:
        nd, sd = e.get("numpyDgemm") or {}, e.get("systemDgemm") or {}
        lines.append(f"| {e['threads']} | {g(e.get('latentGflops'))} | {g(e.get('anchorGflops'))} | {g(nd.get(sq))} | "
                     f"{g(nd.get(tall))} | {g(sd.get(sq))} | {g(sd.get(tall))} |")
    b1 = blas.get(1) or {}
    nb = b1.get("numpyBlas") or []
    if nb:
        i = nb[0]
        lines += ["", f"NumPy's DGEMM is the OpenBLAS bundled in its pip wheel ({i.get('prefix')} {i.get('version')}, "
                      f"core {i.get('architecture')}, {i.get('threading_layer')} threading, {i.get('filepath')})."]
    if b1.get("systemPath"):
        info = b1.get("systemInfo", {})
        lines += [f"The system OpenBLAS is the library Latent links ({b1['systemPath']}; "
                  f"{info.get('openblas_get_config', '?')}; core {info.get('openblas_get_corename', '?')}), "
                  "called through ctypes `cblas_dgemm` (row-major, no transposes) in the same run."]
    lines += ["Each DGEMM rate is the best of 5 timed calls after one warm-up, in a process pinned to that many "
              "threads."]
    return "\n".join(lines)


def write_markdown(path, data):
    m, v = data["machine"], data["versions"]
    results = data["workloads"]
    reps = data["reps"]
    out = ["# Benchmarks", "",
           f"Latent against its anchors (scikit-learn, hmmlearn, PyTorch) on one machine, produced by `{data['command']}` "
           f"(bench/run.sh) on {data['date']}. Every figure below comes from that run; bench/results.json holds "
           "each run's raw numbers.", "",
           "## Machine", "",
           f"- CPU: {m['cpu']} — {m['cores']} cores ({m['usableCores']} usable), SIMD: {', '.join(m['simd']) or 'none'}"
           + (f"; L2 {m['lscpu'].get('L2 cache')}, L3 {m['lscpu'].get('L3 cache')}" if m.get("lscpu") else ""),
           f"- Memory: {m['memoryGiB']} GiB",
           f"- OS: {m.get('os')}, Linux {m['kernel']}", "",
           "## Versions", ""]
    for k, val in v.items():
        if isinstance(val, dict):
            val = ", ".join(f"{a} {b}" for a, b in val.items())
        out.append(f"- {k}: {val}")
    out += ["", "## Results", "",
            f"Median over {reps} repetitions (each a separate process, Latent and anchor alternating A/B/A/B) unless "
            "the row says otherwise. anchor / Latent > 1 means Latent is faster. Mean LL is the final mean "
            "log-likelihood per sample on each side (for vae: the training ELBO, see notes), so that speed is "
            "never bought with a worse fit. Peak RSS is the whole process's maximum resident set (VmHWM from /proc, sampled every 20 ms), "
            "including the Python interpreter and imported libraries on the anchor side.", "",
            main_table(results), "",
            "Targets from the issue: " + "; ".join(dict.fromkeys(W.TARGET_TEXT.values())) + ".", "",
            "### Per iteration and whole fit", "", per_iteration_table(results), ""]
    st = scale_table(results)
    if st:
        out += ["### Scaling (GMM full, D = 16, K = 8, 20 iterations)", "",
                f"The anchor runs only up to N = {W.SCALE_ANCHOR_MAX:,} (memory/time); larger N is Latent alone. "
                "Sizes of 10⁶ and above are run once.", "", st, ""]
    stt = stream_table(results)
    if stt:
        out += ["### Streamed EM beyond memory (GMM full, D = 16, K = 8, 2 threads)", "",
                "`latent fit gmm --stream --block-rows 65536` reads the `.npy` file a block at a time (memory holds one "
                "block); per iteration = (t₄ − t₂) / 2, so the start and the final scoring pass cancel. Run once each. "
                "The in-memory column is the scaling row of the same N (20 iterations, whole fit / iterations).", "", stt, ""]
    ot = online.table(data.get("online"))
    if ot:
        o = data["online"]
        out += [f"### Online against batch EM (GMM full, N = {o.get('n', 0):,}, D = {o.get('d')}, K = {o.get('k')}, "
                "overlapping components, 2 threads)", "",
                f"Both read `bench/work/gmm-overlap.npy` (centres drawn with standard deviation {o.get('centreScale')} "
                "against unit-scale covariances) with `--stream`, seed 0, one run each. Default start: each fit's own "
                "search on its 20,000-row subsample (the same for both). Rough start: `--warm-start` from 2 EM iterations "
                "on the first 2,000 rows. The optimum is the batch fit's final mean log-likelihood (tolerance 1e-7, at "
                "most 400 iterations); seconds are wall time from the process's start to the progress line that reports "
                "the first model within 1e-3 nats per row of it (online: after a pass and its scoring pass; batch: the "
                "E-step that scores the model)."
                + (f" This table comes from a later run than the rest of this page: {o['date']} on {o['cpu']} "
                   f"(commit {o.get('commit')}, `BENCH_ONLY=online BENCH_UPDATE=1 bench/run.sh`); compare its rows "
                   "with each other only." if o.get("alone") else ""), "", ot, ""]
    rf = roofline_text(data.get("roofline"), data.get("blas", {}))
    if rf:
        out += ["### Roofline of gmm-full", "", rf, ""]
    ir = iwae_roofline_text(data.get("iwaeRoofline"))
    if ir:
        out += ["### Roofline of iwae", "", ir, ""]
    bt = builds_table(data.get("builds"))
    if bt:
        out += ["### As a package dependency: the portable build against one for this CPU", "",
                "Every figure above is from the Makefile's build, which is what a package that depends on Latent gets: "
                "`swift build -c release` with no CPU flag (baseline x86-64 for the Swift code; Latent's C kernels "
                "are built for baseline, AVX2 and AVX-512 and pick the widest this CPU runs when they load). "
                "Here the Latent side of the GMM, HMM and VAE rows runs again, alternating with a build for this "
                "CPU alone (`-Xswiftc -target-cpu -Xswiftc native`, .build-tuned); the target is the issue's: the "
                "portable build within 10% of the tuned one. Each repetition runs both builds back to back (the "
                "first side alternating; for per-iteration rows both short runs, then both long ones); the ratio is "
                f"the median over {data.get('buildReps', reps)} repetitions of each pair's portable / tuned, and the "
                "time columns each build's median.",
                "", bt, ""]
    out += ["## What is timed and how the two sides start", "", METHOD, ""]
    out += ["## Data", "", "Generated once from fixed seeds by bench/datagen.py into bench/work/; both sides read "
            "the same files.", ""]
    for name, rec in sorted(data.get("data", {}).items()):
        out.append(f"- {name}: {rec.get('bytes', 0):,} bytes, sha256 {rec.get('sha256', '')[:16]}…")
    warn = data.get("warnings")
    if warn:
        out += ["", "## Warnings", ""] + [f"- {x}" for x in warn]
    with open(path + ".tmp", "w") as f:
        f.write("\n".join(out) + "\n")
    os.replace(path + ".tmp", path)


METHOD = """\
- **Threads.** Each run is its own process. The anchor gets OMP_NUM_THREADS, OPENBLAS_NUM_THREADS,
  MKL_NUM_THREADS (and the other BLAS variables) = N, a threadpoolctl limit of N around the fit, and
  `torch.set_num_threads(N)` (interop threads 1) for PyTorch. Latent gets `--threads N` (it pins
  OpenBLAS to one thread itself and splits rows over N cores).
- **Timing.** Latent: the `seconds` field of `--json` (the fit or scoring alone, data loading excluded).
  scikit-learn / hmmlearn: `fit()` alone; PyTorch: the training epochs / the scoring loop alone.
  Seconds per iteration = fit time / iterations reported by that side (`n_iter_`, `monitor_.iter`,
  `iterations`). scikit-learn's `GaussianMixture.fit()` also computes one M-step from its own
  initial responsibilities before applying the given start and a final E-step after the loop; both are
  inside its fit time, as a user would see it.
- **Plain EM on both sides.** Latent's GMM and HMM rows pass `--acceleration none`: its default
  SQUAREM extrapolation would make a fixed number of iterations reach a different (higher) likelihood
  than the anchor's, and these rows compare the cost of the same EM iterations.
- **GMM start (gmm-full, gmm-diag, scale).** `--initial-means bench/work/gmm-means0.npy` on Latent; the
  anchor reproduces Latent's start: every row to its nearest initial mean (Euclidean), then one M-step
  from those hard assignments (weights = counts / N, means = cluster means, covariances = cluster
  covariances dividing by the count + 1e-6·I; diag: per-dimension variances + 1e-6), passed as
  `weights_init`, `means_init`, `precisions_init` to `GaussianMixture(max_iter=20, tol=0,
  reg_covar=1e-6)`. Final LL: `gm.score(X)` against Latent's `meanLogLikelihood`.
- **FA.** scikit-learn `FactorAnalysis(n_components=10, max_iter=20, tol=0, svd_method='lapack')`
  (its own start: unit noise variances, SVD iterations). The compared time is the whole fit. Final
  LL: `fa.score(X)`.
- **Many short sequences (hmm-short).** Data: `bench/work/hmm-short50.csv` (50 sequences × 100 steps,
  D = 1) and `hmm-short1000.csv` (1,000 × 100, D = 4) from an 8-state sticky HMM, a `sequence` column
  marking the sequences (`--sequence-column sequence` on Latent, `lengths` on hmmlearn). Per
  iteration: both sides from the same start as the hmm row (diagonal variances), each run with 10 and
  with 30 iterations and timed (t₃₀ − t₁₀)/20 (issue #17 defines (t₁₀ − t₅)/5; the longer difference
  is the same quantity with less noise), so that start-up and the final scoring cancel. Whole fit:
  each side's own start inside the timed fit — hmmlearn `GaussianHMM(8, 'diag', n_iter=5, tol=0,
  random_state=0)` (k-means means), Latent `--restarts 1 --short-runs 1 --split-merge-trials 0
  --max-iterations 5` (one start, as hmmlearn's; Latent's default search makes 10 starts and runs
  them to convergence, which this row does not time). The final LLs differ: the two starts differ.
- **HMM start.** Both sides start from: initial distribution uniform (1/4 each); transition matrix 0.7
  on the diagonal and 0.1 everywhere else; means = the rows of bench/work/hmm-means0.npy; every
  state's covariance = the covariance of the whole data set, dividing by T
  (`np.cov(X, rowvar=False, bias=True)`). hmmlearn `GaussianHMM(n_components=4,
  covariance_type='full', n_iter=10, tol=0, init_params='', params='stmc', covars_prior=0,
  implementation='scaling')`: covars_prior=0 because hmmlearn's default 1e-2 is added to every
  covariance entry in the M-step; the remaining priors are neutral, so both sides run plain
  maximum-likelihood Baum-Welch. Final LL: total log-likelihood at the final parameters / T.
- **VAE.** 784-400-20, ReLU hidden layers, the encoder outputs mean and log-variance, Bernoulli
  decoder with logits, ELBO with closed-form KL, Adam 1e-3, batch 100, images binarised as
  pixel/255 > 0.5, seed 0. The anchor is a hand-written PyTorch model (float32). Seconds per epoch =
  training seconds / epochs. Its LL column is the average training ELBO of the last epoch (anchor)
  and Latent's reported figure; the two models start from different random weights, so the IWAE row
  is the quality comparison.
- **IWAE.** 500 importance samples from q(z|x) for each of the first 1,000 images of the MNIST file,
  log p(x) ≈ logsumexp(log p(x|z) + log p(z) − log q(z|x)) − log 500, averaged; each side scores the
  model it trained in the vae workload (at the same thread count).
- **RBM.** 784-500 Bernoulli RBM, one epoch of persistent CD-1 over the same 40 mini-batches of 100
  binarised images, learning rate 0.05, no momentum or weight decay (scikit-learn's BernoulliRBM has
  neither), zero biases and N(0, 0.01²) weights at the start on both sides. scikit-learn: the
  `partial_fit` loop alone, float64. Latent: its `trainingSeconds` (the mini-batches alone), float32;
  its per-epoch monitor (reconstruction error and pseudo-log-likelihood of 1,000 rows, which
  `partial_fit` does not compute) is outside the compared time and inside its `seconds`. Latent's
  products with binary visible rows run over their nonzeros.
- **Memory.** Peak RSS of each process: its VmHWM in /proc, sampled every 20 ms while it runs (wait4 would fold in the harness's own memory)."""


def main():
    os.makedirs(WORK, exist_ok=True)
    if not os.path.exists(LATENT):
        log(f"warning: {LATENT} not found; waiting for it")
    install = installed()
    work = selected()
    if not work and "online" not in ONLY:
        log(f"BENCH_ONLY={','.join(ONLY)} matches no workload")
        return 2
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    global RUN_COMMIT
    RUN_COMMIT = commit_label()
    log(f"Latent benchmarks: {'QUICK smoke test, ' if QUICK else ''}{REPS} reps, workloads: "
        f"{', '.join(w['name'] for w in work)}")
    paths, data_errors, manifest = make_datasets(sorted({w["dataset"] for w in work}))
    binaries = set()
    results = []
    # The load before anything starts: later readings would count this harness's own runs.
    loads = {"start": os.getloadavg()[0]}
    for w in work:
        res = run_workload(w, paths, data_errors, install)
        for row in res["rows"]:
            for r in row["latent"].get("runs", []):
                binaries.add(r.get("binary"))
        results.append(res)
    online_result = run_online() if not ONLY or "online" in ONLY else None
    if online_result:  # its data set joins the list
        manifest = {**manifest, **{k: v for k, v in datagen.Store(WORK).manifest.items() if k.startswith("gmm-overlap")}}
    comparison = None
    if work and os.environ.get("BENCH_TUNED", "0" if QUICK else "1") == "1":
        comparison = compare_builds(work, paths, data_errors)
    blas = blas_probe() if install.get("numpy") == "ok" else {}
    data = {"command": "make bench", "date": date, "quick": QUICK, "reps": REPS, "buildReps": BUILD_REPS, "only": ONLY,
            "machine": machine(), "versions": versions(), "install": install, "workloads": results,
            "blas": blas, "builds": comparison, "roofline": roofline(results, blas), "iwaeRoofline": iwae_roofline(results, blas), "online": online_result,
            "data": {k: {"bytes": v.get("bytes"), "sha256": v.get("sha256"), "spec": v.get("spec")}
                     for k, v in manifest.items()}}
    warnings = []
    binaries.discard(None)
    if len(binaries) > 1:
        warnings.append(f"The Latent binary changed during the run ({len(binaries)} different builds were timed: "
                        f"{', '.join(sorted(binaries))}); rerun `make bench` on a quiet tree for consistent figures.")
    busy = {k: v for k, v in loads.items() if v > 0.5}
    if busy:
        warnings.append(f"The machine was not idle when the run started: 1-minute load average {loads['start']:.2f} "
                        "(a load above ~0.5 means other work competed for the cores; 2-thread figures suffer most).")
    data["loadAverageBefore"] = loads
    data["warnings"] = warnings
    print("\n" + main_table(results) + "\n")
    st = scale_table(results)
    if st:
        print(st + "\n")
    stt = stream_table(results)
    if stt:
        print(stt + "\n")
    ot = online.table(online_result)
    if ot:
        print(ot + "\n")
    rf = roofline_text(data["roofline"], blas)
    if rf:
        print(rf + "\n")
    ir = iwae_roofline_text(data["iwaeRoofline"])
    if ir:
        print(ir + "\n")
    bt = builds_table(comparison)
    if bt:
        print(bt + "\n")
    for x in warnings:
        print("warning: " + x)
    if QUICK:
        target = os.path.join(WORK, "results.json")
        log(f"quick smoke test: wrote {os.path.relpath(target, ROOT)} only (no BENCHMARKS.md)")
    elif ONLY == ["online"] and os.environ.get("BENCH_UPDATE") == "1" and online_result and "error" not in online_result:
        update_online(online_result)
        return 0
    elif ONLY:
        target = os.path.join(BENCH, "work", "results-partial.json")
        log(f"partial run (BENCH_ONLY): wrote {os.path.relpath(target, ROOT)} only (no BENCHMARKS.md)")
    else:
        target = os.path.join(BENCH, "results.json")
        write_markdown(os.path.join(ROOT, "BENCHMARKS.md"), data)
        log("wrote BENCHMARKS.md and bench/results.json")
    with open(target + ".tmp", "w") as f:
        json.dump(data, f, indent=1, default=str)
    os.replace(target + ".tmp", target)
    return 0


if __name__ == "__main__":
    sys.exit(main())
