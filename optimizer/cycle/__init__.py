"""The stages of the control cycle, one concept per module, run by `optimizer.controller`.

forecast (`forecast_cache`) -> observe (`observation`) -> estimate (`estimate`) ->
decide (the policy) -> govern (`govern`) -> act (`actuator`) -> record -> wake (`wake`);
`backoff` paces the calls of observe and act, `sessions` follows plug-in sessions,
`settings` holds `[controller]`.
"""
