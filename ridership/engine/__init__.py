"""The run engine: experiments trained in worker processes, run records and resume, result
tables, process settings and atomic storage. ``ridership reproduce`` and ``ridership chorales
train`` run on it; the chapter's own code (data, windows, models, training) never imports it
except to write files atomically."""
