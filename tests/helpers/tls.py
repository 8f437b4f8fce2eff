"""A certificate authority of a test's own, made with the ``openssl`` command.

`make_ca` writes a CA certificate (``ca.pem``, what an application's
``verify=`` or ``REQUESTS_CA_BUNDLE`` points at) and a server certificate for
``127.0.0.1`` signed by it, and returns the CA's path and a server-side
``SSLContext`` holding the server certificate. Nothing here trusts anything
system-wide: only a client given ``ca.pem`` verifies the server.
"""

from __future__ import annotations

import shutil
import ssl
import subprocess
from pathlib import Path


def _openssl(*args: str) -> None:
    openssl = shutil.which("openssl")
    assert openssl is not None
    subprocess.run([openssl, *args], check=True, capture_output=True, timeout=60)


def make_ca(folder: Path) -> tuple[Path, ssl.SSLContext]:
    """Make a CA and a server certificate for 127.0.0.1 signed by it.

    Args:
        folder: Where the keys and certificates are written.

    Returns:
        The CA certificate's path and the server's ``SSLContext``.
    """
    ca_key, ca = folder / "ca.key", folder / "ca.pem"
    key, csr, cert = folder / "server.key", folder / "server.csr", folder / "server.pem"
    curve = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
    _openssl(
        "req", "-x509", *curve, "-keyout", str(ca_key), "-out", str(ca),
        "-days", "2", "-subj", "/CN=langchain-liaobots test CA",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
    )  # fmt: skip
    _openssl(
        "req", "-new", *curve, "-keyout", str(key), "-out", str(csr),
        "-subj", "/CN=127.0.0.1",
    )  # fmt: skip
    extensions = folder / "server.ext"
    extensions.write_text(
        "basicConstraints=CA:FALSE\n"
        "subjectAltName=IP:127.0.0.1\n"
        "extendedKeyUsage=serverAuth\n"
    )
    _openssl(
        "x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key),
        "-CAcreateserial", "-out", str(cert), "-days", "2",
        "-extfile", str(extensions),
    )  # fmt: skip
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return ca, context
