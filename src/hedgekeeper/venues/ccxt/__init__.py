"""Every exchange reached through ccxt: transport, the generic venue, parsers, the quirks shape.

`traits.py` and `quirks.py` are the shape an exchange package (`venues/<ccxt id>/`) fills in;
`venue.py` is the one `Venue` over them. Importing this package does not import ccxt.
"""
