//! Bad invite tokens: each is refused with its own code and a message
//! naming the cause, and nothing changes (the collective's member table
//! is the same, the joiner is still a collective of its own). Also: the
//! CLI prints only the token on stdout.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cohort_integration::admin::{connect, show};
use cohort_integration::checks::{keep_on_error, one_at_a_time};
use cohort_integration::{Cluster, wait_for};
use cohort_proto::{CreateInviteRequest, JoinCollectiveReply, JoinCollectiveRequest};
use tonic::Code;

/// An invite for `name` made on member `from`: (token, expiry in Unix ms).
async fn invite(
    cluster: &Cluster,
    from: usize,
    name: &str,
    ttl_seconds: u64,
) -> anyhow::Result<(String, u64)> {
    let reply = connect(&cluster.members[from].socket())
        .await?
        .create_invite(CreateInviteRequest {
            name: name.to_owned(),
            nonvoting: true,
            ttl_seconds,
        })
        .await?
        .into_inner();
    Ok((reply.token, reply.expires_unix_ms))
}

/// `collective join ADDRESS --token TOKEN` run against member `joiner`.
async fn join(
    cluster: &Cluster,
    joiner: usize,
    address: &str,
    token: &str,
) -> anyhow::Result<Result<JoinCollectiveReply, tonic::Status>> {
    let mut c = connect(&cluster.members[joiner].socket()).await?;
    Ok(c.join_collective(JoinCollectiveRequest {
        address: address.to_owned(),
        token: token.to_owned(),
        force: false,
    })
    .await
    .map(tonic::Response::into_inner))
}

/// Member names as member `from` lists them.
async fn members(cluster: &Cluster, from: usize) -> anyhow::Result<Vec<String>> {
    Ok(show(&cluster.members[from].socket())
        .await?
        .members
        .into_iter()
        .map(|m| m.name)
        .collect())
}

/// Starts a fresh member named `name` (data directory `dir`) and waits
/// until it is a collective of its own.
async fn fresh(cluster: &mut Cluster, name: &str, dir: &str) -> anyhow::Result<usize> {
    let index = cluster.spawn_in(name, dir)?;
    cluster.wait_ready(index).await?;
    wait_alone(cluster, index).await?;
    Ok(index)
}

/// Waits until member `index` lists itself, alone, as its leader.
async fn wait_alone(cluster: &Cluster, index: usize) -> anyhow::Result<()> {
    let m = &cluster.members[index];
    wait_for(
        &format!("{} to be a collective of its own", m.name),
        Duration::from_secs(10),
        || async {
            let s = show(&m.socket()).await.ok()?;
            let alone: Vec<(&str, bool)> = s
                .members
                .iter()
                .map(|x| (x.name.as_str(), x.leader))
                .collect();
            (alone == [(m.name.as_str(), true)]).then_some(())
        },
    )
    .await
}

/// Joins `joiner` with `token` at `address` and expects the refusal
/// `code` with a message containing `needle`; then checks that nothing
/// changed: `inviter` lists the same members, and the joiner is still a
/// collective of its own that it leads.
async fn expect_refused(
    cluster: &Cluster,
    (joiner, inviter): (usize, usize),
    address: &str,
    token: &str,
    (code, needle): (Code, &str),
) -> anyhow::Result<()> {
    let before = members(cluster, inviter).await?;
    let refused = match join(cluster, joiner, address, token).await? {
        Ok(reply) => {
            anyhow::bail!("the join was accepted ({reply:?}); expected {code:?} {needle:?}")
        }
        Err(s) => s,
    };
    eprintln!("    refused: {:?} {:?}", refused.code(), refused.message());
    anyhow::ensure!(
        refused.code() == code && refused.message().contains(needle),
        "refused with {:?} {:?}; expected {code:?} with {needle:?}",
        refused.code(),
        refused.message()
    );
    assert_eq!(
        members(cluster, inviter).await?,
        before,
        "the inviter's member table changed"
    );
    wait_alone(cluster, joiner).await
}

/// A single-member collective `m1` and a fresh member `j1`.
async fn setup(test: &str) -> anyhow::Result<(Cluster, usize)> {
    let mut cluster = Cluster::form(test, 1, 0).await?;
    let joiner = fresh(&mut cluster, "j1", "j1").await?;
    Ok((cluster, joiner))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t70_malformed_tokens_are_refused() -> anyhow::Result<()> {
    let _serial = one_at_a_time().await;
    let (mut cluster, j) = setup("t70-malformed").await?;
    let result = async {
        let address = cluster.members[0].peer.to_string();
        let (token, _) = invite(&cluster, 0, "j1", 600).await?;
        let cut = &token[..token.len() - 4];
        let cases = [
            (
                "text that is not base64",
                "not a token!",
                "invite token is not valid base64url",
            ),
            (
                "a token missing its last 4 characters",
                cut,
                "invite token is truncated",
            ),
            ("an empty token", "", "invite token is truncated"),
        ];
        for (what, text, needle) in cases {
            eprintln!("--- {what}");
            expect_refused(
                &cluster,
                (j, 0),
                &address,
                text,
                (Code::InvalidArgument, needle),
            )
            .await?;
        }
        eprintln!("--- the intact token still works");
        join(&cluster, j, &address, &token).await??;
        Ok(())
    }
    .await;
    keep_on_error(&mut cluster, result)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t70_token_for_another_name_is_refused() -> anyhow::Result<()> {
    let _serial = one_at_a_time().await;
    let (mut cluster, j) = setup("t70-name").await?;
    let result = async {
        let (token, _) = invite(&cluster, 0, "j9", 600).await?;
        eprintln!("--- j1 joins with the invite for j9");
        let address = cluster.members[0].peer.to_string();
        let needle = "this invite is for member \"j9\", but this member is named \"j1\"";
        expect_refused(
            &cluster,
            (j, 0),
            &address,
            &token,
            (Code::InvalidArgument, needle),
        )
        .await
    }
    .await;
    keep_on_error(&mut cluster, result)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t70_expired_token_is_refused() -> anyhow::Result<()> {
    let _serial = one_at_a_time().await;
    let (mut cluster, j) = setup("t70-expired").await?;
    let result = async {
        let (token, expires_ms) = invite(&cluster, 0, "j1", 1).await?;
        eprintln!("--- an invite with a 1 s lifetime, used after it expired");
        wait_for("the invite to expire", Duration::from_secs(10), || async {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .ok()?
                .as_millis() as u64;
            (now > expires_ms).then_some(())
        })
        .await?;
        let address = cluster.members[0].peer.to_string();
        expect_refused(
            &cluster,
            (j, 0),
            &address,
            &token,
            (Code::FailedPrecondition, "invite expired at"),
        )
        .await
    }
    .await;
    keep_on_error(&mut cluster, result)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t70_used_token_is_refused() -> anyhow::Result<()> {
    let _serial = one_at_a_time().await;
    let (mut cluster, j) = setup("t70-used").await?;
    let result = async {
        let (token, _) = invite(&cluster, 0, "j1", 600).await?;
        let address = cluster.members[0].peer.to_string();
        eprintln!("--- j1 joins with its invite");
        join(&cluster, j, &address, &token).await??;
        wait_for("m1 to list j1", Duration::from_secs(10), || async {
            (members(&cluster, 0).await.ok()? == ["j1", "m1"]).then_some(())
        })
        .await?;
        let first = show(&cluster.members[0].socket()).await?;
        eprintln!("--- another host named j1 (its own data directory) uses the same invite");
        let again = fresh(&mut cluster, "j1", "j1-again").await?;
        let needle = "no pending invite for member \"j1\"";
        expect_refused(
            &cluster,
            (again, 0),
            &address,
            &token,
            (Code::FailedPrecondition, needle),
        )
        .await?;
        let after = show(&cluster.members[0].socket()).await?;
        let ids = |s: &cohort_proto::CollectiveStatus| {
            s.members
                .iter()
                .map(|m| (m.name.clone(), m.raft_id))
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(&after), ids(&first), "the first j1 was replaced");
        Ok(())
    }
    .await;
    keep_on_error(&mut cluster, result)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t70_token_of_another_collective_is_refused() -> anyhow::Result<()> {
    let _serial = one_at_a_time().await;
    let (mut cluster, j) = setup("t70-fingerprint").await?;
    let result = async {
        let other = fresh(&mut cluster, "b1", "b1").await?;
        let (token, _) = invite(&cluster, 0, "j1", 600).await?;
        let address = cluster.members[other].peer.to_string();
        eprintln!("--- j1 joins with m1's invite, at the address of b1 (another collective)");
        expect_refused(
            &cluster,
            (j, other),
            &address,
            &token,
            (Code::PermissionDenied, "fingerprint mismatch"),
        )
        .await
    }
    .await;
    keep_on_error(&mut cluster, result)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t70_unreachable_address_is_refused() -> anyhow::Result<()> {
    let _serial = one_at_a_time().await;
    let (mut cluster, j) = setup("t70-unreachable").await?;
    let result = async {
        let (token, _) = invite(&cluster, 0, "j1", 600).await?;
        // A port nothing listens on: bound, then released.
        let closed = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .to_string();
        eprintln!("--- j1 joins at {closed}, where nothing listens");
        let needle = format!("cannot reach {closed} to join");
        expect_refused(
            &cluster,
            (j, 0),
            &closed,
            &token,
            (Code::Unavailable, &needle),
        )
        .await
    }
    .await;
    keep_on_error(&mut cluster, result)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t70_cli_invite_prints_only_the_token() -> anyhow::Result<()> {
    let _serial = one_at_a_time().await;
    let (mut cluster, j) = setup("t70-cli").await?;
    let result = async {
        eprintln!("--- cohort collective invite j1 --nonvoting --ttl 10m");
        let out = cluster.members[0]
            .cli()?
            .args(["collective", "invite", "j1", "--nonvoting", "--ttl", "10m"])
            .output()?;
        let stdout = String::from_utf8(out.stdout)?;
        eprintln!(
            "    exit {:?}, stderr {:?}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "cohort collective invite failed");
        let token = stdout.strip_suffix('\n').unwrap_or(&stdout);
        assert!(
            !token.is_empty()
                && token
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
            "stdout is not exactly one base64url token and a newline: {stdout:?}"
        );
        eprintln!("--- the printed text is the token: j1 joins with it");
        let address = cluster.members[0].peer.to_string();
        join(&cluster, j, &address, token).await??;
        wait_for("m1 to list j1", Duration::from_secs(10), || async {
            (members(&cluster, 0).await.ok()? == ["j1", "m1"]).then_some(())
        })
        .await?;
        Ok(())
    }
    .await;
    keep_on_error(&mut cluster, result)
}
