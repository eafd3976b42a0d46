//! Validation of the client-facing limits: `[limits]` and the connection keys of `[server]`.

use std::time::Duration;

use idbridge_protocol::Limits;

use super::super::LimitsConfig;
use super::super::raw::{Leaf, RawLimits};
use super::Check;
use crate::conn::ConnLimits;

impl Check {
    /// `[limits]`: what one request may be, and what one client may make the gateway do.
    pub(super) fn limits(&mut self, limits: RawLimits) -> LimitsConfig {
        LimitsConfig {
            max_body_bytes: self.number(
                "limits.max_body_bytes",
                limits.max_body_bytes,
                65_536,
                256,
                64 << 20,
            ) as usize,
            max_header_bytes: self.number(
                "limits.max_header_bytes",
                limits.max_header_bytes,
                32_768,
                1_024,
                1 << 20,
            ) as usize,
            max_xml_depth: self.number("limits.max_xml_depth", limits.max_xml_depth, 32, 4, 256)
                as usize,
            max_xml_elements: self.number(
                "limits.max_xml_elements",
                limits.max_xml_elements,
                Limits::DEFAULT_MAX_ELEMENTS as u64,
                16,
                1_000_000,
            ) as usize,
            max_xml_attributes: self.number(
                "limits.max_xml_attributes",
                limits.max_xml_attributes,
                Limits::DEFAULT_MAX_ATTRIBUTES as u64,
                16,
                1_000_000,
            ) as usize,
            max_xml_text_bytes: self.number(
                "limits.max_xml_text_bytes",
                limits.max_xml_text_bytes,
                Limits::DEFAULT_MAX_TEXT_BYTES as u64,
                1_024,
                64 << 20,
            ) as usize,
            login_failures_per_address: self.number(
                "limits.login_failures_per_address",
                limits.login_failures_per_address,
                10,
                1,
                1_000_000,
            ),
            login_failures_per_account: self.number(
                "limits.login_failures_per_account",
                limits.login_failures_per_account,
                5,
                1,
                1_000_000,
            ),
            login_failure_window: self.duration(
                "limits.login_failure_window",
                limits.login_failure_window,
                "15m",
                Duration::from_secs(1),
            ),
            lookups_per_address: self.number(
                "limits.lookups_per_address",
                limits.lookups_per_address,
                300,
                1,
                u64::MAX / 2,
            ),
            lookup_window: self.duration(
                "limits.lookup_window",
                limits.lookup_window,
                "1m",
                Duration::from_secs(1),
            ),
        }
    }

    /// `server.max_connections` and the client connection deadlines.
    pub(super) fn connections(
        &mut self,
        max_connections: Option<Leaf>,
        header_timeout: Option<Leaf>,
        keepalive_timeout: Option<Leaf>,
        body_timeout: Option<Leaf>,
    ) -> ConnLimits {
        ConnLimits {
            max_connections: self.number(
                "server.max_connections",
                max_connections,
                10_000,
                1,
                1_000_000,
            ) as usize,
            header_timeout: self.duration(
                "server.header_timeout",
                header_timeout,
                "10s",
                Duration::from_millis(100),
            ),
            keepalive_timeout: self.duration(
                "server.keepalive_timeout",
                keepalive_timeout,
                "60s",
                Duration::from_millis(100),
            ),
            body_timeout: self.duration(
                "server.body_timeout",
                body_timeout,
                "30s",
                Duration::from_millis(100),
            ),
        }
    }
}
