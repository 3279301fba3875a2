//! Property tests of the layer scan, with tars written byte by byte rather than by a tar
//! library, so they can lie: names in the header, in GNU long-name entries and in PAX
//! records, `..`, `./`, absolute and nested paths, directories and links named like the
//! wanted files, sizes far beyond the data, and corrupted header fields with a correct
//! checksum. Any bytes scan or fail without panicking; what a scan returns is never larger
//! than the caps nor than the layer; a well-formed tar gives exactly what a model of the
//! scan says; a layer over a cap is always refused.

use proptest::prelude::*;

use super::*;
use hostile::config;

/// How a member's path is written.
#[derive(Debug, Clone, Copy)]
enum Naming {
    /// In the header's 100-byte name field (cut at the first NUL).
    Header,
    /// In a GNU `L` entry before the member.
    GnuLong,
    /// As the `path` record of a PAX `x` entry before the member.
    Pax,
}

#[derive(Debug, Clone)]
struct Member {
    path: Vec<u8>,
    naming: Naming,
    /// Entry type: `0` file, `5` directory, `2` symlink, NUL (old file), `7` contiguous.
    kind: u8,
    body: Vec<u8>,
}

/// A lie told about one header after the tar is written: bytes written over the header
/// (the checksum is fixed afterwards, so the parser reads on), or a declared size.
#[derive(Debug, Clone)]
enum Lie {
    Field {
        member: usize,
        offset: usize,
        bytes: Vec<u8>,
    },
    Size {
        member: usize,
        size: u64,
    },
}

fn header(name: &[u8], kind: u8, size: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    let field = &mut h.as_old_mut().name;
    let n = name.len().min(field.len());
    field[..n].copy_from_slice(&name[..n]);
    h.set_mode(0o644);
    h.set_mtime(0);
    h.set_size(size);
    h.set_entry_type(tar::EntryType::new(kind));
    h.set_cksum();
    h
}

fn push(out: &mut Vec<u8>, h: &tar::Header, body: &[u8]) -> usize {
    let at = out.len();
    out.extend_from_slice(h.as_bytes());
    out.extend_from_slice(body);
    out.resize(out.len().div_ceil(512) * 512, 0);
    at
}

fn pax_record(key: &str, value: &[u8]) -> Vec<u8> {
    // the length counts its own digits
    let rest = key.len() + value.len() + 3;
    let mut len = rest + 1;
    while len != rest + len.to_string().len() {
        len = rest + len.to_string().len();
    }
    let mut record = format!("{len} {key}=").into_bytes();
    record.extend_from_slice(value);
    record.push(b'\n');
    record
}

/// Writes `members` as a tar; the offsets of each member's own header.
fn write_tar(members: &[Member]) -> (Vec<u8>, Vec<usize>) {
    let mut out = Vec::new();
    let mut at = Vec::new();
    for m in members {
        let size = m.body.len() as u64;
        match m.naming {
            Naming::Header => {}
            Naming::GnuLong => {
                let mut name = m.path.clone();
                name.push(0);
                push(
                    &mut out,
                    &header(b"././@LongLink", b'L', name.len() as u64),
                    &name,
                );
            }
            Naming::Pax => {
                let record = pax_record("path", &m.path);
                push(
                    &mut out,
                    &header(b"PaxHeaders/member", b'x', record.len() as u64),
                    &record,
                );
            }
        }
        let name: &[u8] = match m.naming {
            Naming::Header => &m.path,
            _ => b"placeholder",
        };
        at.push(push(&mut out, &header(name, m.kind, size), &m.body));
    }
    out.extend_from_slice(&[0; 1024]);
    (out, at)
}

fn tell_lies(tar: &mut [u8], at: &[usize], lies: &[Lie]) {
    for lie in lies {
        let (Lie::Field { member, .. } | Lie::Size { member, .. }) = lie;
        let Some(&start) = at.get(member % at.len().max(1)) else {
            continue;
        };
        let mut h = tar::Header::new_old();
        h.as_mut_bytes().copy_from_slice(&tar[start..start + 512]);
        match lie {
            Lie::Field { offset, bytes, .. } => {
                let raw = h.as_mut_bytes();
                for (i, b) in bytes.iter().enumerate() {
                    raw[(offset + i) % 512] = *b;
                }
            }
            Lie::Size { size, .. } => h.set_size(*size),
        }
        h.set_cksum();
        tar[start..start + 512].copy_from_slice(h.as_bytes());
    }
}

/// A member named by a PAX path holding a newline, which no PAX reader takes.
fn unreadable_pax(m: &Member) -> bool {
    matches!(m.naming, Naming::Pax) && m.path.contains(&b'\n')
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(bytes).expect("gzip in memory");
    gz.finish().expect("gzip in memory")
}

/// What the scan should find in well-formed `members`, or the name of the file too large.
fn model(members: &[Member], file_bytes: u64) -> Result<LayerScan, String> {
    let mut scan = LayerScan::default();
    for m in members {
        let raw: &[u8] = match m.naming {
            Naming::Header => {
                let field = &m.path[..m.path.len().min(100)];
                field.split(|b| *b == 0).next().unwrap_or_default()
            }
            // a GNU long name ends at its first NUL, as Go's archive/tar (and so `oc`) reads it
            Naming::GnuLong => m.path.split(|b| *b == 0).next().unwrap_or_default(),
            Naming::Pax => &m.path,
        };
        let lossy = String::from_utf8_lossy(raw);
        let path = lossy.trim_start_matches("./").trim_start_matches('/');
        if !path.starts_with(RELEASE_MANIFESTS) {
            continue;
        }
        scan.has_release_manifests = true;
        let slot = match path {
            IMAGE_REFERENCES => &mut scan.image_references,
            RELEASE_METADATA => &mut scan.release_metadata,
            _ => continue,
        };
        if m.kind == b'5' {
            continue;
        }
        if m.body.len() as u64 > file_bytes {
            return Err(path.to_string());
        }
        *slot = Some(m.body.clone());
    }
    Ok(scan)
}

fn path() -> impl Strategy<Value = Vec<u8>> {
    let wanted = prop_oneof![Just(IMAGE_REFERENCES), Just(RELEASE_METADATA)];
    prop_oneof![
        4 => (prop_oneof![Just(""), Just("./"), Just("/"), Just("//"), Just("././"), Just(".//")], wanted)
            .prop_map(|(prefix, p)| format!("{prefix}{p}").into_bytes()),
        3 => prop::sample::select(vec![
            "release-manifests/../release-manifests/image-references",
            "../release-manifests/image-references",
            "release-manifests/image-references/",
            "release-manifests//image-references",
            "release-manifests/./image-references",
            "release-manifests",
            "release-manifests/",
            "Release-Manifests/image-references",
            "release-manifests/image-references\0.txt",
            "usr/share/release-manifests/image-references",
            "release-manifests/0000_00_cluster-version-operator_00_namespace.yaml",
        ])
        .prop_map(|p| p.as_bytes().to_vec()),
        1 => (1usize..40).prop_map(|depth| format!("release-manifests/{}x", "a/".repeat(depth)).into_bytes()),
        1 => (90usize..3000).prop_map(|n| format!("release-manifests/{}", "x".repeat(n)).into_bytes()),
        1 => (0usize..100).prop_map(|n| format!("{}{IMAGE_REFERENCES}", "../".repeat(n)).into_bytes()),
        2 => prop::collection::vec(any::<u8>(), 0..120),
    ]
}

fn member() -> impl Strategy<Value = Member> {
    (
        path(),
        prop_oneof![
            2 => Just(Naming::Header),
            1 => Just(Naming::GnuLong),
            1 => Just(Naming::Pax),
        ],
        prop_oneof![
            6 => Just(b'0'),
            2 => Just(b'5'),
            1 => Just(b'2'),
            1 => Just(0u8),
            1 => Just(b'7'),
        ],
        prop_oneof![
            3 => prop::collection::vec(any::<u8>(), 0..600),
            1 => (0usize..9000).prop_map(|n| vec![b'{'; n]),
        ],
    )
        .prop_map(|(path, naming, kind, body)| Member {
            path,
            naming,
            kind,
            body,
        })
}

fn lie() -> impl Strategy<Value = Lie> {
    prop_oneof![
        (
            any::<usize>(),
            0usize..512,
            prop::collection::vec(any::<u8>(), 1..16)
        )
            .prop_map(|(member, offset, bytes)| Lie::Field {
                member,
                offset,
                bytes
            }),
        // the size field (124..136) in octal, base-256 and garbage
        (
            any::<usize>(),
            prop_oneof![
                Just(b"77777777777\0".to_vec()),
                Just(vec![
                    0x80, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff
                ]),
                Just(vec![0xff; 12]),
                Just(b"-1\0".to_vec()),
                Just(b"9999999999999999".to_vec()),
            ]
        )
            .prop_map(|(member, bytes)| Lie::Field {
                member,
                offset: 124,
                bytes
            }),
        (
            any::<usize>(),
            prop_oneof![
                any::<u64>(),
                Just(u64::MAX),
                Just(u64::MAX - 510),
                Just(1 << 40),
                0u64..20_000
            ]
        )
            .prop_map(|(member, size)| Lie::Size { member, size }),
    ]
}

const LIMITS: ScanLimits = ScanLimits {
    layer_bytes: 4 << 20,
    unpacked_bytes: 4 << 20,
    file_bytes: 4 << 10,
};

fn check_bounded(
    layer: &[u8],
    result: Result<LayerScan, ScanError>,
    limits: ScanLimits,
) -> Result<(), TestCaseError> {
    if let Ok(scan) = result {
        for file in [&scan.image_references, &scan.release_metadata]
            .into_iter()
            .flatten()
        {
            prop_assert!(file.len() as u64 <= limits.file_bytes);
            prop_assert!(file.len() as u64 <= limits.unpacked_bytes);
        }
        if let Some(file) = &scan.image_references {
            // an uncompressed layer cannot hold more than itself
            prop_assert!(file.len() <= layer.len() || layer.starts_with(&[0x1f, 0x8b]));
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn any_bytes_scan_or_fail_cleanly(
        bytes in prop::collection::vec(any::<u8>(), 0..4096),
        gzipped in any::<bool>(),
    ) {
        let layer = if gzipped { gzip(&bytes) } else { bytes };
        for compression in [Compression::None, Compression::Gzip] {
            check_bounded(&layer, scan(&layer[..], compression, LIMITS), LIMITS)?;
        }
    }

    #[test]
    fn well_formed_tars_give_what_the_model_says(
        members in prop::collection::vec(member(), 0..8),
        gzipped in any::<bool>(),
    ) {
        let (tar, _) = write_tar(&members);
        let (layer, compression) = if gzipped {
            (gzip(&tar), Compression::Gzip)
        } else {
            (tar, Compression::None)
        };
        let found = scan(&layer[..], compression, LIMITS);
        // the records of a PAX header are read line by line: a path with a newline makes
        // the header unreadable, and such a layer is refused rather than guessed at
        if members.iter().any(unreadable_pax) {
            prop_assert!(matches!(found, Err(ScanError::Corrupt(_))), "{:?}", found.map(|_| ()));
            return Ok(());
        }
        match (model(&members, LIMITS.file_bytes), found) {
            (Ok(want), Ok(got)) => {
                prop_assert_eq!(got.has_release_manifests, want.has_release_manifests);
                prop_assert_eq!(got.image_references, want.image_references);
                prop_assert_eq!(got.release_metadata, want.release_metadata);
            }
            (Err(path), Err(ScanError::TooLarge { what, limit })) => {
                prop_assert_eq!(what, path);
                prop_assert_eq!(limit, LIMITS.file_bytes);
            }
            (want, got) => prop_assert!(false, "model {:?}, scan {:?}", want.map(|_| ()), got.map(|_| ())),
        }
    }

    #[test]
    fn lying_headers_scan_or_fail_cleanly(
        members in prop::collection::vec(member(), 1..6),
        lies in prop::collection::vec(lie(), 1..4),
        gzipped in any::<bool>(),
    ) {
        let (mut tar, at) = write_tar(&members);
        tell_lies(&mut tar, &at, &lies);
        let (layer, compression) = if gzipped {
            (gzip(&tar), Compression::Gzip)
        } else {
            (tar, Compression::None)
        };
        check_bounded(&layer, scan(&layer[..], compression, LIMITS), LIMITS)?;
    }

    #[test]
    fn a_layer_over_a_cap_is_always_refused(
        members in prop::collection::vec(member(), 1..6),
        cut in 1u64..4096,
        gzipped in any::<bool>(),
    ) {
        prop_assume!(!members.iter().any(unreadable_pax));
        let (tar, _) = write_tar(&members);
        let unpacked = tar.len() as u64;
        let tight = ScanLimits {
            layer_bytes: LIMITS.layer_bytes,
            unpacked_bytes: unpacked.saturating_sub(cut),
            file_bytes: LIMITS.file_bytes,
        };
        let (layer, compression) = if gzipped {
            (gzip(&tar), Compression::Gzip)
        } else {
            (tar, Compression::None)
        };
        let err = scan(&layer[..], compression, tight);
        prop_assert!(matches!(err, Err(ScanError::TooLarge { .. })), "{:?}", err.map(|_| ()));
        let small = ScanLimits {
            layer_bytes: (layer.len() as u64).saturating_sub(cut),
            ..LIMITS
        };
        let err = scan(&layer[..], compression, small);
        prop_assert!(matches!(err, Err(ScanError::TooLarge { .. })), "{:?}", err.map(|_| ()));
    }
}
