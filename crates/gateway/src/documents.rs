//! Documents the gateway serves from memory: the JWKS, the OpenAPI description, the WSDL.

use idbridge_protocol::unified::{json as ujson, soap as usoap};

use crate::respond::{JSON, Reply};
use crate::route::{Doc, UNIFIED_SOAP};
use crate::state::State;

pub fn serve(state: &State, doc: Doc, host: &str) -> Reply {
    match doc {
        Doc::Jwks => {
            let mut reply = Reply::json(200, "application/jwk-set+json", state.tokens.jwks());
            // Verifiers may cache the keys briefly; rotation keeps the old key published longer.
            reply
                .headers
                .push(("cache-control", "public, max-age=300".to_owned()));
            reply
        }
        Doc::OpenApi => Reply::json(200, JSON, &ujson::openapi()),
        Doc::Wsdl => {
            // The service address follows the Host the client used, so a generated client calls
            // back the way it came. Only a plausible host name is echoed.
            let host = if host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b))
            {
                host
            } else {
                "localhost"
            };
            Reply::new(
                200,
                usoap::CONTENT_TYPE,
                usoap::wsdl(&format!("http://{host}{UNIFIED_SOAP}")),
            )
        }
    }
}
