//! Validation of the TLS keys: the listener's (`[server.tls]`) and each upstream's. Every file is
//! read now, so a missing, unreadable, unparsable or mismatched file is a configuration problem
//! reported with the rest, not a failure at the first handshake.

use std::path::PathBuf;

use url::Url;

use super::super::raw::{RawListenerTls, RawUpstreamTls, join};
use super::super::{ClientAuth, ListenerTls, UpstreamTlsConfig};
use super::Check;
use crate::tls::{self, TlsFileError};

impl Check {
    /// `[server.tls]`: on when `cert_file` is set; its files read and checked now, so that a bad
    /// file is a configuration problem, not a failure at the first handshake.
    pub(super) fn listener_tls(&mut self, raw: RawListenerTls) -> Option<ListenerTls> {
        let cert_file = self
            .optional("server.tls.cert_file", raw.cert_file)
            .map(PathBuf::from);
        let key_file = self
            .optional("server.tls.key_file", raw.key_file)
            .map(PathBuf::from);
        let client_ca_file = self
            .optional("server.tls.client_ca_file", raw.client_ca_file)
            .map(PathBuf::from);
        let listen = self.addr("server.tls.listen", raw.listen, "127.0.0.1:8443");
        let client_auth = match self
            .text("server.tls.client_auth", raw.client_auth, "required")
            .as_str()
        {
            "required" => ClientAuth::Required,
            "optional" => ClientAuth::Optional,
            other => {
                self.problem(
                    "server.tls.client_auth",
                    format!("`{other}` is not one of: required, optional"),
                );
                ClientAuth::Required
            }
        };
        let (cert_file, key_file) = match (cert_file, key_file) {
            (None, None) => {
                if client_ca_file.is_some() {
                    self.problem(
                        "server.tls.cert_file",
                        "required with server.tls.client_ca_file",
                    );
                }
                return None;
            }
            (Some(c), Some(k)) => (c, k),
            (None, Some(_)) => {
                self.problem("server.tls.cert_file", "required with server.tls.key_file");
                return None;
            }
            (Some(_), None) => {
                self.problem("server.tls.key_file", "required with server.tls.cert_file");
                return None;
            }
        };
        let tls = ListenerTls {
            listen,
            cert_file,
            key_file,
            client_ca_file,
            client_auth,
        };
        let files = [
            ("server.tls.cert_file", tls.cert_file.clone()),
            ("server.tls.key_file", tls.key_file.clone()),
        ];
        if let Err(e) = tls::ListenerCert::load(&tls) {
            self.file_problem(&files, &e);
        }
        if let Err(e) = tls::client_verifier(&tls) {
            self.problem("server.tls.client_ca_file", e.to_string());
        }
        Some(tls)
    }

    /// A TLS file problem, under the key that names the file.
    fn file_problem(&mut self, files: &[(&str, PathBuf)], e: &TlsFileError) {
        let key = files
            .iter()
            .find(|(_, p)| p.display().to_string() == e.path)
            .map_or(files[0].0, |(k, _)| *k);
        self.problem(key, e.to_string());
    }

    /// TLS towards an upstream at `url`, under `prefix`: only with `https://`, its files checked.
    pub(super) fn upstream_tls(
        &mut self,
        prefix: &str,
        url: Option<&Url>,
        raw: RawUpstreamTls,
    ) -> UpstreamTlsConfig {
        let path =
            |c: &mut Self, key: &str, leaf| c.optional(&join(prefix, key), leaf).map(PathBuf::from);
        let config = UpstreamTlsConfig {
            ca_file: path(self, "ca_file", raw.ca_file),
            sni: self.optional(&join(prefix, "sni"), raw.sni),
            client_cert_file: path(self, "client_cert_file", raw.client_cert_file),
            client_key_file: path(self, "client_key_file", raw.client_key_file),
        };
        let Some(url) = url else { return config };
        if url.scheme() != "https" {
            for (key, set) in [
                ("ca_file", config.ca_file.is_some()),
                ("sni", config.sni.is_some()),
                ("client_cert_file", config.client_cert_file.is_some()),
                ("client_key_file", config.client_key_file.is_some()),
            ] {
                if set {
                    self.problem(&join(prefix, key), "only used with an https:// url");
                }
            }
            return config;
        }
        if let Some(sni) = &config.sni
            && !sni
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-.".contains(&b))
        {
            self.problem(
                &join(prefix, "sni"),
                "must be a DNS name such as iam.example.com",
            );
        }
        match (&config.client_cert_file, &config.client_key_file) {
            (Some(_), None) => self.problem(
                &join(prefix, "client_key_file"),
                "required with client_cert_file",
            ),
            (None, Some(_)) => self.problem(
                &join(prefix, "client_cert_file"),
                "required with client_key_file",
            ),
            _ => {}
        }
        let files: Vec<(String, PathBuf)> = [
            ("ca_file", &config.ca_file),
            ("client_cert_file", &config.client_cert_file),
            ("client_key_file", &config.client_key_file),
        ]
        .into_iter()
        .filter_map(|(k, p)| p.clone().map(|p| (join(prefix, k), p)))
        .collect();
        if let Err(e) = tls::UpstreamTls::load(url.host_str().unwrap_or_default(), &config) {
            let files: Vec<(&str, PathBuf)> =
                files.iter().map(|(k, p)| (k.as_str(), p.clone())).collect();
            if files.is_empty() {
                self.problem(prefix, e.to_string());
            } else {
                self.file_problem(&files, &e);
            }
        }
        config
    }
}
