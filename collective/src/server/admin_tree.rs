//! Admin handlers of the synchronized tree (docs/design/0005): blob
//! uploads into this member's store, the `TreePut` check that every blob
//! named is here, listings of the manifest and each member's progress.

use cohort_proto::write_request::Action;
use cohort_proto::*;
use cohort_state::{Command, TreeEntry as StateEntry, validate_tree_path};
use cohort_store::MemberNode;
use tonic::{Status, Streaming};

use super::admin_service::{AdminService, status_of};
use super::member::{Member, probe};
use crate::tree::blobs::{BlobError, from_bytes, hex};
use crate::tree::fetch::blocking;

/// The replicated command of a tree action, or `None` for other actions.
/// A put is refused unless this member holds every blob it names: the
/// other members fetch them from here.
pub(super) fn tree_command(action: &Action, member: &Member) -> Option<Result<Command, Status>> {
    match action {
        Action::TreePut(put) => Some(put_command(put, member)),
        Action::TreeRemove(r) => Some(Ok(Command::TreeRemove {
            path: r.path.clone(),
        })),
        _ => None,
    }
}

fn put_command(put: &TreePut, member: &Member) -> Result<Command, Status> {
    let mut entries = Vec::with_capacity(put.entries.len());
    for e in &put.entries {
        let entry = match &e.kind {
            Some(tree_entry::Kind::File(f)) => {
                let sha = from_bytes(&f.sha256).ok_or_else(|| {
                    Status::invalid_argument(format!(
                        "{}: sha256 must be 32 bytes, not {}",
                        e.path,
                        f.sha256.len()
                    ))
                })?;
                let held = std::fs::metadata(member.tree.blobs().path(&sha))
                    .ok()
                    .filter(|m| m.is_file());
                match held {
                    None => {
                        return Err(Status::failed_precondition(format!(
                            "{}: blob {} is not on member {}; upload it there first \
                             (cohort tree put does)",
                            e.path,
                            hex(&sha),
                            member.name
                        )));
                    }
                    Some(m) if m.len() != f.size => {
                        return Err(Status::invalid_argument(format!(
                            "{}: size {} given, but blob {} has {} bytes",
                            e.path,
                            f.size,
                            hex(&sha),
                            m.len()
                        )));
                    }
                    Some(_) => {}
                }
                StateEntry::File {
                    sha256: sha,
                    size: f.size,
                    mode: f.mode,
                }
            }
            Some(tree_entry::Kind::Symlink(target)) => StateEntry::Symlink {
                target: target.clone(),
            },
            None => {
                return Err(Status::invalid_argument(format!(
                    "{}: entry is neither a file nor a symlink",
                    e.path
                )));
            }
        };
        entries.push((e.path.clone(), entry));
    }
    Ok(Command::TreePut { entries })
}

impl AdminService {
    /// Streams an upload into the blob store; the first chunk declares the
    /// size and no more (or fewer) bytes are accepted.
    pub(super) async fn upload_blob_impl(
        &self,
        mut stream: Streaming<BlobChunk>,
    ) -> Result<UploadBlobReply, Status> {
        let first = stream
            .message()
            .await?
            .ok_or_else(|| Status::invalid_argument("empty upload: send at least one chunk"))?;
        let blobs = self.member.tree.blobs().clone();
        let size = first.size;
        let mut writer = blocking(move || blobs.upload(size))
            .await
            .map_err(Status::internal)?
            .map_err(|e| Status::internal(e.to_string()))?;
        let mut next = Some(first);
        while let Some(chunk) = next {
            let (w, r) = blocking(move || {
                let r = writer.write(&chunk.data);
                (writer, r)
            })
            .await
            .map_err(Status::internal)?;
            writer = w;
            if let Err(e) = r {
                writer.discard();
                return Err(upload_error(e));
            }
            next = match stream.message().await {
                Ok(n) => n,
                Err(s) => {
                    writer.discard();
                    return Err(s);
                }
            };
        }
        let sha = blocking(move || writer.finish())
            .await
            .map_err(Status::internal)?
            .map_err(upload_error)?;
        // A put may already be waiting for this blob.
        self.member.tree.wake();
        Ok(UploadBlobReply {
            sha256: sha.to_vec(),
        })
    }

    pub(super) fn missing_blobs_impl(
        &self,
        r: MissingBlobsRequest,
    ) -> Result<MissingBlobsReply, Status> {
        let mut missing = Vec::new();
        for raw in r.sha256 {
            let sha = from_bytes(&raw).ok_or_else(|| {
                Status::invalid_argument(format!("sha256 must be 32 bytes, not {}", raw.len()))
            })?;
            if !self.member.tree.blobs().has(&sha) {
                missing.push(raw);
            }
        }
        Ok(MissingBlobsReply { sha256: missing })
    }

    pub(super) async fn tree_list_impl(&self, r: TreeListRequest) -> Result<TreeListReply, Status> {
        let prefix = r.prefix.trim_end_matches('/').to_owned();
        if !prefix.is_empty() && prefix != "public" && prefix != "private" {
            validate_tree_path(&prefix).map_err(Status::invalid_argument)?;
        }
        let pick = move |s: &cohort_state::State| {
            let under = format!("{prefix}/");
            s.tree()
                .iter()
                .filter(|(p, _)| prefix.is_empty() || **p == prefix || p.starts_with(&under))
                .map(|(path, e)| list_entry(path, e))
                .collect::<Vec<_>>()
        };
        let entries = if r.read.is_some_and(|o| o.local) {
            self.member.core().state.read(pick)
        } else {
            self.member
                .read_linearizable(pick)
                .await
                .map_err(|e| status_of(&e))?
        };
        Ok(TreeListReply { entries })
    }

    /// Every member's progress: this member's own, the others' by probe.
    pub(super) async fn tree_status_impl(&self) -> Result<TreeStatusReply, Status> {
        let m = &self.member;
        let (members, entries) = m
            .core()
            .state
            .read(|s| (s.members().clone(), s.tree().len() as u64));
        let mut probes = tokio::task::JoinSet::new();
        for record in members.values().filter(|r| r.name != m.name) {
            let node = MemberNode {
                name: record.name.clone(),
                addr: record.addresses.first().cloned().unwrap_or_default(),
            };
            let dialer = m.dialer.clone();
            probes.spawn(async move { (node.name.clone(), probe(dialer, node).await) });
        }
        let mut answers = std::collections::BTreeMap::new();
        while let Some(Ok((name, status))) = probes.join_next().await {
            answers.insert(name, status);
        }
        let own = m.tree.status();
        let mut out = Vec::new();
        for name in members.keys() {
            let status = if *name == m.name {
                let (last_error, at) = own.last_error.clone().unwrap_or_default();
                TreeMemberStatus {
                    name: name.clone(),
                    reachable: true,
                    files_missing: own.files_missing,
                    bytes_to_fetch: own.bytes_to_fetch,
                    last_error,
                    last_error_unix_ms: at,
                }
            } else {
                match answers.remove(name).flatten() {
                    Some(p) => TreeMemberStatus {
                        name: name.clone(),
                        reachable: true,
                        files_missing: p.tree_files_missing,
                        bytes_to_fetch: p.tree_bytes_to_fetch,
                        last_error: p.tree_last_error,
                        last_error_unix_ms: p.tree_last_error_unix_ms,
                    },
                    None => TreeMemberStatus {
                        name: name.clone(),
                        ..TreeMemberStatus::default()
                    },
                }
            };
            out.push(status);
        }
        Ok(TreeStatusReply {
            members: out,
            entries,
        })
    }
}

fn list_entry(path: &str, entry: &StateEntry) -> TreeListEntry {
    match entry {
        StateEntry::File { sha256, size, mode } => TreeListEntry {
            path: path.to_owned(),
            kind: "file".to_owned(),
            size: *size,
            sha256: hex(sha256),
            mode: *mode,
            target: String::new(),
        },
        StateEntry::Symlink { target } => TreeListEntry {
            path: path.to_owned(),
            kind: "symlink".to_owned(),
            target: target.clone(),
            ..TreeListEntry::default()
        },
    }
}

fn upload_error(e: BlobError) -> Status {
    match e {
        BlobError::TooLong { limit } => Status::invalid_argument(format!(
            "upload is longer than the {limit} bytes declared in its first chunk"
        )),
        BlobError::TooShort { got, declared } => Status::invalid_argument(format!(
            "upload ended after {got} of the {declared} bytes declared"
        )),
        other => Status::internal(other.to_string()),
    }
}
