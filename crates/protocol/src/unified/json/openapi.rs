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
    let bearer = json!([{ "bearer": [] }]);
    let unauthorized = || error("No bearer credential, or one that names no live session.");

    let login = json!({
        "post": {
            "operationId": "login",
            "summary": "Log in at either backend and get a gateway token",
            "description": "Logs in upstream (EnOS IAM with account and password, or Net iD \
                Portal with a client certificate), caches the normalised session and returns \
                it with a gateway token (a JWT verifiable with the JWKS).",
            "tags": ["session"],
            "security": [],
            "requestBody": {
                "required": true,
                "content": { "application/json": { "schema": schema_ref("LoginRequest") } },
            },
            "responses": responses([
                ("200", body("Logged in.", "LoginResponse")),
                ("400", error("The body is malformed, incomplete or has unknown keys.")),
                ("401", error("Wrong account, password or certificate.")),
                ("403", error("The account is disabled, locked or its password expired.")),
                ("413", error("The body exceeds the gateway's size limit.")),
                ("429", error("Too many attempts; try again later.")),
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
                ("401", unauthorized()),
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
                ("401", unauthorized()),
            ].into_iter().chain(upstream_errors())),
        }
    });
    let auth = json!({
        "get": {
            "operationId": "forwardAuth",
            "summary": "Forward-auth check for nginx auth_request, Traefik ForwardAuth, Envoy ext_authz",
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
                "401": unauthorized(),
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
            },
        },
    })
}
