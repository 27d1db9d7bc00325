"""V2C Cloud API client: spec, typed results, async and sync clients, the `Charger` adapter.

from adapters.v2c_cloud import V2CClient
with V2CClient() as client:                     # key from V2C_API_KEY
    reading = client.currentstatecharge("DEVICE")   # SI units
"""

from adapters.v2c_cloud.calls import Call, Operation
from adapters.v2c_cloud.client import AsyncV2CClient
from adapters.v2c_cloud.endpoints import DEFAULT_BASE_URL, SPEC_PATH, Endpoint, endpoints
from adapters.v2c_cloud.engine import NO_RETRY, RetryPolicy
from adapters.v2c_cloud.errors import (
    V2CAuthError,
    V2CError,
    V2CHTTPError,
    V2CNotFound,
    V2CRateLimited,
    V2CResponseError,
    V2CTransportError,
    V2CValidationError,
)
from adapters.v2c_cloud.models import (
    ChargeStatistic,
    CommandResult,
    Connected,
    CurrentStateCharge,
    DeviceState,
    FirmwareVersion,
    GlobalStatistic,
    Pairing,
    PowerProfile,
    Reported,
    RfidCard,
    WifiNetwork,
)
from adapters.v2c_cloud.operations import OPERATIONS, Operations, build_call
from adapters.v2c_cloud.sync import V2CClient

__all__ = [
    "DEFAULT_BASE_URL",
    "NO_RETRY",
    "OPERATIONS",
    "SPEC_PATH",
    "AsyncV2CClient",
    "Call",
    "ChargeStatistic",
    "CommandResult",
    "Connected",
    "CurrentStateCharge",
    "DeviceState",
    "Endpoint",
    "FirmwareVersion",
    "GlobalStatistic",
    "Operation",
    "Operations",
    "Pairing",
    "PowerProfile",
    "Reported",
    "RetryPolicy",
    "RfidCard",
    "V2CAuthError",
    "V2CClient",
    "V2CError",
    "V2CHTTPError",
    "V2CNotFound",
    "V2CRateLimited",
    "V2CResponseError",
    "V2CTransportError",
    "V2CValidationError",
    "WifiNetwork",
    "build_call",
    "endpoints",
]
