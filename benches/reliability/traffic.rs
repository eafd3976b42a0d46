//! The load: workers that each own a few sessions, log them in, ask for their status on every
//! face, log them out, pass calls through and (in the soak) send hostile requests, at a steady
//! rate, judging every answer against what the backends hold (see [`crate::judge`]).
//!
//! Requests go to the replicas at random, as a balancer without stickiness would send them. A
//! request that finds nothing listening (a crashed replica) is sent to the next replica instead,
//! as a balancer does on a refused connection; those are counted as fail-overs, not failures.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use idbridge_protocol::netid::proof::ClientKey;
use parking_lot::Mutex;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use crate::calls::{self, Hostile, Kind, Request, Sent};
use crate::judge::{self, Answer, Backend, FACES, Face, Outcome};
use crate::record::Recorder;

/// How many incidents (wrong answers) the report lists in full.
const INCIDENTS: usize = 20;

/// The shares of the operations; the rest are status questions.
#[derive(Clone, Copy, Debug)]
pub struct Mix {
    /// A session logged out (and a new one logged in in its place).
    pub churn: f64,
    pub pass_through: f64,
    pub hostile: f64,
}

/// Everything the workers share.
#[derive(Debug)]
pub struct World {
    pub http: reqwest::Client,
    /// The replicas' base URLs; they keep their addresses across restarts.
    pub bases: Vec<String>,
    /// Per backend, how many times its simulator has been crashed (and its sessions lost).
    pub epochs: [AtomicU64; 2],
    pub certificate: String,
    /// The certificate's private key: a Net iD login's step 2.
    pub key: Arc<ClientKey>,
    pub mix: Mix,
    pub hostile: Vec<Hostile>,
    pub recorder: Recorder,
    pub stop: AtomicBool,
    pub failovers: AtomicU64,
    /// Sessions logged in so far.
    pub logins: AtomicU64,
    /// The sessions held now, for the sweeps.
    pub held: Mutex<HashMap<u64, Held>>,
    pub incidents: Mutex<Vec<String>>,
    next_id: AtomicU64,
}

/// A session as the sweeps see it.
#[derive(Clone, Debug)]
pub struct Held {
    pub kind: Kind,
    pub credential: String,
    pub epoch: u64,
    /// A logout of it has been sent: it is no longer known to be valid.
    pub ending: bool,
}

/// A session a worker owns: only that worker asks about it, so its Net iD `Count` rises in
/// order.
#[derive(Debug)]
struct Sess {
    id: u64,
    kind: Kind,
    credential: String,
    epoch: u64,
    count: u64,
}

impl World {
    pub fn new(
        http: reqwest::Client,
        bases: Vec<String>,
        certificate: String,
        key: Arc<ClientKey>,
        mix: Mix,
        hostile: Vec<Hostile>,
    ) -> Self {
        Self {
            http,
            bases,
            epochs: [AtomicU64::new(0), AtomicU64::new(0)],
            certificate,
            key,
            mix,
            hostile,
            recorder: Recorder::new(),
            stop: AtomicBool::new(false),
            failovers: AtomicU64::new(0),
            logins: AtomicU64::new(0),
            held: Mutex::default(),
            incidents: Mutex::default(),
            next_id: AtomicU64::new(0),
        }
    }

    pub fn epoch(&self, backend: Backend) -> u64 {
        self.epochs[backend as usize].load(Ordering::SeqCst)
    }

    /// Sends `req` to replica `replica`, or on to the next one if nothing listens there.
    /// Returns the answer and the replica that gave it.
    async fn send(&self, replica: usize, req: &Request) -> (Sent, usize) {
        let n = self.bases.len();
        for i in 0..n {
            let r = (replica + i) % n;
            match calls::send(&self.http, &self.bases[r], req).await {
                Sent::Refused => {
                    self.failovers.fetch_add(1, Ordering::Relaxed);
                }
                sent => return (sent, r),
            }
        }
        (Sent::Refused, replica)
    }

    fn incident(&self, what: String) {
        let mut incidents = self.incidents.lock();
        if incidents.len() < INCIDENTS {
            eprintln!("incident: {what}");
            incidents.push(what);
        }
    }
}

/// The answer a request got, read by `read`; transport failures become error classes.
fn answer_of(sent: &Sent, read: impl FnOnce(u16, &[u8]) -> Answer) -> Answer {
    match sent {
        Sent::Answered { status, body } => read(*status, body),
        Sent::Refused => Answer::Error("transport refused (every replica)".into()),
        Sent::Failed(class) => Answer::Error(class.clone()),
    }
}

fn body_of(sent: &Sent) -> String {
    match sent {
        Sent::Answered { status, body } => {
            let text = String::from_utf8_lossy(body);
            format!(
                "HTTP {status} {}",
                text.chars().take(300).collect::<String>()
            )
        }
        other => format!("{other:?}"),
    }
}

/// One worker: holds `sessions` sessions and makes one request per `every` until told to stop.
pub async fn worker(world: Arc<World>, seed: u64, sessions: usize, every: Duration) {
    let mut rng = SmallRng::seed_from_u64(seed);
    let mut held: Vec<Sess> = Vec::with_capacity(sessions);
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while !world.stop.load(Ordering::Relaxed) {
        tick.tick().await;
        let replica = rng.random_range(0..world.bases.len());
        if held.len() < sessions {
            let kind = Kind::ALL[rng.random_range(0..Kind::ALL.len())];
            if let Some(s) = login(&world, replica, kind).await {
                held.push(s);
            }
            continue;
        }
        let pick = rng.random_range(0..held.len());
        let r: f64 = rng.random();
        let mix = world.mix;
        if r < mix.hostile && !world.hostile.is_empty() {
            let h = &world.hostile[rng.random_range(0..world.hostile.len())];
            hostile(&world, replica, h).await;
        } else if r < mix.hostile + mix.churn {
            let s = held.swap_remove(pick);
            let face = FACES[rng.random_range(0..FACES.len())];
            logout(&world, replica, s, face).await;
        } else if r < mix.hostile + mix.churn + mix.pass_through
            && let Some(i) = held
                .iter()
                .position(|s| s.kind == Kind::Native(Backend::Enos))
        {
            if !pass_through(&world, replica, &held[i]).await {
                forget(&world, held.swap_remove(i));
            }
        } else {
            let face = FACES[rng.random_range(0..FACES.len())];
            if !status(&world, replica, &mut held[pick], face).await {
                forget(&world, held.swap_remove(pick));
            }
        }
    }
    for s in held {
        forget(&world, s);
    }
}

/// The string at `at` (a JSON pointer) in a 200 answer.
fn answered_at(sent: &Sent, at: &str) -> Option<String> {
    match sent {
        Sent::Answered { status: 200, body } => serde_json::from_slice::<serde_json::Value>(body)
            .ok()
            .and_then(|v| v.pointer(at)?.as_str().map(str::to_owned)),
        _ => None,
    }
}

fn forget(world: &World, s: Sess) {
    world.held.lock().remove(&s.id);
}

async fn login(world: &World, replica: usize, kind: Kind) -> Option<Sess> {
    let backend = kind.backend();
    let (req, at) = calls::login(kind, &world.certificate);
    let epoch = world.epoch(backend);
    let sent_at = world.recorder.now();
    let started = Instant::now();
    let (mut sent, _) = world.send(replica, &req).await;
    let mut credential = answered_at(&sent, at);
    // Net iD: that was the challenge; the answer made with the key is the login.
    if credential.is_some()
        && let Sent::Answered { body, .. } = &sent
        && let Some((req, at)) = serde_json::from_slice(body)
            .ok()
            .and_then(|v| calls::login_answer(kind, &v, &world.key))
    {
        sent = world.send(replica, &req).await.0;
        credential = answered_at(&sent, at);
    }
    let outcome = match &credential {
        Some(_) => Outcome::Ok,
        None => match answer_of(&sent, |s, _| Answer::Error(format!("http {s}"))) {
            Answer::Error(class) => Outcome::Error(format!("login: {class}")),
            _ => Outcome::Error("login: no credential".into()),
        },
    };
    world.recorder.record(sent_at, started.elapsed(), &outcome);
    let credential = credential?;
    world.logins.fetch_add(1, Ordering::Relaxed);
    let id = world.next_id.fetch_add(1, Ordering::Relaxed);
    world.held.lock().insert(
        id,
        Held {
            kind,
            credential: credential.clone(),
            epoch,
            ending: false,
        },
    );
    Some(Sess {
        id,
        kind,
        credential,
        epoch,
        count: 0,
    })
}

/// Asks about `s` on `face`; false when the answer ended it (logged out, rightly or not).
async fn status(world: &World, replica: usize, s: &mut Sess, face: Face) -> bool {
    s.count += 1;
    let req = calls::status(face, &s.credential, s.count);
    let backend = s.kind.backend();
    let before = world.epoch(backend);
    let sent_at = world.recorder.now();
    let started = Instant::now();
    let (sent, at) = world.send(replica, &req).await;
    let latency = started.elapsed();
    let lost = s.epoch != before || before != world.epoch(backend);
    let answer = answer_of(&sent, |st, b| judge::read(face, st, b));
    let outcome = match judge::judge(&answer, lost) {
        Outcome::Error(class) => Outcome::Error(format!("status: {class}")),
        other => other,
    };
    if outcome == Outcome::WronglyLoggedOut {
        world.incident(format!(
            "t={:.1}s wrongly logged out: {:?} session on {face:?} via replica {at}: {}",
            sent_at.as_secs_f64(),
            s.kind,
            body_of(&sent)
        ));
    }
    world.recorder.record(sent_at, latency, &outcome);
    answer != Answer::LoggedOut
}

/// EnOS `organization/info` with `s`, passed through to the backend; false when the backend
/// says the session is gone.
async fn pass_through(world: &World, replica: usize, s: &Sess) -> bool {
    let before = world.epoch(Backend::Enos);
    let sent_at = world.recorder.now();
    let started = Instant::now();
    let (sent, _) = world
        .send(replica, &calls::pass_through(&s.credential))
        .await;
    let lost = s.epoch != before || before != world.epoch(Backend::Enos);
    let answer = answer_of(&sent, judge::read_enos);
    let outcome = match judge::judge(&answer, lost) {
        Outcome::Error(class) => Outcome::Error(format!("pass-through: {class}")),
        Outcome::WronglyLoggedOut => {
            world.incident(format!(
                "t={:.1}s pass-through said logged out: {}",
                sent_at.as_secs_f64(),
                body_of(&sent)
            ));
            Outcome::WronglyLoggedOut
        }
        other => other,
    };
    world.recorder.record(sent_at, started.elapsed(), &outcome);
    answer != Answer::LoggedOut
}

/// Logs `s` out, then asks the replica that did it about the session on `face`: it must say
/// logged out at once.
async fn logout(world: &World, replica: usize, mut s: Sess, face: Face) {
    if let Some(h) = world.held.lock().get_mut(&s.id) {
        h.ending = true;
    }
    s.count += 1;
    let backend = s.kind.backend();
    let before = world.epoch(backend);
    let sent_at = world.recorder.now();
    let started = Instant::now();
    let (sent, at) = world
        .send(replica, &calls::logout(s.kind, &s.credential, s.count))
        .await;
    let lost = s.epoch != before || before != world.epoch(backend);
    let outcome = match answer_of(&sent, |st, b| calls::logged_out(s.kind, st, b)) {
        Answer::LoggedOut => Outcome::Ok,
        // A session its backend lost cannot be logged out there: that answer is right too.
        Answer::Error(_) if lost => Outcome::Lost,
        Answer::Error(class) => Outcome::Error(format!("logout: {class}")),
        Answer::Valid => Outcome::Error("logout: unexpected answer".into()),
    };
    world.recorder.record(sent_at, started.elapsed(), &outcome);
    if outcome == Outcome::Ok {
        s.count += 1;
        let req = calls::status(face, &s.credential, s.count);
        let sent_at = world.recorder.now();
        let started = Instant::now();
        let (sent, _) = world.send(at, &req).await;
        let outcome = match answer_of(&sent, |st, b| judge::read(face, st, b)) {
            Answer::LoggedOut => Outcome::Ok,
            Answer::Valid => {
                world.incident(format!(
                    "t={:.1}s valid after logout: {:?} session on {face:?} via replica {at}",
                    sent_at.as_secs_f64(),
                    s.kind
                ));
                Outcome::WronglyValid
            }
            Answer::Error(class) => Outcome::Error(format!("status after logout: {class}")),
        };
        world.recorder.record(sent_at, started.elapsed(), &outcome);
    }
    forget(world, s);
}

async fn hostile(world: &World, replica: usize, h: &Hostile) {
    let sent_at = world.recorder.now();
    let started = Instant::now();
    let (sent, _) = world.send(replica, &h.request).await;
    let outcome = match &sent {
        Sent::Answered { status, body } if (h.expect)(*status, body) => Outcome::Ok,
        other => {
            world.incident(format!(
                "t={:.1}s hostile request {:?} mishandled: {}",
                sent_at.as_secs_f64(),
                h.name,
                body_of(other)
            ));
            Outcome::HostileMishandled(h.name.to_owned())
        }
    };
    world.recorder.record(sent_at, started.elapsed(), &outcome);
}

/// What a sweep found: every held session known valid at its backend, asked about on the EnOS
/// face of every replica (no `Count` involved, so the workers' sequences are untouched).
#[derive(Debug, Default)]
pub struct Sweep {
    pub asked: u64,
    /// Answers "logged out" for a session valid at its backend.
    pub refused: u64,
    /// Answers that were neither (errors).
    pub unanswered: u64,
}

pub async fn sweep(world: &World) -> Sweep {
    let snapshot: Vec<(u64, Held)> = world
        .held
        .lock()
        .iter()
        .filter(|(_, h)| !h.ending && h.epoch == world.epoch(h.kind.backend()))
        .map(|(id, h)| (*id, h.clone()))
        .collect();
    let mut result = Sweep::default();
    for (id, h) in snapshot {
        for replica in 0..world.bases.len() {
            let req = calls::status(Face::Enos, &h.credential, 0);
            let (sent, _) = world.send(replica, &req).await;
            result.asked += 1;
            match answer_of(&sent, judge::read_enos) {
                Answer::Valid => {}
                Answer::Error(_) => result.unanswered += 1,
                Answer::LoggedOut => {
                    // Still held, not being logged out, its backend not crashed since?
                    let still = world.held.lock().get(&id).is_some_and(|now| !now.ending)
                        && h.epoch == world.epoch(h.kind.backend());
                    if still {
                        result.refused += 1;
                        world.incident(format!(
                            "sweep: replica {replica} refused a valid {:?} session: {}",
                            h.kind,
                            body_of(&sent)
                        ));
                    }
                }
            }
        }
    }
    result
}

/// Starts `workers` workers holding `sessions` sessions each, making `rate` requests per second
/// in all.
pub fn start(
    world: &Arc<World>,
    workers: usize,
    sessions: usize,
    rate: f64,
) -> tokio::task::JoinSet<()> {
    let every = Duration::from_secs_f64(workers as f64 / rate);
    let mut set = tokio::task::JoinSet::new();
    for i in 0..workers {
        set.spawn(worker(world.clone(), i as u64, sessions, every));
    }
    set
}
