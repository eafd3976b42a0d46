//! The data path of an intercepted call, the same whichever face asked (DESIGN §2):
//!
//! ```text
//! decode (face) → intent
//!   status / authorize: credential → store (hit: answer; miss or stale: one coalesced backend call)
//!   login:              backend → normalise → store → answer + gateway token
//!   logout:             store.revoke → backend
//! → render the answer, or the one GatewayError mapping (face)
//! ```
//!
//! A credential is a backend session id or a gateway token. A token names its backend and
//! session itself (sealed, see [`crate::tokens`]); an id is sent, on a miss, to the backend that
//! recognises its form, and refused without any call when none does.

use std::borrow::Cow;
use std::sync::Arc;

use idbridge_session::{Backend, Session, UnixTime};

use crate::backend::{IdentityBackend, LoginCall};
use crate::endpoint::REQUEST_ID;
use crate::error::{GatewayError, LoginOutcome, Rejection};
use crate::face::{Answer, Intent, Issued, Login, Op, Request, unified_account};
use crate::reply::Reply;
use crate::runtime::Runtime;
use crate::store::{Fetch, Lookup};
use crate::tokens::{self, TokenRejection};

/// The longest credential looked at: far above any session id or gateway token.
const MAX_CREDENTIAL: usize = 4096;

/// What happened, for the access log and metrics.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Facts {
    pub backend: Option<Backend>,
    pub cache: Option<Lookup>,
    /// Which of the gateway's limits refused the call, if one did.
    pub throttled: Option<&'static str>,
}

/// What a presented credential names.
struct Named<'a> {
    id: Cow<'a, str>,
    /// Known from a gateway token; else found from the id's form on a miss.
    backend: Option<Backend>,
    /// The token itself, when that was the credential.
    token: Option<&'a str>,
}

// === impl Runtime ===

impl Runtime {
    /// Answers one intercepted call in `face`'s protocol.
    pub async fn handle(
        &self,
        face: usize,
        op: Op,
        req: &Request,
        now: UnixTime,
    ) -> (Reply, Facts) {
        let id: Arc<str> = Arc::from(req.request_id.as_deref().unwrap_or(""));
        REQUEST_ID
            .scope(id, async {
                let face = self.face(face);
                let mut facts = Facts::default();
                let reply = match face.decode(op, req, &self.client_limits) {
                    Err(e) => face.error(&e, None).with_outcome(e.outcome()),
                    Ok(intent) => match self.execute(&intent, req, now, &mut facts).await {
                        Ok(answer) => {
                            let outcome = answer.outcome();
                            face.render(&intent, answer, now).with_outcome(outcome)
                        }
                        Err(e) => self.refusal(face.error(&e, Some(&intent)), &e),
                    },
                };
                if let Some(reason) = facts.throttled {
                    self.metrics
                        .throttled
                        .with_label_values(&[face.name(), reason])
                        .inc();
                }
                (reply, facts)
            })
            .await
    }

    /// The session behind a credential, for forward-auth and protected apps: the one authorize
    /// decision.
    pub async fn authorize(
        &self,
        credential: Option<&str>,
        client: Option<&str>,
        request_id: &str,
        now: UnixTime,
        facts: &mut Facts,
    ) -> Result<Arc<Session>, GatewayError> {
        REQUEST_ID
            .scope(
                Arc::from(request_id),
                self.authorized(credential, client, now, facts),
            )
            .await
    }

    async fn authorized(
        &self,
        credential: Option<&str>,
        client: Option<&str>,
        now: UnixTime,
        facts: &mut Facts,
    ) -> Result<Arc<Session>, GatewayError> {
        let credential = credential.ok_or(GatewayError::NotLoggedIn(Rejection::Missing))?;
        self.lookup(credential, 0, client, now, facts)
            .await
            .map(|(s, _)| s)
    }

    async fn execute(
        &self,
        intent: &Intent,
        req: &Request,
        now: UnixTime,
        facts: &mut Facts,
    ) -> Result<Answer, GatewayError> {
        let missing = || GatewayError::NotLoggedIn(Rejection::Missing);
        match intent {
            Intent::Status { credential, count } => {
                let credential = credential.as_deref().ok_or_else(missing)?;
                let client = req.client_addr.as_deref();
                let upstream_count = count.unwrap_or(0);
                let (session, token) = self
                    .lookup(credential, upstream_count, client, now, facts)
                    .await?;
                // Only once the session is known to be real, so made-up ids keep no counter.
                self.check_count(session.id.expose(), *count, client, true)
                    .await?;
                Ok(Answer::Session {
                    session,
                    token: token.map(str::to_owned),
                })
            }
            Intent::Authorize { credential } => {
                let client = req.client_addr.as_deref();
                let session = self
                    .authorized(credential.as_deref(), client, now, facts)
                    .await?;
                Ok(Answer::Session {
                    session,
                    token: None,
                })
            }
            Intent::Logout { credential, count } => {
                let credential = credential.as_deref().ok_or_else(missing)?;
                let client = req.client_addr.as_deref();
                self.logout(credential, *count, client, facts).await?;
                Ok(Answer::LoggedOut)
            }
            Intent::Login(login) => self.login(login, req, now, facts).await,
            Intent::Forward { backend, revoke } => {
                facts.backend = Some(*backend);
                let backend = self.named(*backend)?;
                if let Some(id) = revoke {
                    self.store.revoke(id).await;
                }
                Ok(Answer::Forwarded(backend.forward(req).await?))
            }
        }
    }

    /// The session behind `presented`, and the token when that was the credential. `count` is a
    /// Net iD caller's `Count` (0 from other protocols).
    async fn lookup<'a>(
        &self,
        presented: &'a str,
        count: u64,
        client: Option<&str>,
        now: UnixTime,
        facts: &mut Facts,
    ) -> Result<(Arc<Session>, Option<&'a str>), GatewayError> {
        let named = self.name(presented).await?;
        let id = &*named.id;
        let fetch = || -> Fetch<'_> {
            Box::pin(async move {
                let backend = match named.backend {
                    Some(b) => self.named(b)?,
                    None => self
                        .backend_for(id)
                        .ok_or(GatewayError::NotLoggedIn(Rejection::Invalid))?,
                };
                self.spend_lookup(client).await?;
                backend.fetch(id, count, now).await
            })
        };
        let (found, how) = self.store.get_or_fetch(id, now, &fetch).await;
        facts.backend = match &found {
            Ok(session) => Some(session.backend),
            Err(_) => named
                .backend
                .or_else(|| self.backend_for(id).map(|b| b.name())),
        };
        if let Err(GatewayError::Throttled { .. }) = &found {
            facts.throttled = Some("lookup_address");
        }
        facts.cache = Some(how);
        self.metrics.lookup(how);
        found.map(|session| (session, named.token))
    }

    /// One backend lookup against the client's budget (`limits.lookups_per_address` in
    /// `limits.lookup_window`): a client cannot make the gateway ask the backends without end.
    async fn spend_lookup(&self, client: Option<&str>) -> Result<(), GatewayError> {
        let Some(addr) = client else { return Ok(()) };
        let key = format!("lookups:address:{addr}");
        let l = &self.config.limits;
        let (spent, left) = self.store.hits(&key).await;
        if spent >= l.lookups_per_address {
            return Err(GatewayError::Throttled {
                retry_after_secs: left.as_secs().max(1),
            });
        }
        self.store.hit(&key, l.lookup_window).await;
        Ok(())
    }

    /// A Net iD client's `Count` (`None` from other protocols) must rise strictly per session
    /// and client, as the portal requires: the gateway answers from its cache, so without this
    /// a captured call would replay forever. Clients are told apart by address, so two apps
    /// sharing a session each keep their own counter. With `create` false, a session this
    /// client has sent no count for is let through without one being kept.
    async fn check_count(
        &self,
        id: &str,
        count: Option<u64>,
        client: Option<&str>,
        create: bool,
    ) -> Result<(), GatewayError> {
        let Some(count) = count else { return Ok(()) };
        // The portal counts from 1: 0 is never above the last accepted count.
        if count == 0 {
            return Err(GatewayError::ReplayedCount);
        }
        let key = format!("{id}\0{}", client.unwrap_or_default());
        if self.store.advance_client_count(&key, count, create).await {
            Ok(())
        } else {
            Err(GatewayError::ReplayedCount)
        }
    }

    /// Logs `presented` out: locally first (so nothing in flight can bring it back), then at its
    /// backend. Each logout is an upstream call, so it spends from the client's lookup budget.
    async fn logout(
        &self,
        presented: &str,
        count: Option<u64>,
        client: Option<&str>,
        facts: &mut Facts,
    ) -> Result<(), GatewayError> {
        let named = self.name(presented).await?;
        let id = &*named.id;
        self.check_count(id, count, client, false).await?;
        if let Err(e) = self.spend_lookup(client).await {
            facts.throttled = Some("lookup_address");
            return Err(e);
        }
        let stored = self.store.revoke(id).await;
        let backend = match (named.backend, stored) {
            (Some(b), _) => self.named(b)?,
            (None, Some(s)) => self.named(s.backend)?,
            (None, None) => self
                .backend_for(id)
                .ok_or(GatewayError::NotLoggedIn(Rejection::Invalid))?,
        };
        facts.backend = Some(backend.name());
        // The session is refused here from now until it expires, whatever the backend says; a
        // backend that cannot be told is reported as what it is, not as a failed logout.
        backend
            .logout(id, count.unwrap_or(0))
            .await
            .map_err(|e| match e {
                GatewayError::Upstream(e) => GatewayError::LogoutIncomplete(e),
                e => e,
            })
    }

    /// Ends a session for an operator (the admin API): locally at once, then at its backend.
    pub async fn revoke(&self, session: &Session) -> Result<(), GatewayError> {
        let id = session.id.expose();
        self.store.revoke(id).await;
        self.named(session.backend)?.logout(id, 0).await
    }

    async fn login(
        &self,
        login: &Login,
        req: &Request,
        now: UnixTime,
        facts: &mut Facts,
    ) -> Result<Answer, GatewayError> {
        let (name, call, account) = match login {
            Login::Native { backend, account } => {
                (*backend, LoginCall::Native(req), account.clone())
            }
            Login::Unified(request) => (
                request.backend(),
                LoginCall::Unified {
                    request,
                    client_addr: req.client_addr.as_deref(),
                },
                unified_account(request),
            ),
        };
        facts.backend = Some(name);
        let backend = self.named(name)?;
        let limits = self.login_limits(req.client_addr.as_deref(), account.as_deref());
        for (reason, key, limit) in &limits {
            let (failures, left) = self.store.hits(key).await;
            if failures >= *limit {
                facts.throttled = Some(reason);
                return Err(GatewayError::Throttled {
                    retry_after_secs: left.as_secs().max(1),
                });
            }
        }
        let result = backend.login(call, now).await;
        let outcome = result.as_ref().map_or(LoginOutcome::Error, |r| r.outcome);
        if matches!(outcome, LoginOutcome::BadCredentials | LoginOutcome::Locked) {
            let window = self.config.limits.login_failure_window;
            for (_, key, _) in &limits {
                self.store.hit(key, window).await;
            }
        }
        self.metrics
            .logins
            .with_label_values(&[name.as_str(), outcome.as_str()])
            .inc();
        let result = result?;
        let session = match result.session {
            Some(s) if result.outcome == LoginOutcome::Success => self.store.insert(s, now).await,
            _ => None,
        };
        let token = match &session {
            Some(s) => Some(self.mint(s, now)?),
            None => None,
        };
        match (login, result.raw) {
            (Login::Native { .. }, Some(raw)) => Ok(Answer::NativeLogin {
                raw,
                outcome: result.outcome,
                token,
            }),
            _ if result.outcome == LoginOutcome::Challenged => match result.challenge {
                Some(challenge) => Ok(Answer::Challenge(challenge)),
                None => Err(GatewayError::LoginRefused(LoginOutcome::Error)),
            },
            _ => match (session, token) {
                (Some(session), Some(token)) => Ok(Answer::LoggedIn { session, token }),
                _ if result.outcome == LoginOutcome::Success => {
                    Err(GatewayError::NotLoggedIn(Rejection::NotFound))
                }
                _ => Err(GatewayError::LoginRefused(result.outcome)),
            },
        }
    }

    /// The failed-login counters a login from `client` for `account` is held to:
    /// `(reason, store key, limit)`.
    fn login_limits(
        &self,
        client: Option<&str>,
        account: Option<&str>,
    ) -> Vec<(&'static str, String, u64)> {
        let l = &self.config.limits;
        let mut out = Vec::new();
        if let Some(addr) = client {
            out.push((
                "login_address",
                format!("login-failures:address:{addr}"),
                l.login_failures_per_address,
            ));
        }
        if let Some(account) = account {
            out.push((
                "login_account",
                format!("login-failures:account:{account}"),
                l.login_failures_per_account,
            ));
        }
        out
    }

    /// An error reply, with `Retry-After` when the gateway throttled the call.
    fn refusal(&self, reply: Reply, e: &GatewayError) -> Reply {
        let reply = reply.with_outcome(e.outcome());
        match e {
            GatewayError::Throttled { retry_after_secs } => {
                reply.with_header("retry-after", retry_after_secs.to_string())
            }
            _ => reply,
        }
    }

    /// A gateway token for a session just logged in.
    fn mint(&self, session: &Session, now: UnixTime) -> Result<Issued, GatewayError> {
        let (token, expires_in) = self.tokens.mint(session, now).map_err(|e| {
            tracing::error!(error = %e, "minting a gateway token failed");
            GatewayError::Internal("could not issue a token")
        })?;
        self.metrics
            .tokens_issued
            .with_label_values(&[session.backend.as_str()])
            .inc();
        Ok(Issued { token, expires_in })
    }

    /// What a presented credential names: a backend session id as it is, or a gateway token,
    /// verified and opened. Tokens are counted by verification result.
    async fn name<'a>(&self, presented: &'a str) -> Result<Named<'a>, GatewayError> {
        // No session id or token is this long or holds anything but visible ASCII: such a value
        // goes nowhere, not even into the store.
        if presented.len() > MAX_CREDENTIAL || !presented.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(GatewayError::NotLoggedIn(Rejection::Invalid));
        }
        if !tokens::looks_like_jwt(presented) {
            return Ok(Named {
                id: Cow::Borrowed(presented),
                backend: None,
                token: None,
            });
        }
        let resolved = self.tokens.resolve(presented);
        let result = match &resolved {
            Ok(r) if self.store.is_revoked(&r.id).await => Err(Rejection::LoggedOut),
            Ok(_) => Ok(()),
            Err(_) => Err(Rejection::Invalid),
        };
        let label = match (&resolved, result) {
            (_, Ok(())) => "valid",
            (_, Err(Rejection::LoggedOut)) => "revoked",
            (Err(TokenRejection::Expired), _) => "expired",
            _ => "invalid",
        };
        self.metrics
            .tokens_verified
            .with_label_values(&[label])
            .inc();
        result.map_err(GatewayError::NotLoggedIn)?;
        let r = resolved.map_err(|_| GatewayError::NotLoggedIn(Rejection::Invalid))?;
        Ok(Named {
            id: Cow::Owned(r.id),
            backend: Some(r.backend),
            token: Some(presented),
        })
    }

    /// The configured backend called `name`. A token or session naming one no longer configured
    /// is not a session here.
    fn named(&self, name: Backend) -> Result<&Arc<dyn IdentityBackend>, GatewayError> {
        self.backend(name)
            .ok_or(GatewayError::NotLoggedIn(Rejection::Invalid))
    }
}
