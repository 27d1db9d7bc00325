"""The V2C Cloud simulator: a physical world model (`world`), served over HTTP (`server`) or
driven in-process by the backtests (`inprocess`)."""
