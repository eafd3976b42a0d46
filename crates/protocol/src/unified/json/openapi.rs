//! The OpenAPI 3.1 document of the unified REST face, served at `/idbridge/v1/openapi.json`.
//!
//! It is built from code rather than shipped as a file so that it cannot drift from the
//! renderers: the crate's tests validate every renderer's output against these schemas. Schemas
//! are exact (`additionalProperties: false`, every response property required, nullable ones
//! typed `[T, "null"]`) so that generated clients get precise types.

mod schemas;

use serde_json::{Value, json};

/// Reference to a component schema.
fn schema_ref(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

/// A JSON response with a component schema.
fn body(description: &str, schema: &str) -> Value {
    json!({
        "description": description,
        "content": { "application/json": { "schema": schema_ref(schema) } },
    })
}

fn error(description: &str) -> Value {
    body(description, "Error")
}

/// What a backend that is down, throttling or slow becomes (never a 401: a user is not logged
/// out because a backend hiccuped).
fn upstream_errors() -> [(&'static str, Value); 3] {
    [
        (
            "502",
            error("The backend answered with something unusable."),
        ),
        ("503", error("The backend is unreachable or unavailable.")),
        ("504", error("The backend did not answer in time.")),
    ]
}

/// A response header of the forward-auth answer.
fn header(description: &str, required: bool) -> Value {
    json!({ "description": description, "required": required, "schema": { "type": "string" } })
}

/// 401, which always says how to authenticate.
fn unauthorized(description: &str) -> Value {
    let mut v = error(description);
    v["headers"] = json!({
        "WWW-Authenticate": header("`Bearer realm=\"idbridge\"`.", true),
    });
    v
}

/// 429: the client's own budget (with `Retry-After`) or, where the description says so, a
/// backend that throttles or locks out (without).
fn throttled(description: &str) -> Value {
    let mut v = error(description);
    v["headers"] = json!({
        "Retry-After": {
            "description": "Seconds until the client's budget allows the call again; \
                absent when the refusal is the backend's.",
            "required": false,
            "schema": { "type": "integer", "minimum": 1 },
        },
    });
    v
}

fn responses(entries: impl IntoIterator<Item = (&'static str, Value)>) -> Value {
    Value::Object(
        entries
            .into_iter()
            .map(|(code, v)| (code.to_owned(), v))
            .collect(),
    )
}

/// The document. `info.version` is this crate's version.
pub fn openapi() -> Value {
    // Either scheme: the cookie is how browser apps behind forward-auth present the token.
    let bearer = json!([{ "bearer": [] }, { "cookie": [] }]);
    let no_session = || unauthorized("No credential, or one that names no live session.");
    let lookups = || {
        throttled(
            "Too many lookups of unknown credentials from this client (see Retry-After), or \
            the backend is throttling the gateway.",
        )
    };

    let login = json!({
        "post": {
            "operationId": "login",
            "summary": "Log in at either backend and get a gateway token",
            "description": "Logs in upstream (EnOS IAM with account and password, or Net iD \
                Portal with a client certificate and its private key), caches the normalised \
                session and returns it with a gateway token (a JWT verifiable with the JWKS). \
                A Net iD login takes two calls: the certificate is answered with a challenge \
                only its private key opens, and the answer to the challenge logs in.",
            "tags": ["session"],
            "security": [],
            "requestBody": {
                "required": true,
                "content": { "application/json": { "schema": schema_ref("LoginRequest") } },
            },
            "responses": responses([
                ("200", json!({
                    "description": "Logged in, or (Net iD step 1) a challenge to answer.",
                    "content": { "application/json": { "schema": {
                        "oneOf": [schema_ref("LoginResponse"), schema_ref("LoginChallenge")],
                    } } },
                })),
                ("400", error("The body is malformed, incomplete or has unknown keys, or the \
                    backend refused its values: a certificate that is not one (bad_request), an \
                    LDAP link that does not exist (unknown_link).")),
                ("401", unauthorized("Wrong account, password or certificate, or a wrong, late \
                    or repeated answer to a Net iD challenge.")),
                ("403", error("The account is disabled, locked or its password expired.")),
                ("413", error("The body exceeds the gateway's size limit.")),
                ("429", throttled("Too many failed logins from this client or for this account \
                    (throttled, with Retry-After), or the backend locked the login out \
                    (locked).")),
            ].into_iter().chain(upstream_errors())),
        }
    });
    let session = json!({
        "get": {
            "operationId": "getSession",
            "summary": "The session behind a bearer credential",
            "tags": ["session"],
            "security": bearer,
            "responses": responses([
                ("200", body("The session.", "SessionResponse")),
                ("401", no_session()),
                ("429", lookups()),
            ].into_iter().chain(upstream_errors())),
        }
    });
    let logout = json!({
        "post": {
            "operationId": "logout",
            "summary": "Log out upstream and forget the session",
            "tags": ["session"],
            "security": bearer,
            "responses": responses([
                ("200", body("Logged out.", "LogoutResponse")),
                ("401", no_session()),
                ("429", lookups()),
            ].into_iter().chain(upstream_errors())),
        }
    });
    let auth = json!({
        "get": {
            "operationId": "forwardAuth",
            "summary": "Forward-auth check for nginx auth_request, Traefik ForwardAuth, Envoy ext_authz",
            "description": "Answered for every method, and on every path below \
                /idbridge/v1/auth/, the same way: Envoy's ext_authz forwards the original \
                method and appends the original path.",
            "tags": ["forward-auth"],
            "security": bearer,
            "responses": {
                "200": {
                    "description": "A live session; the identity is in the response headers \
                        and the body is empty. Header values are visible ASCII: other bytes of \
                        the UTF-8 text are percent-encoded.",
                    "headers": {
                        "X-Auth-Request-User": header("The subject's id.", true),
                        "X-Auth-Request-Name": header("The subject's name.", false),
                        "X-Auth-Request-Email": header(
                            "The subject's email; empty or absent when unknown.", false),
                        "X-Auth-Request-Org": header(
                            "The organisation's name (the working one, else home); empty or \
                            absent when unknown.", false),
                        "X-Auth-Request-Backend": {
                            "description": "The backend that holds the session.",
                            "required": true,
                            "schema": { "type": "string", "enum": ["enos", "netid"] },
                        },
                    },
                },
                "401": no_session(),
                "429": throttled("Too many lookups of unknown credentials from this client."),
                "503": error("The session cannot be checked now (backend unavailable)."),
            },
        }
    });
    let jwks = json!({
        "get": {
            "operationId": "jwks",
            "summary": "The public keys that verify gateway tokens",
            "tags": ["tokens"],
            "security": [],
            "responses": {
                "200": {
                    "description": "A JSON Web Key Set (RFC 7517). Empty when tokens are \
                        HS256-signed: a symmetric key is never published.",
                    "content": {
                        "application/jwk-set+json": { "schema": schema_ref("Jwks") },
                    },
                },
            },
        }
    });
    let document = json!({
        "get": {
            "operationId": "openapi",
            "summary": "This document",
            "tags": ["meta"],
            "security": [],
            "responses": {
                "200": {
                    "description": "The OpenAPI 3.1 document of this face.",
                    "content": { "application/json": { "schema": { "type": "object" } } },
                },
            },
        }
    });

    json!({
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
        "info": {
            "title": "idbridge unified API",
            "version": env!("CARGO_PKG_VERSION"),
            "summary": "One session API in front of EnOS IAM and Net iD Portal.",
            "description": "Sessions from either backend in one shape. The same operations are \
                offered over SOAP 1.1 at /idbridge/soap (WSDL at /idbridge/soap?wsdl).",
            "license": { "name": "Apache-2.0", "identifier": "Apache-2.0" },
        },
        "tags": [
            { "name": "session", "description": "Log in, inspect and log out." },
            { "name": "forward-auth", "description": "For edge proxies." },
            { "name": "tokens", "description": "Gateway token verification keys." },
            { "name": "meta", "description": "This description." },
        ],
        "paths": {
            "/idbridge/v1/login": login,
            "/idbridge/v1/session": session,
            "/idbridge/v1/logout": logout,
            "/idbridge/v1/auth": auth,
            "/.well-known/jwks.json": jwks,
            "/idbridge/v1/openapi.json": document,
        },
        "components": {
            "schemas": schemas::all(),
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "`Authorization: Bearer <credential>`, where the credential \
                        is a gateway token (JWT) from login or a backend session id (an EnOS \
                        session.id or a Net iD SessionId).",
                },
                "cookie": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": "idbridge_token",
                    "description": "The same credential in a cookie, for browser apps behind \
                        forward-auth.",
                },
            },
        },
    })
}
