#!/usr/bin/python3
"""Reference values for src/Engine/Statistics: statsmodels OLS and WLS on several data sets.

Run with Debian's Python (apt-get install -y python3-statsmodels):
    /usr/bin/python3 bench/statsmodels_reference.py > tests/Engine.Tests/Data/statsmodels_reference.json
The design is np.vander(x, degree + 1): columns x^d … x, 1, params highest power first, as the service's.
"""
import json
import sys

import numpy as np
import statsmodels
import statsmodels.api as sm




def lesson():
    # The lesson's points exactly as src/Engine/LessonData.cs holds them.
    x = [-2.0, -1.7894736842105263, -1.5789473684210527, -1.368421052631579, -1.1578947368421053,
         -0.9473684210526316, -0.736842105263158, -0.5263157894736843, -0.3157894736842106, -0.10526315789473695,
         0.10526315789473673, 0.3157894736842106, 0.5263157894736841, 0.7368421052631575, 0.9473684210526314,
         1.1578947368421053, 1.3684210526315788, 1.5789473684210522, 1.789473684210526, 2.0]
    y = [11.869037259947495, 6.5432843586588545, 5.939606579202841, 2.6303700318270353, 1.7947412121991926,
         1.9010286691658997, -0.2977375638897217, 1.4315452929860846, -0.2803804699240482, 0.45212987376369906,
         0.2547498278860447, 4.574284186082602, 2.968071084513697, 1.3385438382815777, 5.37544094093368,
         4.887778985586678, 8.246675990830116, 9.246153973833827, 10.26118714933485, 13.693917415398694]
    return np.array(x), np.array(y)


def cases():
    rng = np.random.default_rng(2026)
    x, y = lesson()
    for degree in (0, 1, 2, 3):
        yield f"lesson degree {degree}", x, y, degree, None
    yield "lesson degree 2 weighted", x, y, 2, rng.uniform(0.2, 3.0, x.size)

    t = np.sort(rng.uniform(10, 35, 60))  # temperatures
    sales = 200 + 12 * t - 0.15 * t**2 + rng.normal(0, 8, t.size)
    yield "temperature and sales degree 2", t, sales, 2, None
    yield "temperature and sales degree 1", t, sales, 1, None
    yield "temperature and sales degree 2 weighted", t, sales, 2, rng.uniform(0.5, 2.0, t.size)

    small = np.array([0.0, 1.0, 2.0, 3.0, 4.0])
    yield "five points, two residual degrees of freedom", small, np.array([1.1, 2.9, 5.2, 7.1, 8.8]), 2, None
    yield "three points, one residual degree of freedom", small[:3], np.array([1.0, 2.5, 2.9]), 1, None

    u = np.linspace(-1, 1, 200)
    yield "cubic with heavy noise, 200 points", u, 0.5 * u**3 - u + rng.standard_t(3, u.size), 3, None
    w = rng.integers(1, 5, u.size).astype(float)
    yield "cubic weighted by counts", u, 0.5 * u**3 - u + rng.normal(0, 1, u.size) / np.sqrt(w), 3, w
    # Zero weights leave their points out of the sums but not out of nobs; statsmodels' llf (so AIC, BIC) is then -inf.
    z = rng.uniform(0.5, 2.0, t.size)
    z[[3, 17, 40]] = 0.0
    yield "temperature and sales degree 2, three zero weights", t, sales, 2, z


def finite_or_none(v):
    """JSON has no -inf: a non-finite figure is written as null (the service reports it as null too)."""
    v = float(v)
    return v if np.isfinite(v) else None


def reference(name, x, y, degree, weights):
    X = np.vander(x, degree + 1)
    model = sm.OLS(y, X) if weights is None else sm.WLS(y, X, weights=weights)
    r = model.fit()
    ci = r.conf_int(0.05)
    return {
        "name": name,
        "x": x.tolist(), "y": y.tolist(), "degree": degree,
        "weights": None if weights is None else weights.tolist(),
        "params": r.params.tolist(),
        "bse": r.bse.tolist(),
        "tvalues": r.tvalues.tolist(),
        "pvalues": r.pvalues.tolist(),
        "confInt": ci.tolist(),
        "cov": r.cov_params().tolist(),
        "sigma": float(np.sqrt(r.scale)),
        "dfResid": float(r.df_resid),
        "ssr": float(r.ssr),
        "rsquared": float(r.rsquared),
        "rsquaredAdj": float(r.rsquared_adj),
        "llf": finite_or_none(r.llf),
        "aic": finite_or_none(r.aic),
        "bic": finite_or_none(r.bic),
        "residualQuantiles": np.percentile(r.resid, [0, 25, 50, 75, 100]).tolist(),
    }


def t_distribution():
    """The t distribution to 40 digits (mpmath), beside scipy's t.ppf that statsmodels uses (good to ~4e-10 at 0.975)."""
    import mpmath as mp
    from scipy import stats
    mp.mp.dps = 40

    def sf(t, df):
        return mp.betainc(mp.mpf(df) / 2, mp.mpf(1) / 2, 0, mp.mpf(df) / (df + mp.mpf(t) ** 2), regularized=True) / 2

    rows = []
    for df in (1, 2, 3, 4, 5, 7, 10, 17, 30, 100, 1000, 100000, 999997):
        for p in (0.975, 0.995, 0.75, 0.6):
            exact = mp.findroot(lambda t: sf(t, df) - (1 - mp.mpf(p)), stats.t.ppf(p, df))
            rows.append({"df": df, "p": p, "quantile": float(exact), "scipy": float(stats.t.ppf(p, df))})
        for t in (0.1, 1.0, 2.5, 7.0, 30.0):
            rows.append({"df": df, "t": t, "sf": float(sf(t, df))})
    return rows


json.dump({"statsmodels": statsmodels.__version__, "numpy": np.__version__,
           "cases": [reference(*c) for c in cases()], "t": t_distribution()}, sys.stdout, indent=1)
