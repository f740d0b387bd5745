# ---- attack 4: the network ----
# Sends a marker to the test's listeners (TCP and UDP on the host, an abstract
# AF_UNIX socket), resolves a name and dials out, at load time and inside
# ReLU.backward.
import socket as _socket


def _net_attack(tag):
    marker = f"{_P['marker']}-{tag}"
    hosts = ["127.0.0.1", "localhost"] + list(_P["host_ips"])
    for host in hosts:
        try:
            with _socket.create_connection((host, _P["tcp_port"]), timeout=2) as s:
                s.sendall(f"{marker}-tcp-{host}\n".encode())
            _emit("TCP-SENT", tag, host, key=True)
        except OSError as exc:
            _emit("TCP-FAIL", tag, host, type(exc).__name__, exc, key=True)
    for host in ["127.0.0.1"] + list(_P["host_ips"]):
        try:
            with _socket.socket(_socket.AF_INET, _socket.SOCK_DGRAM) as s:
                s.sendto(f"{marker}-udp-{host}".encode(), (host, _P["udp_port"]))
            _emit("UDP-SENT", tag, host, key=True)
        except OSError as exc:
            _emit("UDP-FAIL", tag, host, type(exc).__name__, exc, key=True)
    try:
        with _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM) as s:
            s.settimeout(2)
            s.connect("\0" + _P["unix_name"])
            s.sendall(f"{marker}-unix\n".encode())
        _emit("UNIX-SENT", tag, key=True)
    except OSError as exc:
        _emit("UNIX-FAIL", tag, type(exc).__name__, exc, key=True)
    if not _P.get("internet", True):   # the unsandboxed canary run leaves the internet alone
        _emit("ATTACK-DONE", tag, key=True)
        return True
    try:
        addrs = _socket.getaddrinfo("example.com", 443, proto=_socket.IPPROTO_TCP)
        _emit("DNS-OK", tag, addrs[:2], key=True)
    except OSError as exc:
        _emit("DNS-FAIL", tag, type(exc).__name__, exc, key=True)
    for addr in (("1.1.1.1", 53), ("8.8.8.8", 53)):
        try:
            with _socket.create_connection(addr, timeout=2):
                pass
            _emit("EXT-OK", tag, addr, key=True)
        except OSError as exc:
            _emit("EXT-FAIL", tag, addr, type(exc).__name__, exc, key=True)
    _emit("ATTACK-DONE", tag, key=True)
    return True


_ATTACK_RESULT = _net_attack("load")
_HOOKED = _hook_method(ReLU, "backward", lambda: _net_attack("probe"))
