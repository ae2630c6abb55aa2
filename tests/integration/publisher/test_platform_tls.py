"""A platform that asks for a client certificate (双向认证): the mapping's `auth: client-cert`
over real TLS, against a server trusting only a test CA's clients."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from services.publisher.domain.categories import load_categories
from services.publisher.platforms import PlatformFailed, load_platforms

from .fake_platforms import free_port

RECORD = {"uscc": "91360202MA35XXXX0A", "result_id": "R-T-1", "check_date": "2026-03-10"}


def _issue(
    name: str, key: Any, issuer: tuple[x509.Name, Any] | None, *, ca: bool = False
) -> x509.Certificate:
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    issuer_name, issuer_key = issuer or (subject, key)
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if not ca:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
    return builder.sign(issuer_key, hashes.SHA256())


def _write(folder: Path, stem: str, cert: x509.Certificate, key: Any) -> None:
    (folder / f"{stem}.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / f"{stem}.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


def _folder(pki: Path, url: str, stem: str) -> Path:
    """A mapping folder holding the certificates and a mapping presenting `stem`'s."""
    folder = pki / stem / "m"
    folder.mkdir(parents=True)
    for f in pki.glob("*.*"):
        (folder / f.name).write_bytes(f.read_bytes())
    (folder / "jdpt.yaml").write_text(_mapping(url, stem), encoding="utf-8")
    return folder


@pytest.fixture
def pki(tmp_path: Path) -> Path:
    """A CA, the platform's server certificate and two clients: ours (issued by the CA) and a
    stranger's (self-signed)."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _issue("测试省平台 CA", ca_key, None, ca=True)
    _write(tmp_path, "ca", ca, ca_key)
    for stem in ("server", "client"):
        key = ec.generate_private_key(ec.SECP256R1())
        _write(tmp_path, stem, _issue(stem, key, (ca.subject, ca_key)), key)
    stranger = ec.generate_private_key(ec.SECP256R1())
    _write(tmp_path, "stranger", _issue("stranger", stranger, None), stranger)
    return tmp_path


def _mapping(url: str, cert: str) -> str:
    return f"""\
platform: jdpt
name: 监督平台（双向认证）
transport:
  kind: http-json
  url: {url}
auth:
  kind: client-cert
  cert_file: {cert}.pem
  key_file: {cert}.key
  ca_file: ca.pem
records:
  result:
    fields:
      - name: 统一社会信用代码
        from: uscc
        required: true
      - name: 结果编号
        from: result_id
"""


async def test_a_client_certificate_is_presented_and_a_strangers_is_refused(pki: Path) -> None:
    got: list[Any] = []

    async def receive(request: web.Request) -> web.Response:
        peer = request.transport.get_extra_info("peercert") if request.transport else None
        got.append((await request.json(), peer))
        return web.json_response({"ok": True})

    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(pki / "ca.pem"))
    server_tls.load_cert_chain(pki / "server.pem", pki / "server.key")
    server_tls.verify_mode = ssl.CERT_REQUIRED
    app = web.Application()
    app.router.add_post("/receive", receive)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port, ssl_context=server_tls).start()
    url = f"https://127.0.0.1:{port}/receive"
    try:
        for stem in ("client", "stranger"):
            folder = _folder(pki, url, stem)
            platforms = load_platforms(folder, categories=load_categories(), timeout_s=5)
            adapter = platforms.adapters["jdpt"]
            try:
                if stem == "client":
                    await adapter.send(kind="result", record=RECORD, key="R-T-1:v1:platform:jdpt")
                else:
                    with pytest.raises(PlatformFailed) as caught:
                        await adapter.send(kind="result", record=RECORD, key="k")
                    assert not caught.value.permanent  # retried: a handshake may pass later
            finally:
                await platforms.aclose()
    finally:
        await runner.cleanup()
    [(body, peer)] = got
    assert body == {"统一社会信用代码": "91360202MA35XXXX0A", "结果编号": "R-T-1"}
    assert dict(x[0] for x in peer["subject"])["commonName"] == "client"
