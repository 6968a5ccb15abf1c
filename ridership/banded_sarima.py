"""The chapter's SARIMA, (1,0,0)x(0,1,1,s), fitted as statsmodels fits it, without its Kalman filter.

statsmodels' ``ARIMA`` writes the model as a state space: ``s`` differencing states started
"approximately diffuse" (mean 0, variance 1e6) and the first ``s`` observations left out of the
likelihood. That likelihood is one Gaussian, and a cheap one. With ``o_t = y_t`` for ``t < s`` and
``o_t = y_t - y_(t-s)`` after, ``o_t = w_t + e_t``: ``w`` is the stationary ARMA part and ``e_t``
(variance 1e6) exists only for ``t < s``. Then ``Z_0 = o_0``, ``Z_t = o_t - phi o_(t-1)`` has a
banded covariance (``s`` diagonals below the main one), so one banded Cholesky factor gives the log-
likelihood and the next day's forecast in O(n s^2), with no Python loop over time.

The fit then does what statsmodels' ``ARIMA(...).fit()`` does: the same conditional-least-squares
starting values, the same parameter transforms, L-BFGS-B on the mean negative log-likelihood with
forward differences of step 1e-5 and at most 50 iterations. Over the chapter's backtests its
forecasts match statsmodels' to within a hundredth of a rider, about ten times faster
(``tests/test_banded_sarima.py``; ``benchmarks/sarima.py`` for the times).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize
from scipy.linalg import lapack

from .errors import RidershipError

#: Variance statsmodels gives the differencing states at the start ("approximate diffuse").
#: On ridership-sized numbers it is far from diffuse, and the chapter's figures depend on it.
DIFFUSE_VARIANCE = 1e6
#: statsmodels' settings for ``fit()``: L-BFGS-B's iteration cap and its finite-difference step.
MAXITER = 50
STEP = 1e-5
_LOG_2PI = float(np.log(2 * np.pi))


def supports(order, seasonal_order) -> bool:
    """Whether ``order`` x ``seasonal_order`` is the model this module computes."""
    return tuple(order) == (1, 0, 0) and tuple(seasonal_order[:3]) == (0, 1, 1) and int(seasonal_order[3]) >= 2


def usable(y: np.ndarray, season: int) -> bool:
    """Whether this module can fit ``y`` as statsmodels would: no missing values, and enough
    data for statsmodels' starting values (short series take another branch in statsmodels)."""
    return bool(np.isfinite(y).all()) and y.size >= 6 * season


@dataclass(frozen=True)
class BandedFit:
    """Fitted parameters (statsmodels' order: ar.L1, ma.S.L<s>, sigma2) and how the fit went."""

    params: np.ndarray
    converged: bool
    evaluations: int
    start_warnings: int

    @property
    def warnings(self) -> int:
        """What statsmodels would have warned about: starting values set to zero, no convergence."""
        return self.start_warnings + (not self.converged)


def _observed(y: np.ndarray, season: int) -> np.ndarray:
    o = np.array(y, dtype=float)
    o[season:] = o[season:] - o[:-season]
    return o


def _band(params, n: int, season: int) -> np.ndarray:
    """The lower band of Cov(Z_0..Z_(n-1)), in LAPACK's banded layout: row k holds lag k."""
    phi, theta, sigma2 = params
    ab = np.zeros((season + 1, n))
    ab[0] = sigma2 * (1 + theta * theta)            # eps_t + theta eps_(t-s): its variance
    ab[season, :n - season] = sigma2 * theta        # and its covariance s steps on
    ab[0, :season] += DIFFUSE_VARIANCE              # e_t for t < s ...
    ab[0, 1:season + 1] += phi * phi * DIFFUSE_VARIANCE  # ... and -phi e_(t-1) in Z_t
    ab[1, 1:season] -= phi * DIFFUSE_VARIANCE
    # Z_0 = w_0 + e_0: w's stationary variance, and its covariance with the s values after it
    ab[0, 0] = sigma2 * (1 + theta * theta + 2 * theta * phi ** season) / (1 - phi * phi) + DIFFUSE_VARIANCE
    ab[1:, 0] = sigma2 * theta * phi ** np.arange(season - 1, -1, -1)
    ab[1, 0] -= phi * DIFFUSE_VARIANCE
    return ab


def _factor(params, o: np.ndarray, season: int):
    """The banded Cholesky factor of Cov(Z) and the standardized innovations, or None."""
    z = o.copy()
    z[1:] -= params[0] * o[:-1]
    factor, info = lapack.dpbtrf(_band(params, o.size, season), lower=1, overwrite_ab=1)
    if info != 0:
        return None
    innovations, info = lapack.dtbtrs(factor, z[:, None], uplo="L")
    return (factor, innovations[:, 0]) if info == 0 else None


def _loglike(params, o: np.ndarray, season: int) -> float:
    """The log-likelihood of the observed ``o``: the factor's terms past the burned first season."""
    parts = _factor(params, o, season)
    if parts is None:
        return -np.inf
    factor, xi = parts
    return -0.5 * (o.size - season) * _LOG_2PI - np.log(factor[0, season:]).sum() - 0.5 * (xi[season:] @ xi[season:])


def loglike(params, y, season: int = 7) -> float:
    """The log-likelihood statsmodels' ``ARIMA(y, (1,0,0), (0,1,1,season)).loglike(params)`` gives."""
    return float(_loglike(np.asarray(params, dtype=float), _observed(y, season), season))


def forecast(params, y, season: int = 7) -> float:
    """The forecast for the value after ``y``, as statsmodels' results' ``forecast()`` gives it."""
    params = np.asarray(params, dtype=float)
    o = _observed(y, season)
    n = o.size
    parts = _factor(params, o, season)
    if parts is None:
        raise RidershipError(f"SARIMA parameters {params.tolist()} give no valid covariance: the AR and MA "
                             "coefficients must lie strictly between -1 and 1 and the variance be positive.")
    factor, xi = parts
    # The next Z is eps_n + theta eps_(n-s): of the past, correlated with Z_(n-s) only.
    cov = np.zeros((n, 1))
    cov[n - season, 0] = params[2] * params[1]
    weights, _ = lapack.dtbtrs(factor, cov, uplo="L")
    return float(y[n - season] + params[0] * o[n - 1] + weights[:, 0] @ xi)


def _constrain(x: np.ndarray) -> np.ndarray:
    """statsmodels' transforms: a stationary AR, an invertible MA, a positive variance."""
    return np.array([-x[0] / np.sqrt(1 + x[0] ** 2), x[1] / np.sqrt(1 + x[1] ** 2), x[2] ** 2])


def _unconstrain(p: np.ndarray) -> np.ndarray:
    return np.array([-p[0] / np.sqrt(1 - p[0] ** 2), p[1] / np.sqrt(1 - p[1] ** 2), np.sqrt(p[2])])


def start_params(y, season: int = 7) -> tuple[np.ndarray, int]:
    """statsmodels' starting values for this model, and how many of them it would warn about.

    On the seasonally differenced series: the AR coefficient and the variance by least squares of
    each value on the one before; the seasonal MA coefficient by least squares of each value on
    the residual ``season`` steps back of a long autoregression (of order ``2 * season``)."""
    w = _observed(y, season)[season:]
    phi = _least_squares(w[:-1, None], w[1:])[0]
    residuals = w[1:] - phi * w[:-1]
    sigma2 = max(float(np.mean(residuals ** 2)), 1e-10)
    long_order = 2 * season
    lags = np.column_stack([w[long_order - k: w.size - k] for k in range(1, long_order + 1)])
    noise = w[long_order:] - lags @ _least_squares(lags, w[long_order:])
    target = w[long_order + season:]
    theta = _least_squares(noise[:target.size, None], target)[0]
    warned = 0
    if not abs(phi) < 1:
        phi, warned = 0.0, warned + 1
    if not abs(theta) < 1:
        theta, warned = 0.0, warned + 1
    return np.array([phi, theta, sigma2]), warned


def _least_squares(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.linalg.pinv(x) @ y


def fit(y, season: int = 7) -> BandedFit:
    """Maximum likelihood as statsmodels' ``ARIMA(...).fit()`` finds it, from its starting values."""
    y = np.asarray(y, dtype=float)
    if not usable(y, season):
        raise RidershipError(f"The banded SARIMA fit needs at least {6 * season} values and none missing "
                             f"(got {y.size}, {int(np.isnan(y).sum())} missing); fit other series with statsmodels "
                             "(sarima_backtest(..., engine=\"statsmodels\")).")
    o = _observed(y, season)
    n = o.size
    start, warned = start_params(y, season)
    count = 0

    def objective(x):
        return -_loglike(_constrain(x), o, season) / n

    def value_and_gradient(x):
        nonlocal count
        value = objective(x)
        gradient = np.empty(x.size)
        for i in range(x.size):
            moved = x.copy()
            moved[i] += STEP
            gradient[i] = (objective(moved) - value) / (moved[i] - x[i])
        count += x.size + 1
        return value, gradient

    x, _, info = optimize.fmin_l_bfgs_b(value_and_gradient, _unconstrain(start), maxiter=MAXITER)
    return BandedFit(_constrain(x), info["warnflag"] == 0, count, warned)


def fit_and_forecast(y, season: int = 7) -> tuple[float, int]:
    """The next value's forecast after fitting on ``y``, and the warnings statsmodels would count."""
    result = fit(y, season)
    return forecast(result.params, y, season), result.warnings
