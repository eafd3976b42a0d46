#!/usr/bin/env python3
"""Verifies an idbridge gateway token with PyJWT against the gateway's published JWKS.

    jwks_check.py JWKS_URL TOKEN ISSUER AUDIENCE

This is the interoperability check: a JWT library that is not ours, given only the JWKS, must
accept the token (with the algorithm pinned, as every verifier should) and see its claims.
"""
import json
import sys
import urllib.request

try:
    import jwt
except ImportError:
    sys.exit("PyJWT is missing: pip install 'pyjwt[crypto]'")


def main() -> int:
    url, token, issuer, audience = sys.argv[1:5]
    with urllib.request.urlopen(url, timeout=10) as resp:
        jwks = json.load(resp)
    kid = jwt.get_unverified_header(token)["kid"]
    key = next(k for k in jwks["keys"] if k["kid"] == kid)
    public = jwt.PyJWK.from_dict(key)
    claims = jwt.decode(
        token,
        public.key,
        algorithms=[key["alg"]],
        issuer=issuer,
        audience=audience,
        options={"require": ["exp", "nbf", "iat", "iss", "aud", "sub", "jti"]},
    )
    print(f"verified kid={kid} alg={key['alg']} sub={claims['sub']} backend={claims['backend']}")
    # And a tampered token must fail.
    head, body, sig = token.split(".")
    try:
        jwt.decode(f"{head}.{body}.{sig[:-4]}AAAA", public.key, algorithms=[key["alg"]], audience=audience)
    except jwt.InvalidTokenError:
        print("tampered token refused")
        return 0
    print("a tampered token was accepted", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
