"""The SSO sign-in's decisions without the network: PKCE, pending logins, claims, user names,
the access token's end; and the sealing of that token into a session."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.web.commands import seal, unseal
from services.web.domain.sso import (
    ACCESS_TOKEN_MARGIN_S,
    access_expires_at,
    claims_problem,
    pending_expired,
    pkce_challenge,
    username_from_claims,
)

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


def test_the_pkce_challenge_is_rfc_7636s() -> None:
    # RFC 7636, appendix B
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert pkce_challenge(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_a_pending_login_lasts_ten_minutes() -> None:
    assert not pending_expired(NOW, now=NOW + timedelta(minutes=9, seconds=59))
    assert pending_expired(NOW, now=NOW + timedelta(minutes=10))


def test_claims_must_carry_this_logins_nonce_and_name_this_client() -> None:
    ok = {"nonce": "n-1", "aud": "web"}
    assert claims_problem(ok, nonce="n-1", client_id="web") is None
    assert claims_problem({**ok, "nonce": "n-2"}, nonce="n-1", client_id="web")
    assert claims_problem({"aud": "web"}, nonce="n-1", client_id="web")
    assert claims_problem({**ok, "nonce": 1}, nonce="n-1", client_id="web")
    several = {"nonce": "n-1", "aud": ["web", "other"]}
    assert claims_problem(several, nonce="n-1", client_id="web")
    assert claims_problem({**several, "azp": "web"}, nonce="n-1", client_id="web") is None
    assert claims_problem({"nonce": "n-1", "aud": ["web"]}, nonce="n-1", client_id="web") is None


def test_the_user_name_comes_from_the_configured_claim() -> None:
    claims = {"preferred_username": " li ", "employee_no": "E-7", "blank": " ", "n": 7}
    assert username_from_claims(claims, "preferred_username") == "li"
    assert username_from_claims(claims, "employee_no") == "E-7"
    assert username_from_claims(claims, "blank") is None
    assert username_from_claims(claims, "n") is None
    assert username_from_claims(claims, "missing") is None


def test_the_access_token_ends_a_margin_before_the_provider_says() -> None:
    margin = timedelta(seconds=ACCESS_TOKEN_MARGIN_S)
    assert access_expires_at(now=NOW, expires_in=3600) == NOW + timedelta(hours=1) - margin
    assert access_expires_at(now=NOW, expires_in="600") == NOW + timedelta(minutes=10) - margin
    assert access_expires_at(now=NOW, expires_in=10) == NOW  # already unusable
    assert access_expires_at(now=NOW, expires_in=None) is None
    assert access_expires_at(now=NOW, expires_in="soon") is None
    assert access_expires_at(now=NOW, expires_in=True) is None
    assert access_expires_at(now=NOW, expires_in=float("inf")) is None
    assert access_expires_at(now=NOW, expires_in=10**12) == NOW + timedelta(days=7) - margin


def test_a_sealed_token_opens_only_with_its_sessions_cookie() -> None:
    sealed = seal("eyJ.access.token", token="cookie-1")
    assert b"eyJ" not in sealed
    assert unseal(sealed, token="cookie-1") == "eyJ.access.token"
    assert unseal(sealed, token="cookie-2") is None
    assert unseal(sealed[:-1] + bytes([sealed[-1] ^ 1]), token="cookie-1") is None
    assert seal("eyJ.access.token", token="cookie-1") != sealed  # a new nonce each time
