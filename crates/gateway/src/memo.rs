//! Answers rendered once per session and face (`cache.max_rendered_bytes`).
//!
//! A cached session is immutable: a refresh stores a new `Arc<Session>`. So what a face renders
//! for one `Arc<Session>` stays right for as long as that `Arc` lives, except for the values a
//! call or the clock changes (Net iD's `Count` and `IdleExpiration`), which a face leaves as holes
//! between the parts it keeps. A cache hit then costs a lookup here and a copy, not a render.
//!
//! Entries are keyed by the session's address and the face. Each holds a `Weak` to its session,
//! which keeps that address from being reused while the entry exists, so an address names one
//! session for an entry's whole life. Memory is bounded by bytes (the parts, plus the session
//! allocation a `Weak` pins once the session itself is gone), not by entries.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Weak};

use bytes::Bytes;
use idbridge_session::Session;

/// One face's rendering of one session: byte runs, with the face's per-call values between them.
pub type Parts = Arc<[Bytes]>;

/// A face's handle on the shared memo. Cheap to clone.
#[derive(Clone, Default)]
pub struct Memo {
    shared: Option<Arc<Shared>>,
    face: u32,
}

struct Shared {
    cache: moka::sync::Cache<(usize, u32), Kept>,
    faces: AtomicU32,
}

#[derive(Clone)]
struct Kept {
    /// Pins the session's address; never upgraded.
    _session: Weak<Session>,
    parts: Parts,
}

/// What an entry costs beyond its parts: the pinned session allocation, the key and moka's own.
const OVERHEAD: usize = std::mem::size_of::<Session>() + 160;

impl std::fmt::Debug for Memo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Memo")
            .field("enabled", &self.shared.is_some())
            .field("face", &self.face)
            .finish()
    }
}

// === impl Memo ===

impl Memo {
    /// A memo of at most `max_bytes`; none at all for 0 (every answer rendered whole).
    pub fn new(max_bytes: u64) -> Self {
        let shared = (max_bytes > 0).then(|| {
            Arc::new(Shared {
                cache: moka::sync::Cache::builder()
                    .max_capacity(max_bytes)
                    .weigher(|_, kept: &Kept| {
                        let bytes = kept.parts.iter().map(Bytes::len).sum::<usize>() + OVERHEAD;
                        u32::try_from(bytes).unwrap_or(u32::MAX)
                    })
                    .build(),
                faces: AtomicU32::new(0),
            })
        });
        Self { shared, face: 0 }
    }

    /// A handle for one more face: its entries never meet another face's.
    pub fn for_face(&self) -> Self {
        Self {
            shared: self.shared.clone(),
            face: self
                .shared
                .as_ref()
                .map_or(0, |s| s.faces.fetch_add(1, Ordering::Relaxed)),
        }
    }

    /// This face's parts for `session`: kept ones, or `render`'s, which are then kept. `None`
    /// when `render` has none (the face then renders the answer whole).
    pub fn get_or_render(
        &self,
        session: &Arc<Session>,
        render: impl FnOnce() -> Option<Vec<Bytes>>,
    ) -> Option<Parts> {
        let Some(shared) = &self.shared else {
            return render().map(Parts::from);
        };
        let key = (Arc::as_ptr(session) as usize, self.face);
        if let Some(kept) = shared.cache.get(&key) {
            return Some(kept.parts);
        }
        let parts = Parts::from(render()?);
        shared.cache.insert(
            key,
            Kept {
                _session: Arc::downgrade(session),
                parts: parts.clone(),
            },
        );
        Some(parts)
    }

    #[cfg(test)]
    fn len(&self) -> u64 {
        self.shared.as_ref().map_or(0, |s| {
            s.cache.run_pending_tasks();
            s.cache.entry_count()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use idbridge_session::{Backend, SessionId, UnixTime};
    use std::cell::Cell;
    use std::time::Duration;

    fn session(id: &str) -> Arc<Session> {
        Arc::new(Session::new(
            Backend::ENOS,
            SessionId::new(id),
            UnixTime::from_secs(0),
            Duration::from_secs(60),
        ))
    }

    #[test]
    fn renders_once_per_session_and_face() {
        let memo = Memo::new(1 << 20);
        let (a, b) = (memo.for_face(), memo.for_face());
        let renders = Cell::new(0);
        let render = |text: &'static str| {
            renders.set(renders.get() + 1);
            Some(vec![Bytes::from_static(text.as_bytes())])
        };
        let s = session("one");
        for _ in 0..3 {
            assert_eq!(&a.get_or_render(&s, || render("a")).unwrap()[..], ["a"]);
            assert_eq!(&b.get_or_render(&s, || render("b")).unwrap()[..], ["b"]);
        }
        assert_eq!(renders.get(), 2);
        // A refreshed session is a new Arc: rendered again, though equal in every field.
        let refreshed = Arc::new((*s).clone());
        a.get_or_render(&refreshed, || render("a"));
        assert_eq!(renders.get(), 3);
    }

    #[test]
    fn nothing_kept_without_parts_or_budget() {
        let memo = Memo::new(1 << 20).for_face();
        let s = session("one");
        assert!(memo.get_or_render(&s, || None).is_none());
        assert_eq!(memo.len(), 0);
        let off = Memo::new(0).for_face();
        let renders = Cell::new(0);
        for _ in 0..2 {
            off.get_or_render(&s, || {
                renders.set(renders.get() + 1);
                Some(vec![Bytes::new()])
            });
        }
        assert_eq!(renders.get(), 2);
    }

    #[test]
    fn memory_stays_within_its_bytes() {
        let memo = Memo::new(64 * 1024).for_face();
        let body = Bytes::from(vec![b'x'; 1024]);
        let sessions: Vec<_> = (0..1000).map(|i| session(&i.to_string())).collect();
        for s in &sessions {
            memo.get_or_render(s, || Some(vec![body.clone()]));
        }
        let per_entry = (1024 + OVERHEAD) as u64;
        assert!(
            memo.len() * per_entry <= 64 * 1024,
            "{} entries",
            memo.len()
        );
        assert!(memo.len() > 0);
    }
}
