//! Downloads checked against the checksum the platform recorded (issue 17): `ByteStream::verify`
//! passes a body that hashes as expected and ends a tampered one with `Error::Mismatch`, leaving
//! nothing under the final name; `Checksum::of_file` hashes a file in pieces.

use casefile::{Algorithm, Checksum, Error, Transport};
use futures::TryStreamExt;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// `printf 'the report\n' | sha1sum` and `| sha256sum`.
const SHA1: &str = "31d9d7413d95227306cacaf8f1ae644f2afd35ad";
const SHA256: &str = "c7976f1dbff10006eb9bf2d22a7959fee2fdadff032f0b57844e54138a1f7d8e";

async fn serving(body: &'static [u8]) -> (MockServer, Transport) {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/file"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(body))
        .mount(&server)
        .await;
    let transport = Transport::builder(format!("{}/v1/", server.uri()))
        .build()
        .unwrap();
    (server, transport)
}

#[tokio::test]
async fn a_body_that_hashes_as_recorded_is_saved() {
    let (_server, transport) = serving(b"the report\n").await;
    let dir = tempfile::tempdir().unwrap();
    for expected in [
        Checksum::sha1(SHA1).unwrap(),
        Checksum::sha256(SHA256).unwrap(),
    ] {
        let target = dir.path().join(format!("{}.txt", expected.algorithm()));
        let stream = transport.get(&["file"]).send_stream().await.unwrap();
        let written = stream.verify(expected).save(&target).await.unwrap();
        assert_eq!(written, 11);
        assert_eq!(std::fs::read(&target).unwrap(), b"the report\n");
    }
}

#[tokio::test]
async fn a_tampered_body_is_an_error_and_leaves_nothing_under_the_final_name() {
    // One byte changed on the way.
    let (_server, transport) = serving(b"the rep0rt\n").await;
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("report.txt");
    let stream = transport.get(&["file"]).send_stream().await.unwrap();
    let err = stream
        .verify(Checksum::sha1(SHA1).unwrap())
        .save(&target)
        .await
        .unwrap_err();
    match &err {
        Error::Mismatch {
            expected, actual, ..
        } => {
            assert_eq!(expected.hex(), SHA1);
            assert_ne!(actual.hex(), SHA1);
            assert_eq!(actual.algorithm(), Algorithm::Sha1);
        }
        other => panic!("expected a mismatch, got {other:?}"),
    }
    assert!(err.to_string().contains(SHA1), "{err}");
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert!(left.is_empty(), "left behind: {left:?}");

    // Read as a stream, every byte arrives and then the error, never a quiet end.
    let stream = transport.get(&["file"]).send_stream().await.unwrap();
    let mut chunks = stream.verify(Checksum::sha1(SHA1).unwrap());
    let mut received = 0;
    let end = loop {
        match chunks.try_next().await {
            Ok(Some(bytes)) => received += bytes.len(),
            Ok(None) => break None,
            Err(e) => break Some(e),
        }
    };
    assert_eq!(received, 11);
    assert!(matches!(end, Some(Error::Mismatch { .. })), "{end:?}");
}

#[tokio::test]
async fn files_are_hashed_in_pieces() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("report.txt");
    std::fs::write(&file, b"the report\n").unwrap();
    assert_eq!(
        Checksum::of_file(Algorithm::Sha256, &file).await.unwrap(),
        Checksum::sha256(SHA256).unwrap()
    );
    // Larger than the 64 KiB read buffer: `head -c 200000 /dev/zero | sha1sum`.
    std::fs::write(&file, vec![0u8; 200_000]).unwrap();
    assert_eq!(
        Checksum::of_file(Algorithm::Sha1, &file)
            .await
            .unwrap()
            .hex(),
        "e0798a0a2e0fe6856358d6c4225dde2c632e9263"
    );
    let missing = Checksum::of_file(Algorithm::Sha1, dir.path().join("gone")).await;
    assert!(matches!(missing, Err(Error::Io { .. })), "{missing:?}");
}

#[test]
fn digests_are_checked_when_given() {
    assert!(Checksum::sha1(&SHA1.to_uppercase()).is_ok());
    for bad in ["", "xyz", &SHA1[..39], SHA256] {
        crate::support::assert_invalid(&Checksum::sha1(bad).unwrap_err(), "checksum");
    }
}
