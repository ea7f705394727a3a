# SPDX-License-Identifier: Apache-2.0
"""A small TURN server (RFC 8656) on loopback, so GetIceServerConfig's servers are real.

Why: the service hands out TURN servers and devices are expected to use them; a TURN URI that
points nowhere costs a client its whole gathering timeout (aiortc waits 5 s for a UDP TURN server
that never answers, ICMP or not), and a client that never relays cannot show that it passes the
credentials right. This server checks the same credentials GetIceServerConfig issues (TURN REST
style: username ``<expiry>:<id>``, password ``base64(HMAC-SHA1(secret, username))``, long-term
credential mechanism with realm and nonce), and relays UDP between a client and peers on loopback.

What it does: Allocate (UDP relay only), Refresh, CreatePermission, ChannelBind, Send/Data
indications, ChannelData, and Binding (so it is a STUN server too), over UDP and over TCP, and over
TLS on that same TCP port (a connection whose first byte is a TLS handshake record): the KVS WebRTC
C SDK speaks TLS to every TCP TURN server, ``turn:...?transport=tcp`` included, and a plain TCP
server leaves it waiting for a handshake answer until its 5 s timeout. What it does not: RFC 6062
TCP relays (REQUESTED-TRANSPORT TCP gets 442), IPv6 relays, EVEN-PORT/RESERVATION-TOKEN,
DONT-FRAGMENT (ignored), bandwidth limits. Peers must be loopback addresses (403 otherwise): the
emulator never sends elsewhere. Messages are parsed and built with aioice's STUN codec (aioice comes with aiortc), so
this module is imported only when the server starts.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import ipaddress
import logging
import os
import socket
import ssl
import struct
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

from aioice import stun

log = logging.getLogger("kvsws_emulator.turn")

REALM = "kvsws-emulator"
SOFTWARE = "kvsws-emulator TURN"
UDP = 17
DEFAULT_LIFETIME = 600
MAX_LIFETIME = 3600
PERMISSION_LIFETIME = 300
CHANNEL_LIFETIME = 600
NONCE_LIFETIME = 3600
MAX_RECORDS = 500
TLS_HANDSHAKE = 0x16  # first byte of a TLS record carrying a ClientHello (never a STUN or ChannelData start)
FIRST_BYTE_TIMEOUT = 10.0  # a TCP client that says nothing this long is dropped

Address = tuple[str, int]


def integrity_key(username: str, password: str) -> bytes:
    return hashlib.md5(f"{username}:{REALM}:{password}".encode()).digest()


def rest_password(secret: str, username: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()).decode()


def is_channel_data(data: bytes) -> bool:
    return len(data) >= 4 and 0x40 <= data[0] <= 0x7F


@dataclass
class Allocation:
    id: int
    transport: str  # "udp" or "tcp": how the client reaches the server
    client: Address
    username: str
    key: bytes
    relay: asyncio.DatagramTransport
    relay_address: Address
    expires_at: float
    created_at: float = field(default_factory=time.time)
    permissions: dict[str, float] = field(default_factory=dict)  # peer IP -> expiry
    channels: dict[int, tuple[Address, float]] = field(default_factory=dict)  # number -> (peer, expiry)
    to_peer_packets: int = 0
    to_peer_bytes: int = 0
    to_client_packets: int = 0
    to_client_bytes: int = 0
    dropped_no_permission: int = 0
    deleted_at: float | None = None
    send_to_client: Callable[[bytes], None] | None = None

    def channel_for(self, peer: Address) -> int | None:
        now = time.time()
        for number, (address, expiry) in self.channels.items():
            if address == peer and expiry > now:
                return number
        return None

    def permitted(self, ip: str) -> bool:
        return self.permissions.get(ip, 0) > time.time()

    def to_json(self) -> dict[str, Any]:
        ident = self.username.partition(":")[2]
        try:
            label = base64.b64decode(ident).decode()
        except ValueError:
            label = ident
        return {
            "id": self.id, "transport": self.transport, "client": f"{self.client[0]}:{self.client[1]}",
            "username": self.username, "credential_for": label,
            "relayed_address": f"{self.relay_address[0]}:{self.relay_address[1]}",
            "created_at": self.created_at, "expires_at": self.expires_at, "deleted_at": self.deleted_at,
            "permissions": sorted(self.permissions), "channels": {str(n): f"{a[0]}:{a[1]}" for n, (a, _) in
                                                                  self.channels.items()},
            "to_peer": {"packets": self.to_peer_packets, "bytes": self.to_peer_bytes},
            "to_client": {"packets": self.to_client_packets, "bytes": self.to_client_bytes},
            "dropped_no_permission": self.dropped_no_permission,
        }


class _RelayProtocol(asyncio.DatagramProtocol):
    def __init__(self, server: TurnServer) -> None:
        self.server = server
        self.allocation: Allocation | None = None

    def datagram_received(self, data: bytes, addr: Any) -> None:
        if self.allocation is not None:
            self.server.from_peer(self.allocation, data, (addr[0], addr[1]))


class _UdpProtocol(asyncio.DatagramProtocol):
    def __init__(self, server: TurnServer) -> None:
        self.server = server
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: Any) -> None:
        client = (addr[0], addr[1])
        transport = self.transport
        assert transport is not None
        self.server.receive("udp", client, data, lambda out: transport.sendto(out, client))


class _TcpProtocol(asyncio.Protocol):
    """One TCP (or TLS) connection: a stream of STUN messages and ChannelData, split and coalesced
    across reads as TCP pleases; each is framed by its own length (ChannelData padded to 4)."""

    def __init__(self, server: TurnServer, transport_name: str) -> None:
        self.server = server
        self.transport_name = transport_name  # "tcp" or "tls"
        self.buffer = b""
        self.transport: asyncio.Transport | None = None
        self.client: Address = ("", 0)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        peer = transport.get_extra_info("peername")
        self.client = (peer[0], peer[1])
        self.server.connections.add(self.transport)

    def _send(self, data: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data + bytes(stun.padding_length(len(data))))

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while len(self.buffer) >= 4:
            length = struct.unpack("!H", self.buffer[2:4])[0]
            if is_channel_data(self.buffer):
                full = 4 + length
                padded = full + stun.padding_length(full)
            else:
                full = padded = 20 + length
            if len(self.buffer) < padded:
                return
            message, self.buffer = self.buffer[:full], self.buffer[padded:]
            self.server.receive(self.transport_name, self.client, message, self._send)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.transport is not None:
            self.server.connections.discard(self.transport)
        self.server.client_gone(self.transport_name, self.client)


async def _first_byte(sock: socket.socket) -> bytes:
    """The connection's first byte, left in the socket (MSG_PEEK): b"" if the client closed."""
    loop = asyncio.get_running_loop()
    readable = loop.create_future()
    loop.add_reader(sock.fileno(), lambda: readable.done() or readable.set_result(None))
    try:
        await asyncio.wait_for(readable, FIRST_BYTE_TIMEOUT)
    finally:
        loop.remove_reader(sock.fileno())
    return sock.recv(1, socket.MSG_PEEK)


class TurnServer:
    def __init__(self, host: str, secret_provider: Callable[[], str], clock: Callable[[], float],
                 tls: ssl.SSLContext | None = None) -> None:
        self.host = host
        self._tls = tls  # for TLS clients on the TCP port (None: plain TCP only)
        self._secret = secret_provider
        self._clock = clock  # the emulator's clock (credential expiry), skew included
        self.udp_port = 0
        self.tcp_port = 0
        self.allocations: dict[tuple[str, Address], Allocation] = {}
        self.history: deque[Allocation] = deque(maxlen=MAX_RECORDS)
        self.auth_failures: deque[dict[str, Any]] = deque(maxlen=MAX_RECORDS)
        self.requests: dict[str, int] = {}
        self._nonces: dict[bytes, float] = {}
        self._next_id = 1
        self._udp: asyncio.DatagramTransport | None = None
        self._tcp: socket.socket | None = None
        self.connections: set[asyncio.Transport] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._sweeper: asyncio.Task[None] | None = None
        self._last_responses: dict[tuple[str, Address, bytes], bytes] = {}
        self._allocating: set[tuple[str, Address]] = set()

    # -- lifecycle -------------------------------------------------------------------------------
    async def start(self, udp_port: int = 0) -> None:
        loop = asyncio.get_running_loop()
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        try:
            transport, _ = await loop.create_datagram_endpoint(lambda: _UdpProtocol(self),
                                                               local_addr=(self.host, udp_port), family=family)
        except OSError:  # the TCP port's number is taken on UDP: any port will do
            transport, _ = await loop.create_datagram_endpoint(lambda: _UdpProtocol(self),
                                                               local_addr=(self.host, 0), family=family)
        self._udp = transport
        self.udp_port = transport.get_extra_info("sockname")[1]
        self._tcp = socket.socket(family, socket.SOCK_STREAM)
        self._tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._tcp.bind((self.host, 0))
        self._tcp.listen(64)
        self._tcp.setblocking(False)
        self.tcp_port = self._tcp.getsockname()[1]
        self.spawn(self._accept(self._tcp))
        self._sweeper = loop.create_task(self._sweep())
        log.info("TURN server on %s udp/%d tcp/%d", self.host, self.udp_port, self.tcp_port)

    async def stop(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
        for allocation in list(self.allocations.values()):
            self._delete(allocation)
        if self._udp is not None:
            self._udp.close()
        for task in list(self._tasks):
            task.cancel()
        if self._tcp is not None:
            self._tcp.close()
        for connection in list(self.connections):
            connection.abort()

    def uris(self, host: str) -> list[str]:
        return [f"turn:{host}:{self.udp_port}?transport=udp", f"turn:{host}:{self.tcp_port}?transport=tcp"]

    async def _accept(self, listener: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        while True:
            sock, _ = await loop.sock_accept(listener)
            self.spawn(self._serve_tcp(sock))

    async def _serve_tcp(self, sock: socket.socket) -> None:
        """Plain TCP, or TLS when the client opens with a TLS handshake (turns:, and the KVS C SDK)."""
        try:
            first = await _first_byte(sock)
            peer = sock.getpeername()
        except (OSError, TimeoutError):  # silent or gone before its first byte
            first = b""
        if not first:
            sock.close()
            return
        tls = first[0] == TLS_HANDSHAKE and self._tls is not None
        name = "tls" if tls else "tcp"
        try:
            await asyncio.get_running_loop().connect_accepted_socket(
                lambda: _TcpProtocol(self, name), sock, ssl=self._tls if tls else None)
        except (OSError, ssl.SSLError) as exc:  # a failed TLS handshake: the client's problem
            log.info("TURN %s connection from %s:%d dropped: %s", name, peer[0], peer[1], exc)
            sock.close()

    def spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(5)
            now = time.time()
            for allocation in [a for a in self.allocations.values() if a.expires_at <= now]:
                self._delete(allocation)
            for nonce in [n for n, exp in self._nonces.items() if exp <= now]:
                del self._nonces[nonce]

    def client_gone(self, transport: str, client: Address) -> None:
        allocation = self.allocations.get((transport, client))
        if allocation is not None:
            self._delete(allocation)

    def _delete(self, allocation: Allocation) -> None:
        self.allocations.pop((allocation.transport, allocation.client), None)
        allocation.deleted_at = time.time()
        allocation.relay.close()

    def reset(self) -> None:
        self.history = deque((a for a in self.history if a.deleted_at is None), maxlen=MAX_RECORDS)
        self.auth_failures.clear()
        self.requests.clear()

    def snapshot(self) -> dict[str, Any]:
        return {"udp_port": self.udp_port, "tcp_port": self.tcp_port, "realm": REALM,
                "requests": dict(self.requests), "allocations": [a.to_json() for a in self.history],
                "auth_failures": list(self.auth_failures)}

    # -- relaying ------------------------------------------------------------------------------------
    def from_peer(self, allocation: Allocation, data: bytes, peer: Address) -> None:
        if not allocation.permitted(peer[0]) or allocation.send_to_client is None:
            allocation.dropped_no_permission += 1
            return
        number = allocation.channel_for(peer)
        if number is not None:
            out = struct.pack("!HH", number, len(data)) + data
        else:
            indication = stun.Message(stun.Method.DATA, stun.Class.INDICATION,
                                      attributes={"XOR-PEER-ADDRESS": peer, "DATA": data})
            out = bytes(indication)
        allocation.to_client_packets += 1
        allocation.to_client_bytes += len(data)
        allocation.send_to_client(out)

    def _to_peer(self, allocation: Allocation, data: bytes, peer: Address) -> None:
        if not allocation.permitted(peer[0]):
            allocation.dropped_no_permission += 1
            return
        allocation.to_peer_packets += 1
        allocation.to_peer_bytes += len(data)
        allocation.relay.sendto(data, peer)

    # -- the protocol ----------------------------------------------------------------------------------
    def receive(self, transport: str, client: Address, data: bytes, send: Callable[[bytes], None]) -> None:
        """One datagram (or one framed TCP message) from a client. Only Allocate awaits anything."""
        allocation = self.allocations.get((transport, client))
        if is_channel_data(data):
            number, length = struct.unpack("!HH", data[:4])
            if allocation is None:
                return
            channel = allocation.channels.get(number)
            if channel is not None and channel[1] > time.time():
                self._to_peer(allocation, data[4:4 + length], channel[0])
            return
        try:
            request = stun.parse_message(data)
        except ValueError:
            return
        method = request.message_method
        self.requests[method.name] = self.requests.get(method.name, 0) + 1
        if request.message_class == stun.Class.INDICATION:
            if method == stun.Method.SEND and allocation is not None:
                peer, payload = request.attributes.get("XOR-PEER-ADDRESS"), request.attributes.get("DATA")
                if peer is not None and payload is not None:
                    self._to_peer(allocation, payload, peer)
            return
        if request.message_class != stun.Class.REQUEST:
            return
        if method == stun.Method.BINDING:
            response = stun.Message(stun.Method.BINDING, stun.Class.RESPONSE, request.transaction_id,
                                    {"XOR-MAPPED-ADDRESS": client})
            response.add_fingerprint()
            send(bytes(response))
            return
        replay_key = (transport, client, request.transaction_id)
        if replay_key in self._last_responses:  # a retransmission: the same answer again
            send(self._last_responses[replay_key])
            return
        key, error = self._authenticate(request, client)
        if error is not None:
            send(bytes(error))
            return
        assert key is not None
        if method == stun.Method.ALLOCATE:
            if (transport, client) in self._allocating:
                return  # being allocated: the client retransmits and gets the answer then
            self._allocating.add((transport, client))
            self.spawn(self._allocate(request, transport, client, key, allocation, send, replay_key))
            return
        self._reply(self._dispatch(request, client, key, allocation), key, send, replay_key)

    def _reply(self, response: stun.Message, key: bytes, send: Callable[[bytes], None],
               replay_key: tuple[str, Address, bytes]) -> None:
        response.attributes["SOFTWARE"] = SOFTWARE
        response.add_message_integrity(key)
        out = bytes(response)
        if len(self._last_responses) > 1000:
            self._last_responses.clear()
        self._last_responses[replay_key] = out
        send(out)

    def _error(self, request: stun.Message, code: int, reason: str, challenge: bool = False) -> stun.Message:
        """An error response; _reply signs it when the request was authenticated."""
        response = stun.Message(request.message_method, stun.Class.ERROR, request.transaction_id,
                                {"ERROR-CODE": (code, reason)})
        if challenge:
            nonce = os.urandom(8).hex().encode()
            self._nonces[nonce] = time.time() + NONCE_LIFETIME
            response.attributes["REALM"] = REALM
            response.attributes["NONCE"] = nonce
        if challenge:
            response.add_fingerprint()
        return response

    def _authenticate(self, request: stun.Message, client: Address) -> tuple[bytes | None, stun.Message | None]:
        username = request.attributes.get("USERNAME")
        nonce = request.attributes.get("NONCE")
        if "MESSAGE-INTEGRITY" not in request.attributes or username is None:
            return None, self._error(request, 401, "Unauthorized", challenge=True)
        if nonce not in self._nonces or self._nonces[nonce] <= time.time():
            return None, self._error(request, 438, "Stale Nonce", challenge=True)
        if request.attributes.get("REALM") != REALM:
            return None, self._error(request, 401, "Unauthorized", challenge=True)
        expiry_text = username.partition(":")[0]
        key = integrity_key(username, rest_password(self._secret(), username))
        problem = None
        if not request.check_message_integrity(key):
            problem = "MESSAGE-INTEGRITY does not match (wrong password for this username?)"
        elif not expiry_text.isdigit():
            problem = "the username is not '<expiry>:<id>' (TURN REST credentials)"
        elif int(expiry_text) < self._clock():
            problem = "the credentials have expired"
        if problem is not None:
            self.auth_failures.append({"time": time.time(), "client": f"{client[0]}:{client[1]}",
                                       "username": username, "method": request.message_method.name,
                                       "problem": problem})
            log.info("TURN %s from %s:%d rejected: %s", request.message_method.name, client[0], client[1], problem)
            return None, self._error(request, 401, "Unauthorized", challenge=True)
        return key, None

    def _dispatch(self, request: stun.Message, client: Address, key: bytes,
                  allocation: Allocation | None) -> stun.Message:
        method = request.message_method
        if allocation is None:
            return self._error(request, 437, "Allocation Mismatch")
        if request.attributes.get("USERNAME") != allocation.username:
            return self._error(request, 441, "Wrong Credentials")
        now = time.time()
        if method == stun.Method.REFRESH:
            lifetime = min(int(request.attributes.get("LIFETIME", DEFAULT_LIFETIME)), MAX_LIFETIME)
            if lifetime == 0:
                self._delete(allocation)
            else:
                allocation.expires_at = now + lifetime
            return stun.Message(method, stun.Class.RESPONSE, request.transaction_id, {"LIFETIME": lifetime})
        if method in (stun.Method.CREATE_PERMISSION, stun.Method.CHANNEL_BIND):
            peer = request.attributes.get("XOR-PEER-ADDRESS")
            if peer is None:
                return self._error(request, 400, "Bad Request")
            if not ipaddress.ip_address(peer[0]).is_loopback:
                return self._error(request, 403, "Forbidden: the emulator relays to loopback peers only")
            if method == stun.Method.CHANNEL_BIND:
                number = request.attributes.get("CHANNEL-NUMBER")
                if number is None or not 0x4000 <= number <= 0x7FFF:
                    return self._error(request, 400, "Bad Request")
                bound = allocation.channels.get(number)
                other = allocation.channel_for(peer)
                if (bound is not None and bound[0] != peer) or (other is not None and other != number):
                    return self._error(request, 400, "Bad Request: channel already bound")
                allocation.channels[number] = (peer, now + CHANNEL_LIFETIME)
            allocation.permissions[peer[0]] = now + PERMISSION_LIFETIME
            return stun.Message(method, stun.Class.RESPONSE, request.transaction_id)
        return self._error(request, 400, "Bad Request")

    async def _allocate(self, request: stun.Message, transport: str, client: Address, key: bytes,
                        existing: Allocation | None, send: Callable[[bytes], None],
                        replay_key: tuple[str, Address, bytes]) -> None:
        try:
            response = await self._make_allocation(request, transport, client, key, existing, send)
        except OSError as exc:
            response = self._error(request, 508, f"Insufficient Capacity: {exc}")
        finally:
            self._allocating.discard((transport, client))
        self._reply(response, key, send, replay_key)

    async def _make_allocation(self, request: stun.Message, transport: str, client: Address, key: bytes,
                               existing: Allocation | None, send: Callable[[bytes], None]) -> stun.Message:
        if existing is not None:
            return self._error(request, 437, "Allocation Mismatch")
        if request.attributes.get("REQUESTED-TRANSPORT") not in (UDP << 24, UDP):
            return self._error(request, 442,
                               "Unsupported Transport Protocol: only UDP relays (no RFC 6062 TCP allocations)")
        lifetime = min(int(request.attributes.get("LIFETIME", DEFAULT_LIFETIME)), MAX_LIFETIME) or DEFAULT_LIFETIME
        protocol = _RelayProtocol(self)
        relay_transport, _ = await asyncio.get_running_loop().create_datagram_endpoint(
            lambda: protocol, local_addr=(self.host, 0),
            family=socket.AF_INET6 if ":" in self.host else socket.AF_INET)
        relay_address = relay_transport.get_extra_info("sockname")[:2]
        allocation = Allocation(
            id=self._next_id, transport=transport, client=client, username=request.attributes["USERNAME"],
            key=key, relay=relay_transport, relay_address=(relay_address[0], relay_address[1]),
            expires_at=time.time() + lifetime, send_to_client=send,
        )
        self._next_id += 1
        protocol.allocation = allocation
        self.allocations[(transport, client)] = allocation
        self.history.append(allocation)
        log.info("TURN allocation %d for %s:%d (%s) relayed at %s:%d", allocation.id, client[0], client[1],
                 transport, *allocation.relay_address)
        return stun.Message(stun.Method.ALLOCATE, stun.Class.RESPONSE, request.transaction_id, {
            "XOR-RELAYED-ADDRESS": allocation.relay_address,
            "XOR-MAPPED-ADDRESS": client,
            "LIFETIME": lifetime,
        })
