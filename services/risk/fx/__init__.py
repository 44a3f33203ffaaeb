"""FX rates: dated rates per currency against the base currency, their maintenance API and the conversions."""
