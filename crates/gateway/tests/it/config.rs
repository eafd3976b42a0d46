//! Configuration layering and validation.

use std::collections::HashMap;
use std::io::Write;
use std::time::Duration;

use idbridge_gateway::backend::Kinds;
use idbridge_gateway::config::{Config, LogFormat, Sources, load, load_toml};

fn env(pairs: &[(&str, &str)]) -> Option<HashMap<String, String>> {
    Some(
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    )
}

fn toml_file(text: &str) -> tempfile::NamedTempFile {
    let mut f = tempfile::Builder::new().suffix(".toml").tempfile().unwrap();
    f.write_all(text.as_bytes()).unwrap();
    f
}

#[test]
fn defaults_are_the_demo_topology() {
    let c = Config::defaults().unwrap();
    assert_eq!(c.server.listen.unwrap().to_string(), "127.0.0.1:8080");
    assert_eq!(c.server.admin_listen.to_string(), "127.0.0.1:9090");
    let (enos, netid) = (c.backend("enos").unwrap(), c.backend("netid").unwrap());
    assert_eq!(enos.url.as_str(), "http://127.0.0.1:18081/");
    assert_eq!(enos.kind, "enos");
    assert_eq!(netid.url.as_str(), "http://127.0.0.1:18082/");
    assert_eq!(netid.option("soap_path"), "/portal/service.svc");
    assert_eq!(enos.option("logout_path"), "/enos-iam-service/v2.0/logout");
    assert_eq!(enos.timeouts.call, Duration::from_secs(5));
    assert_eq!(enos.timeouts.read, Duration::from_secs(30));
    assert_eq!(c.cache.revalidate_after, Duration::from_secs(60));
    assert_eq!(c.limits.max_body_bytes, 64 * 1024);
    assert_eq!(c.log.format, LogFormat::Text);
}

#[test]
fn file_then_environment_override_in_order() {
    let file = toml_file(
        "[server]\nlisten = \"127.0.0.1:7000\"\n[cache]\nrevalidate_after = \"5m\"\nmax_sessions = 10\n",
    );
    let sources = Sources {
        default_file: None,
        file: Some(file.path().to_path_buf()),
        env: env(&[
            ("IDBRIDGE__CACHE__MAX_SESSIONS", "42"),
            ("IDBRIDGE__LOG__FORMAT", "json"),
        ]),
    };
    let c = load(&sources).unwrap();
    assert_eq!(c.server.listen.unwrap().to_string(), "127.0.0.1:7000");
    assert_eq!(c.cache.revalidate_after, Duration::from_secs(300));
    assert_eq!(c.cache.max_sessions, 42, "environment wins over the file");
    assert_eq!(c.log.format, LogFormat::Json);
}

#[test]
fn proxy_threads_default_to_one_per_core_without_stealing() {
    let c = Config::defaults().unwrap();
    assert_eq!((c.server.threads, c.server.work_stealing), (0, false));
    let sources = |pairs: &[(&str, &str)]| Sources {
        default_file: None,
        file: None,
        env: env(pairs),
    };
    let c = load(&sources(&[
        ("IDBRIDGE__SERVER__THREADS", "3"),
        ("IDBRIDGE__SERVER__WORK_STEALING", "true"),
    ]))
    .unwrap();
    assert_eq!((c.server.threads, c.server.work_stealing), (3, true));
    let err = load(&sources(&[
        ("IDBRIDGE__SERVER__THREADS", "many"),
        ("IDBRIDGE__SERVER__WORK_STEALING", "sometimes"),
    ]))
    .unwrap_err();
    let keys: Vec<&str> = err.problems.iter().map(|p| p.key.as_str()).collect();
    assert_eq!(keys, ["server.threads", "server.work_stealing"], "{err}");
}

#[test]
fn every_problem_is_reported_with_its_key() {
    let file = toml_file(
        r#"
[server]
listen = "not-an-address"
[backends.enos]
url = "ftp://example.org"
timeout = "soon"
[backends.netid]
url = "http://127.0.0.1:18082/some/path"
soap_path = "portal"
[cache]
revalidate_afer = "10s"
max_sessions = 0
[log]
format = "xml"
"#,
    );
    let sources = Sources {
        default_file: None,
        file: Some(file.path().into()),
        env: env(&[]),
    };
    let err = load(&sources).unwrap_err();
    let keys: Vec<&str> = err.problems.iter().map(|p| p.key.as_str()).collect();
    for expected in [
        "server.listen",
        "backends.enos.url",
        "backends.enos.timeout",
        "backends.netid.url",
        "backends.netid.soap_path",
        "cache.revalidate_afer",
        "cache.max_sessions",
        "log.format",
    ] {
        assert!(
            keys.contains(&expected),
            "missing problem for {expected}: {err}"
        );
    }
    let text = err.to_string();
    assert!(text.starts_with("8 configuration problems:"), "{text}");
    assert!(
        text.contains("cache.revalidate_afer: unknown key"),
        "{text}"
    );
}

#[test]
fn toml_text_loads_as_the_given_file_would() {
    let text = "[server]\nlisten = \"127.0.0.1:7000\"\n[cache]\nmax_sessions = 10\n";
    let c = load_toml(text, &Kinds::default()).unwrap();
    let file = toml_file(text);
    let sources = Sources {
        default_file: None,
        file: Some(file.path().into()),
        env: env(&[]),
    };
    assert_eq!(c, load(&sources).unwrap());
    assert_eq!(c.server.listen.unwrap().to_string(), "127.0.0.1:7000");

    let err = load_toml("[cache]\nrevalidate_afer = 1\n", &Kinds::default()).unwrap_err();
    assert_eq!(err.problems[0].key, "cache.revalidate_afer");
    let err = load_toml("[cache\n", &Kinds::default()).unwrap_err();
    assert_eq!(err.problems[0].key, "<sources>");
}

#[test]
fn a_given_file_must_exist() {
    let sources = Sources {
        default_file: None,
        file: Some("/nonexistent/idbridge.toml".into()),
        env: env(&[]),
    };
    let err = load(&sources).unwrap_err();
    assert_eq!(err.problems.len(), 1);
    assert_eq!(err.problems[0].message, "file not found");
}

#[test]
fn the_default_file_is_optional_but_read_when_present() {
    let missing = Sources {
        default_file: Some("/nonexistent.toml".into()),
        file: None,
        env: env(&[]),
    };
    assert!(load(&missing).is_ok());
    let present = toml_file("[limits]\nmax_xml_depth = 16\n");
    let sources = Sources {
        default_file: Some(present.path().into()),
        file: None,
        env: env(&[]),
    };
    assert_eq!(load(&sources).unwrap().limits.max_xml_depth, 16);
}

#[test]
fn listeners_must_differ() {
    let sources = Sources {
        default_file: None,
        file: None,
        env: env(&[("IDBRIDGE__SERVER__ADMIN_LISTEN", "127.0.0.1:8080")]),
    };
    let err = load(&sources).unwrap_err();
    assert_eq!(err.problems[0].key, "server.admin_listen");

    let ephemeral = env(&[
        ("IDBRIDGE__SERVER__LISTEN", "127.0.0.1:0"),
        ("IDBRIDGE__SERVER__ADMIN_LISTEN", "127.0.0.1:0"),
    ]);
    let sources = Sources {
        default_file: None,
        file: None,
        env: ephemeral,
    };
    assert!(
        load(&sources).is_ok(),
        "two port-0 listeners get different ports"
    );
}

#[test]
fn env_names_follow_the_key_path() {
    assert_eq!(
        Config::env_name("server.admin_listen"),
        "IDBRIDGE__SERVER__ADMIN_LISTEN"
    );
    assert_eq!(
        Config::env_name("backends.enos.url"),
        "IDBRIDGE__BACKENDS__ENOS__URL"
    );
}

#[test]
fn tls_files_are_checked_and_every_problem_reported() {
    let (a, b) = (crate::common::pki(), crate::common::pki());
    let garbage = toml_file("not a certificate\n");
    let path = |dir: &tempfile::TempDir, f: &str| dir.path().join(f).display().to_string();
    let file = toml_file(&format!(
        r#"
[server.tls]
listen = "127.0.0.1:0"
cert_file = "{cert}"
key_file = "{other_key}"
client_ca_file = "{garbage}"
client_auth = "sometimes"
[backends.enos]
url = "https://127.0.0.1:9"
ca_file = "/nonexistent/ca.pem"
client_cert_file = "{cert}"
[backends.netid]
url = "http://127.0.0.1:9"
sni = "portal.example.com"
"#,
        cert = path(&a, "server.pem"),
        other_key = path(&b, "server-key.pem"),
        garbage = garbage.path().display(),
    ));
    let sources = Sources {
        default_file: None,
        file: Some(file.path().into()),
        env: env(&[]),
    };
    let err = load(&sources).unwrap_err();
    let text = err.to_string();
    for (key, says) in [
        ("server.tls.key_file", "does not match the certificate"),
        ("server.tls.client_ca_file", "no PEM certificate"),
        ("server.tls.client_auth", "not one of: required, optional"),
        (
            "backends.enos.client_key_file",
            "required with client_cert_file",
        ),
        ("backends.enos.ca_file", "No such file"),
        ("backends.netid.sni", "only used with an https:// url"),
    ] {
        assert!(
            err.problems
                .iter()
                .any(|p| p.key == key && p.message.contains(says)),
            "{key}: {says}\n{text}"
        );
    }
    assert!(text.starts_with("6 configuration problems:"), "{text}");

    // And the good files load, https upstreams included.
    let file = toml_file(&format!(
        "[server.tls]\nlisten = \"127.0.0.1:0\"\ncert_file = \"{}\"\nkey_file = \"{}\"\n\
         [backends.enos]\nurl = \"https://localhost:9\"\nca_file = \"{}\"\n",
        path(&a, "server.pem"),
        path(&a, "server-key.pem"),
        path(&a, "ca.pem"),
    ));
    let sources = Sources {
        default_file: None,
        file: Some(file.path().into()),
        env: env(&[]),
    };
    let c = load(&sources).unwrap();
    assert!(c.server.tls.is_some());
    assert_eq!(c.backend("enos").unwrap().url.scheme(), "https");
}

#[test]
fn the_store_is_local_by_default_and_a_bad_redis_url_never_shows_its_password() {
    let config = load(&Sources::defaults_only()).unwrap();
    assert_eq!(config.store.redis_url, None);
    assert_eq!(config.store.key_prefix, "idbridge:");
    assert_eq!(config.store.timeout, Duration::from_millis(250));

    let sources = Sources {
        default_file: None,
        file: None,
        env: env(&[
            ("IDBRIDGE__STORE__REDIS_URL", "redis://user:hunter2@"),
            ("IDBRIDGE__STORE__KEY_PREFIX", "a {tag}"),
            ("IDBRIDGE__STORE__TIMEOUT", "1m"),
            ("IDBRIDGE__STORE__CA_FILE", "/nonexistent/ca.pem"),
        ]),
    };
    let err = load(&sources).unwrap_err();
    let text = err.to_string();
    let keys: Vec<&str> = err.problems.iter().map(|p| p.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "store.redis_url",
            "store.key_prefix",
            "store.timeout",
            "store.ca_file",
            "store.ca_file"
        ],
        "{text}"
    );
    assert!(!text.contains("hunter2"), "{text}");

    let sources = Sources {
        default_file: None,
        file: None,
        env: env(&[(
            "IDBRIDGE__STORE__REDIS_URL",
            "redis://user:hunter2@127.0.0.1:6379/0",
        )]),
    };
    let config = load(&sources).unwrap();
    assert!(!format!("{config:?}").contains("hunter2"));
}
