"""Binance COIN-M (`binancecoinm`) and USDⓈ-M (`binanceusdm`) perps, with the spot wallet."""
