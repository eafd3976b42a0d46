//! idbridge-protocol owns the wire codecs of idbridge: EnOS IAM JSON ([`enos`]) and Net iD
//! Portal REST/JSON and SOAP 1.1 ([`netid`]), and the mappings between each protocol and the
//! normalised [`Session`](idbridge_session::Session).
//!
//! The gateway uses it to decode intercepted client requests, to turn upstream responses into
//! sessions or typed backend errors, and to render one session in whichever protocol a caller
//! speaks. Everything here is pure: no I/O, no clock (the current time is a parameter).
//!
//! Every decoder takes the raw body and a [`Limits`], checks the size before parsing, bounds
//! nesting, and returns a [`DecodeError`] on any input, however hostile; none panics. Error
//! messages never quote a value from the input, so they are safe to return to the client.
//!
//! # The bridge: what each field becomes in the other backend's shape
//!
//! A session is rendered in the other backend's protocol by one rule: say what the source said,
//! derive what follows from it, and leave the rest `null` (EnOS) or absent (Net iD) rather than
//! make it up. Data of one backend with no home in the other rides along in EnOS `user.extra`
//! (`netid.*` keys), so a Net iD session read through EnOS keeps it.
//!
//! | meaning | EnOS Session struct | Net iD GetLoginStatus | EnOS → Net iD | Net iD → EnOS |
//! | --- | --- | --- | --- | --- |
//! | the session's id | `id` | the caller's `SessionId` (not echoed) | — | `id` only if it has EnOS's `IAM_S_` form, else `null`; to a gateway token's holder, the token (the gateway's EnOS face) |
//! | user id, name | `user.id`, `user.name` | `Id`, `Name` | as is | as is |
//! | email, phone | `user.email`, `user.phone` | — | not sent | `null` |
//! | user type | `user.type` 0 user, 1 owner, 2 admin | the `Admin` usage | 1 or 2 → `UsageList` `[Admin]`; 0 → `[]` | `Admin` listed → 2, else 0 |
//! | how the user logged in | `user.authType` 0 EnOS account, 1 LDAP | certificate (always) | not sent | `null` (EnOS has no code for a certificate) |
//! | working organisation | `workingOrganization` `{id, name, domain}` | `OrganizationName` | its `name` | `name`; `id` from the `OrganizationList` entry of that name, else `null`; `domain` `null` |
//! | home organisation | `residentOrganization` | — | added to `OrganizationList` when not the working one | `null` |
//! | organisations, usages | — | `OrganizationList`, `UsageList` | see above | `user.extra` `netid.OrganizationList`, `netid.UsageList` |
//! | image, task count | — | `ImageId`, `TaskCounter` | absent | `user.extra` `netid.ImageId`, `netid.TaskCounter` |
//! | login time | `createTime` (epoch s) | `DateTime` (`2023-02-22 07:14:03 UTC`) | converted | converted |
//! | expiry | `refreshTime` + `expires` (lifetime from the last refresh) | `IdleExpiration` (idle seconds left) | seconds left until the earlier of idle and absolute expiry | `refreshTime` = last confirmation, `expires` = the idle time then granted |
//! | logged out | envelope `status` 30401 | `IsLoggedIn` False, `Status` InvalidSession | the other's form | the other's form |
//! | LDAP link | only in the Log In request (`linkName`); the session keeps it from the login the gateway saw | — | not sent | — |
//!
//! EnOS-only user keys (`createdAt`, `phoneVerified`, …) come back as EnOS sent them for an EnOS
//! session and with neutral values (`null`, `false`, `""`, `0`) for a Net iD one, so the key set
//! is always the vendor sample's. The LDAP link is not part of the session EnOS returns: the
//! gateway keeps it in the session from the Log In it intercepted (shared with every replica),
//! and shows it on no face (it names internal infrastructure).

mod error;
mod json;
mod limits;

pub mod enos;
pub mod netid;
pub mod unified;

pub use error::DecodeError;
pub use limits::Limits;
