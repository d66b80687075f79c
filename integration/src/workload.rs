//! A write-and-read-back load of concurrent clients, each recording what
//! it did into one [`Recorder`] for the linearizability check.
//!
//! Client `i` writes unique values (`info.note=c<i>-<seq>`) to a node
//! picked at random from a few shared nodes, then reads that node back
//! with a linearizable read, until stopped. Each client talks to one
//! member's admin socket; when a call fails (its member died, was paused,
//! or had no quorum) it moves on to the next member of its route, as an
//! admin would. Every call is bounded by [`CALL_TIMEOUT`], so a paused
//! member cannot stall a client forever; a timed-out or failed write is
//! recorded with an unknown outcome.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use cohort_proto::WriteRequest;
use cohort_proto::admin_client::AdminClient;
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep, timeout};
use tonic::transport::Channel;

use crate::admin::{connect, node_value, set_nodes, write_id};
use crate::history::{Entry, Op, Outcome, Recorder};
use crate::{Cluster, Member};

/// Longest a client waits for one call. Members answer within their 4 s
/// quorum deadline plus a probe; this only catches a frozen member.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(8);
/// Longest a client waits to connect to a socket.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// A member a client may talk to.
#[derive(Clone, Debug)]
pub struct Route {
    pub name: String,
    pub socket: PathBuf,
}

impl Route {
    pub fn of(m: &Member) -> Route {
        Route {
            name: m.name.clone(),
            socket: m.socket(),
        }
    }
}

/// What one client did, for the narration.
#[derive(Clone, Debug, Default)]
pub struct ClientReport {
    pub client: String,
    pub acked_writes: usize,
    pub unknown_writes: usize,
    pub reads: usize,
    pub failed_reads: usize,
    /// Members in the order the client used them.
    pub members_used: Vec<String>,
}

impl std::fmt::Display for ClientReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {} acknowledged writes, {} unknown, {} reads, {} failed reads, via {}",
            self.client,
            self.acked_writes,
            self.unknown_writes,
            self.reads,
            self.failed_reads,
            self.members_used.join(" -> ")
        )
    }
}

/// Running clients; [`Workload::stop`] ends them.
pub struct Workload {
    recorder: Recorder,
    stop: Arc<AtomicBool>,
    tasks: Vec<JoinHandle<ClientReport>>,
}

impl Workload {
    /// One client per member index in `clients`: client `i` starts on
    /// `clients[i]` and falls over to the other members of the cluster in
    /// index order.
    pub fn start(cluster: &Cluster, clients: &[usize], keys: &[String]) -> Workload {
        let routes = clients
            .iter()
            .map(|&first| {
                let n = cluster.members.len();
                (0..n)
                    .map(|k| Route::of(&cluster.members[(first + k) % n]))
                    .collect()
            })
            .collect();
        Workload::start_routes(routes, keys)
    }

    /// One client per route.
    pub fn start_routes(routes: Vec<Vec<Route>>, keys: &[String]) -> Workload {
        let recorder = Recorder::new();
        let stop = Arc::new(AtomicBool::new(false));
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos());
        let tasks = routes
            .into_iter()
            .enumerate()
            .map(|(i, route)| {
                let client = Client {
                    name: format!("c{}", i + 1),
                    id: seed ^ (u128::from(std::process::id()) << 64) ^ (i as u128 + 1),
                    route,
                    keys: keys.to_vec(),
                    recorder: recorder.clone(),
                    stop: stop.clone(),
                    rng: ((seed as u64) ^ ((i as u64 + 1) << 32)) | 1,
                };
                tokio::spawn(client.run())
            })
            .collect();
        Workload {
            recorder,
            stop,
            tasks,
        }
    }

    /// The history so far.
    pub fn recorder(&self) -> &Recorder {
        &self.recorder
    }

    /// Acknowledged writes invoked at or after `since`.
    pub fn acked_since(&self, since: Instant) -> usize {
        self.recorder
            .entries()
            .iter()
            .filter(|e| e.invoked >= since && e.is_acked_write())
            .count()
    }

    /// How long after `t` the first write was acknowledged (failover time
    /// when `t` is a kill), if one was.
    pub fn first_ack_after(&self, t: Instant) -> Option<Duration> {
        self.recorder
            .entries()
            .iter()
            .filter(|e| e.is_acked_write() && e.completed > t)
            .map(|e| e.completed.duration_since(t))
            .min()
    }

    /// Stops every client after its current call and returns what each did.
    pub async fn stop(self) -> anyhow::Result<Vec<ClientReport>> {
        self.stop.store(true, Ordering::SeqCst);
        let mut reports = Vec::new();
        for t in self.tasks {
            reports.push(t.await?);
        }
        Ok(reports)
    }
}

struct Client {
    name: String,
    id: u128,
    route: Vec<Route>,
    keys: Vec<String>,
    recorder: Recorder,
    stop: Arc<AtomicBool>,
    rng: u64,
}

impl Client {
    fn pick(&mut self) -> String {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        self.keys[(self.rng % self.keys.len() as u64) as usize].clone()
    }

    async fn run(mut self) -> ClientReport {
        let mut report = ClientReport {
            client: self.name.clone(),
            ..ClientReport::default()
        };
        let mut at = 0;
        let mut conn: Option<AdminClient<Channel>> = None;
        let mut seq = 0;
        while !self.stop.load(Ordering::SeqCst) {
            let route = self.route[at % self.route.len()].clone();
            let c = match &mut conn {
                Some(c) => c,
                None => match timeout(CONNECT_TIMEOUT, connect(&route.socket)).await {
                    Ok(Ok(c)) => {
                        if report.members_used.last() != Some(&route.name) {
                            report.members_used.push(route.name.clone());
                        }
                        conn.insert(c)
                    }
                    _ => {
                        at += 1;
                        // Paces the loop when every member is down.
                        sleep(Duration::from_millis(20)).await;
                        continue;
                    }
                },
            };
            seq += 1;
            let key = self.pick();
            let value = format!("{}-{seq}", self.name);
            let who = format!("{}@{}", self.name, route.name);
            let assignment = format!("info.note={value}");
            let request = WriteRequest {
                id: write_id(self.id, seq),
                action: Some(set_nodes(&key, &[&assignment])),
            };
            let invoked = Instant::now();
            let reply = timeout(CALL_TIMEOUT, c.write(request)).await;
            let completed = Instant::now();
            let outcome = match reply {
                Ok(Ok(_)) => Outcome::Written,
                Ok(Err(s)) => Outcome::Unknown(format!("{:?}: {}", s.code(), s.message())),
                Err(_) => Outcome::Unknown(format!("no answer within {CALL_TIMEOUT:?}")),
            };
            let failed = outcome != Outcome::Written;
            if failed {
                report.unknown_writes += 1;
            } else {
                report.acked_writes += 1;
            }
            self.recorder.record(Entry {
                client: who.clone(),
                key: key.clone(),
                op: Op::Write(value),
                invoked,
                completed,
                outcome,
            });
            if failed {
                conn = None;
                at += 1;
                continue;
            }
            let invoked = Instant::now();
            let reply = timeout(CALL_TIMEOUT, node_value(c, &key, "info.note", false)).await;
            let completed = Instant::now();
            let outcome = match reply {
                Ok(Ok(v)) => Outcome::Value(v),
                Ok(Err(s)) => Outcome::Unknown(format!("{:?}: {}", s.code(), s.message())),
                Err(_) => Outcome::Unknown(format!("no answer within {CALL_TIMEOUT:?}")),
            };
            let failed = matches!(outcome, Outcome::Unknown(_));
            if failed {
                report.failed_reads += 1;
            } else {
                report.reads += 1;
            }
            self.recorder.record(Entry {
                client: who,
                key,
                op: Op::Read,
                invoked,
                completed,
                outcome,
            });
            if failed {
                conn = None;
                at += 1;
            }
        }
        report
    }
}
