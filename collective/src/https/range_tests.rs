use super::*;

/// `header` against a 100-byte file.
fn check(header: &str, expected: Ranges) {
    assert_eq!(parse(header, 100), expected, "Range: {header}");
}

fn ok(ranges: &[(u64, u64)]) -> Ranges {
    Ranges::Satisfiable(ranges.to_vec())
}

#[test]
fn single_ranges() {
    check("bytes=0-0", ok(&[(0, 0)]));
    check("bytes=0-99", ok(&[(0, 99)]));
    check("bytes=10-", ok(&[(10, 99)]));
    check("bytes=90-1000", ok(&[(90, 99)]));
    check("bytes=-10", ok(&[(90, 99)]));
    check("bytes=-1000", ok(&[(0, 99)]));
    check("BYTES = 5-6 ", ok(&[(5, 6)]));
    check("bytes=0-99999999999999999999999999", ok(&[(0, 99)]));
}

#[test]
fn several_ranges_keep_their_order_unless_they_overlap() {
    check("bytes=50-59,0-9", ok(&[(50, 59), (0, 9)]));
    check("bytes=0-9, ,-5,", ok(&[(0, 9), (95, 99)]));
    check("bytes=0-9,5-20,90-", ok(&[(0, 20), (90, 99)]));
    check("bytes=0-,0-", ok(&[(0, 99)]));
    // Unsatisfiable members are dropped when another one is satisfiable.
    check("bytes=200-300,1-2", ok(&[(1, 2)]));
}

#[test]
fn unsatisfiable() {
    check("bytes=100-", Ranges::Unsatisfiable);
    check("bytes=100-200,300-", Ranges::Unsatisfiable);
    check("bytes=-0", Ranges::Unsatisfiable);
    assert_eq!(parse("bytes=0-", 0), Ranges::Unsatisfiable);
    assert_eq!(parse("bytes=-5", 0), Ranges::Unsatisfiable);
}

#[test]
fn malformed_headers_are_ignored() {
    for header in [
        "",
        "bytes",
        "bytes=",
        "bytes=,",
        "bytes=5",
        "bytes=-",
        "bytes=a-b",
        "bytes=5-4",
        "bytes=+1-2",
        "bytes=1--2",
        "bytes=0x1-2",
        "items=0-1",
        "bytes=1-2;3-4",
        "bytes=١-٢",
    ] {
        check(header, Ranges::Ignore);
    }
}

#[test]
fn too_many_ranges_are_ignored() {
    let many: Vec<String> = (0..=MAX_RANGES).map(|i| format!("{i}-{i}")).collect();
    check(&format!("bytes={}", many.join(",")), Ranges::Ignore);
    let enough: Vec<String> = (0..MAX_RANGES).map(|i| format!("{i}-{i}")).collect();
    assert!(matches!(
        parse(&format!("bytes={}", enough.join(",")), 100),
        Ranges::Satisfiable(r) if r.len() == MAX_RANGES
    ));
}

#[test]
fn multipart_length_is_exact() {
    let (segments, total) = multipart(&[(0, 9), (50, 59)], 100, "text/plain", "B");
    let counted: u64 = segments
        .iter()
        .map(|s| match s {
            Segment::Bytes(b) => b.len() as u64,
            Segment::File { len, .. } => *len,
        })
        .sum();
    assert_eq!(total, counted);
    let Segment::Bytes(first) = &segments[0] else {
        panic!("a part header comes first")
    };
    assert_eq!(
        &first[..],
        b"\r\n--B\r\ncontent-type: text/plain\r\ncontent-range: bytes 0-9/100\r\n\r\n"
    );
    assert!(matches!(segments.last(), Some(Segment::Bytes(b)) if &b[..] == b"\r\n--B--\r\n"));
}

mod props {
    use proptest::prelude::*;

    use super::super::*;

    proptest! {
        /// Any header and length: no panic, and every range lies inside the file.
        #[test]
        fn ranges_stay_inside_the_file(header in "bytes=[0-9,\\- ]{0,40}", len in 0u64..1000) {
            if let Ranges::Satisfiable(ranges) = parse(&header, len) {
                prop_assert!(!ranges.is_empty());
                for (first, last) in ranges {
                    prop_assert!(first <= last && last < len);
                }
            }
        }

        #[test]
        fn arbitrary_text_never_panics(header in "\\PC{0,60}", len in any::<u64>()) {
            let _ = parse(&header, len);
        }
    }
}
