//! The simulators' directory: the accounts, users, organisations and certificates they know.
//!
//! Parse, then validate (every problem reported at once), then serve. The file format is JSON with
//! camelCase keys; `config/demo/directory.json` is the demo and the reference example:
//!
//! ```text
//! {
//!   "enos": {
//!     "organizations": [ { "id", "name", "domain" (string|null), "description"? } ],
//!     "ldapLinks":     [ { "name", "description"? } ],
//!     "accounts": [ {
//!       "note"?: free text (documentation only),
//!       "principal", "credentials",           // the Log In request's account name and password
//!       "authType": 0 (EnOS) | 1 (LDAP),
//!       "linkName": the LDAP link (required for authType 1, absent for 0),
//!       "state"?: 0 enabled | 1 disabled (30511),
//!       "passwordExpired"?: bool (30410),
//!       "user": { … },                        // verbatim: the Log In response's `user`
//!       "sessionInfoUserExtra"?: { … },       // keys session/info's `user` has in addition
//!       "residentOrganization": { "domain", "name", "id" },   // verbatim into the session
//!       "workingOrganization":  { "domain", "name", "id" }
//!     } ]
//!   },
//!   "netid": {
//!     "serverCertificate": base64 DER,        // the Login response's `Certificate`
//!     "users": [ {
//!       "note"?, "subjectCn", "subjectO"?,     // matched against the login certificate's subject
//!                                             // (CN always, O only when given)
//!       "id", "imageId", "name", "organizationName", "taskCounter",
//!       "usageList":        [ { "presentationInfo", "activityList"?: [ activity ] } ],
//!       "organizationList": [ { "id", "presentationInfo", "additionalInfo"?, "activityList"? } ]
//!                                             // activity: { "method", "type", "id" }
//!     } ]
//!   }
//! }
//! ```
//!
//! The EnOS `user` and organisation objects are kept as raw JSON on purpose: they are answered
//! exactly as written, so the demo can carry the vendor samples' data (nulls, odd number types and
//! all) and a test can compare key sets with the samples. The account's own `state`,
//! `passwordExpired`, `authType` and `linkName` drive behaviour; the `user` object is not
//! consulted.

use std::collections::HashSet;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::SimError;

/// The shipped demo directory, embedded so the demo runs from any working directory.
const DEMO_JSON: &str = include_str!("../../../config/demo/directory.json");

/// Everything both simulators know. See the module docs for the file format.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Directory {
    #[serde(default)]
    pub enos: EnosDirectory,
    #[serde(default)]
    pub netid: NetIdDirectory,
}

/// The EnOS IAM part of the directory.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EnosDirectory {
    #[serde(default)]
    pub organizations: Vec<Organization>,
    #[serde(default)]
    pub ldap_links: Vec<LdapLink>,
    #[serde(default)]
    pub accounts: Vec<EnosAccount>,
}

/// An organisation, as `organization/info` answers it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Organization {
    pub id: String,
    pub name: String,
    pub domain: Option<String>,
    #[serde(default)]
    pub description: String,
}

/// An LDAP link (the Log In request's `linkName`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LdapLink {
    pub name: String,
    #[serde(default)]
    pub description: String,
}

/// One EnOS account.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EnosAccount {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub principal: String,
    pub credentials: String,
    pub auth_type: u8,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link_name: Option<String>,
    #[serde(default)]
    pub state: u8,
    #[serde(default)]
    pub password_expired: bool,
    pub user: Map<String, Value>,
    #[serde(default)]
    pub session_info_user_extra: Map<String, Value>,
    pub resident_organization: Map<String, Value>,
    pub working_organization: Map<String, Value>,
}

/// The Net iD Portal part of the directory.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NetIdDirectory {
    #[serde(default)]
    pub server_certificate: String,
    #[serde(default)]
    pub users: Vec<NetIdUser>,
}

/// One Net iD user: who a login certificate maps to, and what GetLoginStatus answers for them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NetIdUser {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub subject_cn: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject_o: Option<String>,
    pub id: String,
    pub image_id: String,
    pub name: String,
    pub organization_name: String,
    #[serde(default)]
    pub task_counter: u64,
    #[serde(default)]
    pub usage_list: Vec<Usage>,
    #[serde(default)]
    pub organization_list: Vec<OrganizationItem>,
}

/// A `UsageList` item.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Usage {
    pub presentation_info: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activity_list: Option<Vec<Activity>>,
}

/// An `OrganizationList` item.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OrganizationItem {
    pub id: String,
    pub presentation_info: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub additional_info: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activity_list: Option<Vec<Activity>>,
}

/// An `ActivityList` item.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Activity {
    pub method: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub id: String,
}

// === impl Directory ===

impl Directory {
    /// The shipped demo directory (`config/demo/directory.json`, embedded at build time).
    ///
    /// The embedded file is checked by this crate's tests, so the fallback below never happens in a
    /// build that passed them; it exists because a constructor used by `Default` cannot fail and
    /// must not panic.
    pub fn demo() -> Self {
        Self::from_json(DEMO_JSON).unwrap_or_else(|e| {
            tracing::error!(error = %e, "the embedded demo directory is invalid; using an empty one");
            Self::default()
        })
    }

    /// Reads and validates a directory file.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, SimError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| SimError::ReadDirectory {
            path: path.to_owned(),
            source,
        })?;
        Self::from_json(&text)
    }

    /// Parses and validates a directory from JSON text.
    pub fn from_json(text: &str) -> Result<Self, SimError> {
        let directory: Self = serde_json::from_str(text)?;
        directory.validate()?;
        Ok(directory)
    }

    /// Checks the directory is consistent; lists every problem found.
    pub fn validate(&self) -> Result<(), SimError> {
        let mut problems = Vec::new();
        self.enos.check(&mut problems);
        self.netid.check(&mut problems);
        if problems.is_empty() {
            Ok(())
        } else {
            Err(SimError::InvalidDirectory(problems))
        }
    }
}

// === impl EnosDirectory ===

impl EnosDirectory {
    /// The account a Log In names: `link` is `None` for authType 0.
    pub fn account(
        &self,
        auth_type: u8,
        link: Option<&str>,
        principal: &str,
    ) -> Option<&EnosAccount> {
        self.accounts
            .get(self.account_index(auth_type, link, principal)?)
    }

    /// Like [`EnosDirectory::account`], as an index into `accounts` (what a session remembers).
    pub(crate) fn account_index(
        &self,
        auth_type: u8,
        link: Option<&str>,
        principal: &str,
    ) -> Option<usize> {
        self.accounts.iter().position(|a| {
            a.auth_type == auth_type && a.link_name.as_deref() == link && a.principal == principal
        })
    }

    pub fn ldap_link(&self, name: &str) -> Option<&LdapLink> {
        self.ldap_links.iter().find(|l| l.name == name)
    }

    pub fn organization(&self, id: &str) -> Option<&Organization> {
        self.organizations.iter().find(|o| o.id == id)
    }

    fn check(&self, problems: &mut Vec<String>) {
        let mut ids = HashSet::new();
        for org in &self.organizations {
            if !ids.insert(org.id.as_str()) {
                problems.push(format!("enos: organisation id {:?} appears twice", org.id));
            }
        }
        let mut links = HashSet::new();
        for link in &self.ldap_links {
            if !links.insert(link.name.as_str()) {
                problems.push(format!("enos: LDAP link {:?} appears twice", link.name));
            }
        }
        let mut accounts = HashSet::new();
        for a in &self.accounts {
            let who = format!("enos account {:?}", a.principal);
            match (a.auth_type, a.link_name.as_deref()) {
                (0, None) => {}
                (0, Some(_)) => problems.push(format!("{who}: authType 0 takes no linkName")),
                (1, Some(link)) if links.contains(link) => {}
                (1, Some(link)) => {
                    problems.push(format!("{who}: linkName {link:?} is not an LDAP link"));
                }
                (1, None) => problems.push(format!("{who}: authType 1 needs a linkName")),
                (other, _) => problems.push(format!("{who}: authType {other} is not 0 or 1")),
            }
            if a.state > 1 {
                problems.push(format!("{who}: state {} is not 0 or 1", a.state));
            }
            if a.principal.is_empty() {
                problems.push("enos: an account has an empty principal".to_owned());
            }
            if !a.user.get("id").is_some_and(Value::is_string) {
                problems.push(format!("{who}: user has no string id"));
            }
            if !accounts.insert((a.auth_type, a.link_name.as_deref(), a.principal.as_str())) {
                problems.push(format!("{who} appears twice"));
            }
        }
    }
}

// === impl NetIdDirectory ===

impl NetIdDirectory {
    /// The user a certificate subject maps to: CN must match, and O too when the entry names one.
    pub fn user(&self, cn: &str, o: Option<&str>) -> Option<&NetIdUser> {
        self.users.get(self.user_index(cn, o)?)
    }

    /// Like [`NetIdDirectory::user`], as an index into `users` (what a session remembers).
    pub(crate) fn user_index(&self, cn: &str, o: Option<&str>) -> Option<usize> {
        self.users.iter().position(|u| {
            u.subject_cn == cn && u.subject_o.as_deref().is_none_or(|want| Some(want) == o)
        })
    }

    fn check(&self, problems: &mut Vec<String>) {
        if self.server_certificate.trim().is_empty() {
            if !self.users.is_empty() {
                problems.push("netid: users need a serverCertificate to log in with".to_owned());
            }
        } else if let Err(e) = crate::netid::cert::Subject::from_text(&self.server_certificate) {
            problems.push(format!("netid: serverCertificate: {e}"));
        }
        let mut subjects = HashSet::new();
        for u in &self.users {
            if u.subject_cn.is_empty() {
                problems.push(format!("netid user {:?}: empty subjectCn", u.name));
            }
            if !subjects.insert((u.subject_cn.as_str(), u.subject_o.as_deref())) {
                problems.push(format!(
                    "netid user {:?}: subject appears twice",
                    u.subject_cn
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_demo_directory_is_valid() {
        let demo = Directory::from_json(DEMO_JSON).unwrap();
        assert_eq!(demo, Directory::demo());
        assert!(demo.enos.account(0, None, "portal_test01").is_some());
        assert!(
            demo.enos
                .account(1, Some("corp-ldap"), "ldap_user01")
                .is_some()
        );
        assert!(demo.enos.account(0, None, "ldap_user01").is_none());
        assert!(demo.netid.user("John Doe", Some("Contoso Ltd")).is_some());
        assert!(demo.netid.user("John Doe", Some("Other Corp")).is_none());
        assert!(demo.netid.user("John Doe", None).is_none());
        // make-certs.sh keeps these two equal; the Login answer relies on it.
        let server = include_str!("../../../config/demo/netid-server.cer");
        assert_eq!(demo.netid.server_certificate, server.trim());
    }

    #[test]
    fn validation_reports_every_problem_at_once() {
        let text = r#"{
          "enos": {
            "ldapLinks": [{"name": "a"}, {"name": "a"}],
            "accounts": [
              {"principal": "x", "credentials": "", "authType": 1, "linkName": "b", "user": {},
               "residentOrganization": {}, "workingOrganization": {}},
              {"principal": "y", "credentials": "", "authType": 7, "state": 3, "user": {"id": "u"},
               "residentOrganization": {}, "workingOrganization": {}}
            ]
          },
          "netid": {"serverCertificate": "not base64!", "users": []}
        }"#;
        let Err(SimError::InvalidDirectory(problems)) = Directory::from_json(text) else {
            panic!("expected an invalid directory");
        };
        assert_eq!(problems.len(), 6, "{problems:#?}");
    }

    #[test]
    fn unknown_keys_are_rejected() {
        assert!(matches!(
            Directory::from_json(r#"{"enos": {"acounts": []}}"#),
            Err(SimError::ParseDirectory(_))
        ));
    }

    #[test]
    fn load_reports_the_missing_file() {
        let err = Directory::load("/nonexistent/directory.json").unwrap_err();
        assert!(matches!(err, SimError::ReadDirectory { .. }), "{err}");
    }
}
