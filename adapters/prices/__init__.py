"""Price providers: adapters behind `optimizer.prices.PriceSource`.

One module per provider (ESIOS PVPC, ENTSO-E, aWATTar, Tibber, Nord Pool, a CSV
file, a generic JSON URL), HTTP through `httpx` with an injectable transport
(tests answer from recorded fixtures, never the network), the disk cache, and
`registry.build_price_source`, which picks one from the `[prices]` config.
Every failure is a `PriceSourceError` with one line naming the provider.
"""
