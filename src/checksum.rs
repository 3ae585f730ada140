//! [`Checksum`]: the digest a platform records for a file (Aleph's `contentHash` is SHA-1, an
//! Atlos artifact's `file_hash_sha256` SHA-256), checked as a download streams
//! ([`ByteStream::verify`](crate::transport::ByteStream::verify)) or computed from a local file
//! without reading it into memory ([`Checksum::of_file`]).

use std::fmt;
use std::path::Path;

use sha1::Sha1;
use sha2::{Digest, Sha256};
use tokio::io::AsyncReadExt;

use crate::error::{Error, Result};

/// A hash algorithm the platforms record files by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Algorithm {
    /// SHA-1: Aleph's `contentHash`, `pdfHash`, `csvHash` (servicelayer's archive).
    Sha1,
    /// SHA-256: Atlos's `file_hash_sha256`.
    Sha256,
}

impl Algorithm {
    /// The length of a digest, in hexadecimal digits.
    const fn hex_len(self) -> usize {
        match self {
            Algorithm::Sha1 => 40,
            Algorithm::Sha256 => 64,
        }
    }

    /// A hasher of this algorithm.
    pub(crate) fn hasher(self) -> Hasher {
        match self {
            Algorithm::Sha1 => Hasher::Sha1(Sha1::new()),
            Algorithm::Sha256 => Hasher::Sha256(Sha256::new()),
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Algorithm::Sha1 => "SHA-1",
            Algorithm::Sha256 => "SHA-256",
        })
    }
}

/// A digest of a file: its algorithm and value (lowercase hexadecimal).
///
/// ```
/// use casefile::Checksum;
///
/// let expected = Checksum::sha1("DA39A3EE5E6B4B0D3255BFEF95601890AFD80709")?;
/// assert_eq!(expected.hex(), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
/// assert!(Checksum::sha256("not a digest").is_err());
/// # Ok::<(), casefile::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Checksum {
    algorithm: Algorithm,
    hex: String,
}

impl Checksum {
    /// The digest `hex` of `algorithm`, checked to be one (any case; kept in lowercase).
    pub fn new(algorithm: Algorithm, hex: &str) -> Result<Checksum> {
        let hex = hex.trim().to_ascii_lowercase();
        if hex.len() != algorithm.hex_len() || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(Error::invalid(
                "checksum",
                format!(
                    "a {algorithm} digest is {} hexadecimal digits, got {:?}",
                    algorithm.hex_len(),
                    crate::error::snippet(hex.as_bytes())
                ),
            ));
        }
        Ok(Checksum { algorithm, hex })
    }

    /// A SHA-1 digest (Aleph's `contentHash`).
    pub fn sha1(hex: &str) -> Result<Checksum> {
        Checksum::new(Algorithm::Sha1, hex)
    }

    /// A SHA-256 digest (Atlos's `file_hash_sha256`).
    pub fn sha256(hex: &str) -> Result<Checksum> {
        Checksum::new(Algorithm::Sha256, hex)
    }

    /// The digest of the file at `path`, read in pieces (never whole into memory).
    pub async fn of_file(algorithm: Algorithm, path: impl AsRef<Path>) -> Result<Checksum> {
        let path = path.as_ref();
        let io = |e| Error::io(format!("cannot read {}", path.display()), e);
        let mut file = tokio::fs::File::open(path).await.map_err(io)?;
        let mut hasher = algorithm.hasher();
        let mut buffer = vec![0u8; 64 * 1024];
        loop {
            let read = file.read(&mut buffer).await.map_err(io)?;
            if read == 0 {
                break;
            }
            hasher.update(&buffer[..read]);
        }
        Ok(hasher.finish())
    }

    /// The algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The digest in lowercase hexadecimal.
    pub fn hex(&self) -> &str {
        &self.hex
    }
}

impl fmt::Display for Checksum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.algorithm, self.hex)
    }
}

/// A running digest.
pub(crate) enum Hasher {
    Sha1(Sha1),
    Sha256(Sha256),
}

impl Hasher {
    pub(crate) fn update(&mut self, bytes: &[u8]) {
        match self {
            Hasher::Sha1(h) => h.update(bytes),
            Hasher::Sha256(h) => h.update(bytes),
        }
    }

    pub(crate) fn finish(self) -> Checksum {
        let (algorithm, digest): (Algorithm, Vec<u8>) = match self {
            Hasher::Sha1(h) => (Algorithm::Sha1, h.finalize().to_vec()),
            Hasher::Sha256(h) => (Algorithm::Sha256, h.finalize().to_vec()),
        };
        let hex = digest.iter().map(|b| format!("{b:02x}")).collect();
        Checksum { algorithm, hex }
    }
}
