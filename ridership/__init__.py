"""ridership: chapter 15 of Hands-On Machine Learning (3rd ed.) on Keras 3."""

from .baselines import naive_errors, naive_forecast, sarima_backtest, sarima_forecast
from .data import load_ridership, multivariate_frame, period, read_ridership, split
from .errors import RidershipError

__version__ = "0.1.0"
