"""A throwaway self-signed certificate for tests of TLS servers (the real openssl)."""

from __future__ import annotations

import subprocess
from pathlib import Path


def self_signed(folder: Path, subject: str = "/CN=*", *extra: str) -> tuple[Path, Path]:
    """``(cert.pem, key.pem)`` in ``folder``: an RSA key and a one-day certificate for
    ``subject``, with ``extra`` openssl options (e.g. ``-addext subjectAltName=...``)."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    made = subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", subject, *extra, "-keyout", str(key), "-out", str(cert)],
        capture_output=True,
        text=True,
        timeout=60,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    return cert, key
