//! Frozen bytes of every persisted format.
//!
//! NEVER EDIT THESE BYTES. Each literal is the encoding a released cohort
//! wrote into a Raft log or a snapshot; members must read it forever. A test
//! failing here means the format changed: undo the change, or add a new
//! version (a `Request` variant, a snapshot `vN` module) with new tests of
//! its own, keeping these. Tests are only ever added to this file.
//!
//! Each test encodes a fixed value and compares it with the literal, then
//! decodes the literal and compares it with the value.

use super::*;
use crate::{decode_request, encode_request};

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Vec<u8> {
    let digits: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    digits
        .chunks(2)
        .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).unwrap(), 16).unwrap())
        .collect()
}

/// Version 1 request from client 0x0102...10, seq 7, at T0.
fn v1(command: Command) -> Request {
    Request::v1(0x0102_0304_0506_0708_090a_0b0c_0d0e_0f10, 7, T0, command)
}

fn frozen(request: Request, literal: &str) {
    assert_eq!(
        hex(&encode_request(&request)),
        hex(&unhex(literal)),
        "encoding of {request:?}"
    );
    assert_eq!(decode_request(&unhex(literal)).unwrap(), request);
}

#[test]
fn v1_noop() {
    frozen(
        v1(Command::Noop),
        "00000000100f0e0d0c0b0a0908070605040302010700000000000000005801a9a101000000000000",
    );
}

#[test]
fn v1_define_nodes() {
    frozen(
        v1(define("n[1-4]", &["groups=compute", "location.rack=7"])),
        "00000000100f0e0d0c0b0a0908070605040302010700000000000000005801a9a1010000010000000600000000000000\
        6e5b312d345d02000000000000000e0000000000000067726f7570733d636f6d707574650f000000000000006c6f6361\
        74696f6e2e7261636b3d37",
    );
}

#[test]
fn v1_set_node_attributes() {
    frozen(
        v1(set("compute,-n3", &["console.method=ipmi"])),
        "00000000100f0e0d0c0b0a0908070605040302010700000000000000005801a9a1010000020000000b00000000000000\
        636f6d707574652c2d6e3301000000000000001300000000000000636f6e736f6c652e6d6574686f643d69706d69",
    );
}

#[test]
fn v1_clear_node_attributes() {
    frozen(
        v1(clear("n1", &["location.rack", "net.*"])),
        "00000000100f0e0d0c0b0a0908070605040302010700000000000000005801a9a1010000030000000200000000000000\
        6e3102000000000000000d000000000000006c6f636174696f6e2e7261636b05000000000000006e65742e2a",
    );
}

#[test]
fn v1_remove_nodes() {
    frozen(
        v1(remove("n[2-3]")),
        "00000000100f0e0d0c0b0a0908070605040302010700000000000000005801a9a1010000040000000600000000000000\
        6e5b322d335d",
    );
}

#[test]
fn v1_rename_node() {
    frozen(
        v1(rename("n1", "a1")),
        "00000000100f0e0d0c0b0a0908070605040302010700000000000000005801a9a1010000050000000200000000000000\
        6e3102000000000000006131",
    );
}

#[test]
fn v1_define_group() {
    frozen(
        v1(gdefine("compute", &["location.rack={n1}"])),
        "00000000100f0e0d0c0b0a0908070605040302010700000000000000005801a9a1010000060000000700000000000000\
        636f6d70757465010000000000000012000000000000006c6f636174696f6e2e7261636b3d7b6e317d",
    );
}

#[test]
fn v1_set_group_attributes() {
    frozen(
        v1(gset("compute", &["nodes,=n5"])),
        "00000000100f0e0d0c0b0a0908070605040302010700000000000000005801a9a1010000070000000700000000000000\
        636f6d70757465010000000000000009000000000000006e6f6465732c3d6e35",
    );
}

#[test]
fn v1_clear_group_attributes() {
    frozen(
        v1(gclear("compute", &["nodes"])),
        "00000000100f0e0d0c0b0a0908070605040302010700000000000000005801a9a1010000080000000700000000000000\
        636f6d70757465010000000000000005000000000000006e6f646573",
    );
}

#[test]
fn v1_remove_group() {
    frozen(
        v1(gremove("compute")),
        "00000000100f0e0d0c0b0a0908070605040302010700000000000000005801a9a1010000090000000700000000000000\
        636f6d70757465",
    );
}

#[test]
fn v1_rename_group() {
    frozen(
        v1(grename("compute", "cpu")),
        "00000000100f0e0d0c0b0a0908070605040302010700000000000000005801a9a10100000a0000000700000000000000\
        636f6d707574650300000000000000637075",
    );
}

#[test]
fn v1_put_member() {
    frozen(
        v1(put_member(member("m1", 1))),
        "00000000100f0e0d0c0b0a0908070605040302010700000000000000005801a9a10100000b0000000200000000000000\
        6d31010000000000000001000000000000000e0000000000000031302e302e302e313a31333030310100000000000000\
        0d0000000000000031302e302e302e313a38343433000000000500000000000000300302010114000000000000007373\
        682d65643235353139204141414131206d31",
    );
}

#[test]
fn v1_put_member_non_voter() {
    frozen(
        v1(put_member(MemberRecord {
            role: MemberRole::NonVoter,
            ..member("m2", 2)
        })),
        "00000000100f0e0d0c0b0a0908070605040302010700000000000000005801a9a10100000b0000000200000000000000\
        6d32020000000000000001000000000000000e0000000000000031302e302e302e323a31333030310100000000000000\
        0d0000000000000031302e302e302e323a38343433010000000500000000000000300302010214000000000000007373\
        682d65643235353139204141414132206d32",
    );
}

#[test]
fn v1_remove_member() {
    frozen(
        v1(remove_member("m1")),
        "00000000100f0e0d0c0b0a0908070605040302010700000000000000005801a9a10100000c0000000200000000000000\
        6d31",
    );
}

#[test]
fn v1_create_invite() {
    frozen(
        v1(invite("m2", 0xAA, T0 + 3_600_000)),
        "00000000100f0e0d0c0b0a0908070605040302010700000000000000005801a9a10100000d0000000200000000000000\
        6d3200000000aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa804638a9a1010000",
    );
}

#[test]
fn v1_create_invite_non_voter() {
    frozen(
        v1(Command::CreateInvite {
            name: "m3".to_owned(),
            role: InviteRole::NonVoter,
            secret_sha256: [0x11; 32],
            expires_ms: 1,
        }),
        "00000000100f0e0d0c0b0a0908070605040302010700000000000000005801a9a10100000d0000000200000000000000\
        6d330100000011111111111111111111111111111111111111111111111111111111111111110100000000000000",
    );
}

#[test]
fn v1_consume_invite() {
    frozen(
        v1(consume("m2", 0xAA)),
        "00000000100f0e0d0c0b0a0908070605040302010700000000000000005801a9a10100000e0000000200000000000000\
        6d32aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    );
}

#[test]
fn v1_set_data_key_fingerprint() {
    frozen(
        v1(data_key(0x5A)),
        "00000000100f0e0d0c0b0a0908070605040302010700000000000000005801a9a10100000f0000005a5a5a5a5a5a5a5a\
        5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a",
    );
}

#[test]
fn v1_put_user_admin() {
    frozen(
        v1(put_user("alice", UserRole::Admin, 0x01)),
        "00000000100f0e0d0c0b0a0908070605040302010700000000000000005801a9a1010000100000000500000000000000\
        616c696365000000000101010101010101010101010101010101010101010101010101010101010101",
    );
}

#[test]
fn v1_put_user_operator() {
    frozen(
        v1(put_user("bob", UserRole::Operator, 0x02)),
        "00000000100f0e0d0c0b0a0908070605040302010700000000000000005801a9a1010000100000000300000000000000\
        626f62010000000202020202020202020202020202020202020202020202020202020202020202",
    );
}

#[test]
fn v1_put_user_monitor() {
    frozen(
        v1(put_user("carol", UserRole::Monitor, 0x03)),
        "00000000100f0e0d0c0b0a0908070605040302010700000000000000005801a9a1010000100000000500000000000000\
        6361726f6c020000000303030303030303030303030303030303030303030303030303030303030303",
    );
}

#[test]
fn v1_remove_user() {
    frozen(
        v1(remove_user("alice")),
        "00000000100f0e0d0c0b0a0908070605040302010700000000000000005801a9a1010000110000000500000000000000\
        616c696365",
    );
}

/// A small state: nodes, a static group with an expression, a dynamic
/// group, a member, two invites, a user, the data key, and dedupe entries
/// holding a refusal and a warning.
fn small_state() -> State {
    let mut s = State::default();
    let steps = [
        gdefine("rack1", &["location.rack={n1}", "console.method=ipmi"]),
        define("n[1-2]", &["groups=rack1", "location.u=4"]),
        gdefine("first", &["noderange=n1"]),
        put_member(member("m1", 1)),
        invite("m2", 0xAA, T0 + 3_600_000),
        put_user("alice", UserRole::Admin, 0x01),
        data_key(0x5A),
        remove_user("nobody"),
    ];
    for (i, command) in steps.into_iter().enumerate() {
        s.apply(&Request::v1(0x42, i as u64 + 1, T0 + i as u64, command));
    }
    // A second client whose last answer is done with a warning.
    s.apply(&Request::v1(
        0x43,
        9,
        T0 + 100,
        invite("m1", 0xBB, T0 + 7_200_000),
    ));
    s
}

#[test]
fn snapshot_v1() {
    let literal = unhex(
        "0103000000000000000a0000000000000065766572797468696e67000000000000000000050000000000000066697273\
        7400000000000000000102000000000000006e3105000000000000007261636b3102000000000000000e000000000000\
        00636f6e736f6c652e6d6574686f6400000000040000000000000069706d690d000000000000006c6f636174696f6e2e\
        7261636b0100000004000000000000007b6e317d00020000000000000002000000000000006e31010000000000000005\
        000000000000007261636b3101000000000000000a000000000000006c6f636174696f6e2e7500000000010000000000\
        00003402000000000000006e32010000000000000005000000000000007261636b3101000000000000000a0000000000\
        00006c6f636174696f6e2e7500000000010000000000000034010000000000000002000000000000006d310100000000\
        00000001000000000000000e0000000000000031302e302e302e313a313330303101000000000000000d000000000000\
        0031302e302e302e313a38343433000000000500000000000000300302010114000000000000007373682d6564323535\
        3139204141414131206d31020000000000000002000000000000006d3100000000bbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\
        bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb00356fa9a101000002000000000000006d3200000000aaaaaaaaaaaaaaaaaa\
        aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa804638a9a10100000100000000000000050000000000000061\
        6c696365000000000101010101010101010101010101010101010101010101010101010101010101015a5a5a5a5a5a5a\
        5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a0200000000000000420000000000000000000000000000\
        000800000000000000075801a9a101000001000000010000001c000000000000007573657220226e6f626f6479222064\
        6f6573206e6f74206578697374430000000000000000000000000000000900000000000000645801a9a1010000000000\
        0001000000000000004600000000000000226d312220697320616c72656164792061206d656d6265723b206a6f696e69\
        6e672077697468207468697320696e76697465207265706c6163657320697473207265636f72640000000000000000",
    );
    let s = small_state();
    // Written today as version 2: the same body followed by an empty tree
    // (a u64 count of zero).
    let mut as_v2 = vec![2];
    as_v2.extend_from_slice(&literal[1..]);
    as_v2.extend_from_slice(&[0; 8]);
    assert_eq!(
        hex(&s.snapshot()),
        hex(&as_v2),
        "encoding of the small state"
    );
    let back = State::restore(&literal).unwrap();
    assert_eq!(back.snapshot(), as_v2);
    assert_eq!(back.inventory().dump(), s.inventory().dump());
    assert_eq!(back.members(), s.members());
    assert_eq!(back.invites(), s.invites());
    assert_eq!(back.users(), s.users());
    assert_eq!(back.data_key_fingerprint(), Some([0x5A; 32]));
    assert_eq!(back.last_request(0x42), s.last_request(0x42));
    assert_eq!(back.last_request(0x43), s.last_request(0x43));
    assert_eq!(attr(&back, "n2", "location.rack").as_deref(), Some("2"));
}

#[test]
fn v1_join() {
    frozen(
        v1(Command::Join {
            member: MemberRecord {
                role: MemberRole::NonVoter,
                ..member("m2", 2)
            },
            secret_sha256: [0xAA; 32],
        }),
        "00000000100f0e0d0c0b0a0908070605040302010700000000000000005801a9a1010000120000000200000000000000\
        6d32020000000000000001000000000000000e0000000000000031302e302e302e323a31333030310100000000000000\
        0d0000000000000031302e302e302e323a38343433010000000500000000000000300302010214000000000000007373\
        682d65643235353139204141414132206d32aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\
        aaaa",
    );
}

#[test]
fn batch_of_v1() {
    let Request::V1(first) = v1(Command::Noop) else {
        unreachable!()
    };
    let second = RequestV1 {
        seq: 8,
        command: remove("n1"),
        ..first.clone()
    };
    frozen(
        Request::Batch(vec![first, second]),
        "010000000200000000000000100f0e0d0c0b0a0908070605040302010700000000000000005801a9a101000000000000\
        100f0e0d0c0b0a0908070605040302010800000000000000005801a9a10100000400000002000000000000006e31",
    );
}

#[test]
fn snapshot_v2() {
    let mut s = small_state();
    let put = Command::TreePut {
        entries: vec![
            (
                "public/os/a/boot.ipxe".to_owned(),
                TreeEntry::File {
                    sha256: [0x11; 32],
                    size: 42,
                    mode: 0o644,
                },
            ),
            (
                "public/os/b".to_owned(),
                TreeEntry::Symlink {
                    target: "a".to_owned(),
                },
            ),
        ],
    };
    s.apply(&Request::v1(0x44, 1, T0 + 200, put));
    let literal = unhex(
        "0203000000000000000a0000000000000065766572797468696e67000000000000000000050000000000000066697273\
        7400000000000000000102000000000000006e3105000000000000007261636b3102000000000000000e000000000000\
        00636f6e736f6c652e6d6574686f6400000000040000000000000069706d690d000000000000006c6f636174696f6e2e\
        7261636b0100000004000000000000007b6e317d00020000000000000002000000000000006e31010000000000000005\
        000000000000007261636b3101000000000000000a000000000000006c6f636174696f6e2e7500000000010000000000\
        00003402000000000000006e32010000000000000005000000000000007261636b3101000000000000000a0000000000\
        00006c6f636174696f6e2e7500000000010000000000000034010000000000000002000000000000006d310100000000\
        00000001000000000000000e0000000000000031302e302e302e313a313330303101000000000000000d000000000000\
        0031302e302e302e313a38343433000000000500000000000000300302010114000000000000007373682d6564323535\
        3139204141414131206d31020000000000000002000000000000006d3100000000bbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\
        bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb00356fa9a101000002000000000000006d3200000000aaaaaaaaaaaaaaaaaa\
        aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa804638a9a10100000100000000000000050000000000000061\
        6c696365000000000101010101010101010101010101010101010101010101010101010101010101015a5a5a5a5a5a5a\
        5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a0300000000000000420000000000000000000000000000\
        000800000000000000075801a9a101000001000000010000001c000000000000007573657220226e6f626f6479222064\
        6f6573206e6f74206578697374430000000000000000000000000000000900000000000000645801a9a1010000000000\
        0001000000000000004600000000000000226d312220697320616c72656164792061206d656d6265723b206a6f696e69\
        6e672077697468207468697320696e76697465207265706c6163657320697473207265636f7264000000000000000044\
        0000000000000000000000000000000100000000000000c85801a9a10100000000000000000000000000000200000000\
        000000020000000000000015000000000000007075626c69632f6f732f612f626f6f742e697078650000000011111111\
        111111111111111111111111111111111111111111111111111111112a00000000000000a40100000b00000000000000\
        7075626c69632f6f732f6201000000010000000000000061",
    );
    assert_eq!(hex(&s.snapshot()), hex(&literal), "encoding with a tree");
    let back = State::restore(&literal).unwrap();
    assert_eq!(back.snapshot(), literal);
    assert_eq!(back.tree(), s.tree());
    assert_eq!(back.inventory().dump(), s.inventory().dump());
}

#[test]
fn v1_tree_put_and_remove() {
    frozen(
        v1(Command::TreePut {
            entries: vec![
                (
                    "public/f".to_owned(),
                    TreeEntry::File {
                        sha256: [0x22; 32],
                        size: 7,
                        mode: 0o755,
                    },
                ),
                (
                    "private/l".to_owned(),
                    TreeEntry::Symlink {
                        target: "x".to_owned(),
                    },
                ),
            ],
        }),
        "00000000100f0e0d0c0b0a0908070605040302010700000000000000005801a9a1010000130000000200000000000000\
        08000000000000007075626c69632f660000000022222222222222222222222222222222222222222222222222222222\
        222222220700000000000000ed0100000900000000000000707269766174652f6c01000000010000000000000078",
    );
    frozen(
        v1(Command::TreeRemove {
            path: "public/os".to_owned(),
        }),
        "00000000100f0e0d0c0b0a0908070605040302010700000000000000005801a9a1010000140000000900000000000000\
        7075626c69632f6f73",
    );
}

#[test]
fn v1_deployment_commands() {
    frozen(
        v1(Command::ArmDeployment {
            noderange: "n1".to_owned(),
            profile: "el9".to_owned(),
        }),
        "00000000100f0e0d0c0b0a0908070605040302010700000000000000005801a9a10100001500000002000000000000006e310300000000000000656c39",
    );
    frozen(
        v1(Command::DisarmDeployment {
            noderange: "n1".to_owned(),
        }),
        "00000000100f0e0d0c0b0a0908070605040302010700000000000000005801a9a10100001600000002000000000000006e31",
    );
    frozen(
        v1(Command::RegisterNodeKey {
            node: "n1".to_owned(),
            crypted_key: "$6$s$h".to_owned(),
        }),
        "00000000100f0e0d0c0b0a0908070605040302010700000000000000005801a9a10100001700000002000000000000006e310600000000000000243624732468",
    );
    frozen(
        v1(Command::NodeDeployStatus {
            node: "n1".to_owned(),
            status: Some(crate::NodeStatus::Staged),
            state: Some("ok".to_owned()),
            detail: None,
            client_ip: "::1".to_owned(),
        }),
        "00000000100f0e0d0c0b0a0908070605040302010700000000000000005801a9a10100001800000002000000000000006e3101000000000102000000000000006f6b0003000000000000003a3a31",
    );
}
