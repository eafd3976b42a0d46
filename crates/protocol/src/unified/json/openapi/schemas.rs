//! The component schemas of the OpenAPI document: one per shape the face sends or accepts.
//!
//! Response schemas are closed and complete (see [`exact`]); request schemas are closed too,
//! with the optional keys left out of `required`, mirroring `decode_login_request`.

use serde_json::{Value, json};

use super::schema_ref;

/// A closed object whose every property is required: what the renderers produce.
fn exact(description: &str, properties: Value) -> Value {
    let required: Vec<&String> = properties
        .as_object()
        .map(|p| p.keys().collect())
        .unwrap_or_default();
    json!({
        "type": "object",
        "description": description,
        "additionalProperties": false,
        "required": required,
        "properties": properties,
    })
}

/// A closed object with the given required properties.
fn closed(description: &str, required: &[&str], properties: Value) -> Value {
    json!({
        "type": "object",
        "description": description,
        "additionalProperties": false,
        "required": required,
        "properties": properties,
    })
}

fn string(description: &str) -> Value {
    json!({ "type": "string", "description": description })
}

fn nullable_string(description: &str) -> Value {
    json!({ "type": ["string", "null"], "description": description })
}

/// An instant as the renderers write it: RFC 3339, UTC, whole seconds.
fn instant(description: &str) -> Value {
    json!({
        "type": "string",
        "format": "date-time",
        "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$",
        "description": description,
    })
}

fn seconds(description: &str) -> Value {
    json!({ "type": "integer", "format": "int64", "minimum": 0, "description": description })
}

fn constant(value: &str) -> Value {
    json!({ "type": "string", "const": value })
}

/// base64url without padding (RFC 7518 key coordinates).
fn coordinate(description: &str) -> Value {
    json!({ "type": "string", "pattern": "^[A-Za-z0-9_-]+$", "description": description })
}

pub(super) fn all() -> Value {
    json!({
        "Subject": exact("The person (or service) behind a session.", json!({
            "id": string("The backend's user id."),
            "name": string("Display or account name."),
            "email": nullable_string("Email address, when the backend knows one."),
            "phone": nullable_string("Phone number, when the backend knows one."),
            "kind": {
                "type": "string",
                "enum": ["user", "org_owner", "org_admin"],
                "description": "The subject's role in its organisation.",
            },
        })),
        "Organization": exact("An organisation.", json!({
            "id": string("The backend's organisation id (empty when only the name is known)."),
            "name": string("Display name."),
            "domain": nullable_string("Domain (EnOS), when known."),
        })),
        "OrganizationSummary": exact("An organisation the subject may act for.", json!({
            "id": string("The backend's organisation id."),
            "name": string("Display name."),
        })),
        "Session": exact("A normalised session; never carries the backend session id.", json!({
            "backend": {
                "type": "string",
                "enum": ["enos", "netid"],
                "description": "The backend that holds the session.",
            },
            "subject": schema_ref("Subject"),
            "organization": {
                "oneOf": [schema_ref("Organization"), { "type": "null" }],
                "description": "The organisation the subject is acting for now.",
            },
            "home_organization": {
                "oneOf": [schema_ref("Organization"), { "type": "null" }],
                "description": "The organisation the subject belongs to.",
            },
            "organizations": {
                "type": "array",
                "items": schema_ref("OrganizationSummary"),
                "description": "Organisations the subject may switch to.",
            },
            "usages": {
                "type": "array",
                "items": { "type": "string" },
                "description": "Permission areas (Net iD usages: User, Token, Self, ...).",
            },
            "auth_method": {
                "type": "string",
                "enum": ["password", "ldap", "certificate"],
                "description": "How the subject logged in.",
            },
            "created_at": instant("When the subject logged in."),
            "refreshed_at": instant("When the backend last confirmed the session."),
            "expires_at": instant("When the session expires at the latest."),
            "expires_in": seconds("Seconds until expires_at (0 once past)."),
            "idle_timeout": {
                "type": ["integer", "null"],
                "format": "int64",
                "minimum": 0,
                "description": "Seconds of inactivity after which the backend logs the \
                    subject out, when it says.",
            },
        })),
        "LoginRequest": {
            "description": "A login at one of the two backends, chosen by `backend`.",
            "oneOf": [schema_ref("LoginRequestEnos"), schema_ref("LoginRequestNetid")],
            "discriminator": {
                "propertyName": "backend",
                "mapping": {
                    "enos": "#/components/schemas/LoginRequestEnos",
                    "netid": "#/components/schemas/LoginRequestNetid",
                },
            },
        },
        "LoginRequestEnos": closed(
            "An EnOS IAM account (or LDAP) login.",
            &["backend", "principal", "credentials"],
            json!({
                "backend": constant("enos"),
                "principal": { "type": "string", "minLength": 1, "description": "Account name." },
                "credentials": {
                    "type": "string",
                    "minLength": 1,
                    "format": "password",
                    "writeOnly": true,
                    "description": "The password.",
                },
                "auth_type": {
                    "type": ["integer", "null"],
                    "enum": [0, 1, null],
                    "default": 0,
                    "description": "0: EnOS account; 1: LDAP (then link_name names the link).",
                },
                "link_name": nullable_string("The LDAP link (EnOS linkName)."),
                "expire_interval": {
                    "type": ["integer", "null"],
                    "minimum": 0,
                    "maximum": u64::MAX,
                    "description": "Requested session lifetime in seconds (the backend clamps it).",
                },
            }),
        ),
        "LoginRequestNetid": {
            "description": "A Net iD Portal certificate login, in two steps: step 1 sends the \
                certificate and is answered with a challenge; step 2 answers it.",
            "oneOf": [schema_ref("LoginRequestNetidStep1"), schema_ref("LoginRequestNetidStep2")],
        },
        "LoginRequestNetidStep2": closed(
            "Step 2 of a Net iD login: the answer to step 1's challenge.",
            &["backend", "session_id", "answer"],
            json!({
                "backend": constant("netid"),
                "session_id": {
                    "type": "string",
                    "minLength": 1,
                    "description": "challenge.session_id from step 1.",
                },
                "answer": {
                    "type": "string",
                    "minLength": 1,
                    "contentEncoding": "base64",
                    "description": "base64(HMAC-SHA-256(key = the 32-byte nonce challenge.value \
                        seals to the certificate with RSA-OAEP-SHA-256, message = session_id)).",
                },
            }),
        ),
        "LoginRequestNetidStep1": closed(
            "Step 1 of a Net iD login: the certificate. Answered with a challenge, never a \
                token: a certificate is public, its private key is not.",
            &["backend", "certificate"],
            json!({
                "backend": constant("netid"),
                "certificate": {
                    "type": "string",
                    "minLength": 1,
                    "contentEncoding": "base64",
                    "description": "The client's X.509 certificate, base64 DER.",
                },
                "role": {
                    "type": ["string", "null"],
                    "enum": ["Self", "Officer", null],
                    "default": "Self",
                    "description": "Self: manage one's own account; Officer: administer others.",
                },
            }),
        ),
        "LoginResponse": exact("A successful login.", json!({
            "token": string("The gateway token (a JWT); send it as a bearer credential."),
            "token_type": constant("Bearer"),
            "expires_in": seconds("Seconds until the token expires."),
            "session": schema_ref("Session"),
        })),
        "LoginChallenge": exact("Step 1 of a Net iD login, to be answered by step 2.", json!({
            "challenge": exact("The challenge.", json!({
                "session_id": string("The portal session waiting for its answer (60 s)."),
                "value": string("The 32-byte nonce sealed with RSA-OAEP-SHA-256 to the \
                    certificate's key, base64."),
                "server_certificate": nullable_string("The portal's certificate, base64 DER."),
            })),
        })),
        "SessionResponse": exact("The session behind a credential.", json!({
            "session": schema_ref("Session"),
        })),
        "LogoutResponse": exact("A completed logout.", json!({
            "logged_out": { "type": "boolean", "const": true },
        })),
        "Error": exact("An error; `code` is stable, `message` is for people.", json!({
            "error": exact("The error.", json!({
                "code": string("A stable machine-readable code, e.g. invalid_request."),
                "message": string("A human-readable explanation."),
            })),
        })),
        "Jwks": exact("A JSON Web Key Set (RFC 7517).", json!({
            "keys": {
                "type": "array",
                "items": { "oneOf": [schema_ref("JwkOkp"), schema_ref("JwkEc")] },
            },
        })),
        "JwkOkp": exact("An Ed25519 public key (RFC 8037), for EdDSA.", json!({
            "kty": constant("OKP"),
            "crv": constant("Ed25519"),
            "x": coordinate("The public key."),
            "kid": string("Key id, as in the token header."),
            "use": constant("sig"),
            "alg": constant("EdDSA"),
        })),
        "JwkEc": exact("A P-256 public key (RFC 7518), for ES256.", json!({
            "kty": constant("EC"),
            "crv": constant("P-256"),
            "x": coordinate("The x coordinate."),
            "y": coordinate("The y coordinate."),
            "kid": string("Key id, as in the token header."),
            "use": constant("sig"),
            "alg": constant("ES256"),
        })),
    })
}
