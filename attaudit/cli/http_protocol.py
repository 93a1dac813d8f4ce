"""uvicorn's h11 protocol with a request-header timeout (slow-header connections are closed).

uvicorn times out idle keep-alive connections but not a connection that is still sending its
request line and headers: a client that opens connections and trickles a header byte every few
seconds holds them forever (a slowloris). This subclass starts a timer when a connection opens
and whenever a new request begins to arrive, cancels it once the request's headers are complete
(the body then has its own limits: the BodyGate cap), and closes the transport when it fires.
The header size is bounded separately by ``h11_max_incomplete_event_size``.
"""

from __future__ import annotations

import asyncio

from uvicorn.protocols.http.h11_impl import H11Protocol


class HeaderTimeoutH11Protocol(H11Protocol):
    header_timeout: float = 10.0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._header_timer: asyncio.TimerHandle | None = None
        self._arm()

    def _waiting_for_headers(self) -> bool:
        return self.cycle is None or self.cycle.response_complete

    def _arm(self) -> None:
        if self._header_timer is None:
            self._header_timer = self.loop.call_later(self.header_timeout, self._expire)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _expire(self) -> None:
        self._header_timer = None
        if self._waiting_for_headers() and not self.transport.is_closing():
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        if self._waiting_for_headers():
            self._arm()
        super().data_received(data)
        if not self._waiting_for_headers():
            self._disarm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)


def protocol_with_header_timeout(seconds: float) -> type[H11Protocol]:
    """A protocol class for ``uvicorn.run(http=...)`` with the given header timeout."""
    return type("AttauditH11Protocol", (HeaderTimeoutH11Protocol,), {"header_timeout": float(seconds)})
