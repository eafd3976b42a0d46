//! Documents the gateway serves from memory: the JWKS, the OpenAPI description, the WSDL.

use idbridge_protocol::unified::{json as ujson, soap as usoap};

use crate::face::Doc;
use crate::face::unified_soap::PATH as UNIFIED_SOAP;
use crate::reply::Reply;
use crate::runtime::Runtime;

pub fn serve(rt: &Runtime, doc: Doc, host: &str) -> Reply {
    match doc {
        // Verifiers may cache the keys briefly; rotation keeps the old key published longer.
        Doc::Jwks => Reply::json(200, "application/jwk-set+json", rt.tokens.jwks())
            .with_header("cache-control", "public, max-age=300"),
        Doc::OpenApi => Reply::json(200, "application/json", &ujson::openapi()),
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
